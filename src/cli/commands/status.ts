// `lookalike status [--db FILE] [--json]`: photo counts, roots, albums, active model, recent jobs
// (the CLI's and the app's), the tfjs backend this machine would embed with, the library file's
// size and the orphans deleted or changed photos left behind.
import { existsSync } from 'node:fs'
import { createService } from '../../core/service.ts'
import { CliError, parseCommand, printJson } from '../args.ts'

export async function run(argv: string[]): Promise<number> {
  const { values, positionals, db: dbFile } = parseCommand(argv, {})
  if (positionals.length) throw new CliError(`status takes no arguments, got "${positionals.join(' ')}"`)
  if (!existsSync(dbFile)) throw new CliError(`No library at ${dbFile}: index a folder first (lookalike index <folder> --db ${dbFile})`)
  const backend = await backendName()
  // A look, not a session: no image model, no watching, nothing carried on.
  const service = await createService({ dbFile, embedder: null, watch: false, catchUp: false })
  try {
    const status = { ...(await service.status({ storage: true })), backend }
    if (values.json) {
      printJson(status)
      return 0
    }
    console.log(`Library ${dbFile}`)
    console.log(`  photos: ${status.photos} indexed, ${status.failed} failed, ${status.pending} pending`)
    for (const r of status.roots) console.log(`  folder: ${r.path} (${r.photos} photos)`)
    console.log(`  albums: ${status.albums}`)
    console.log(`  model:  ${status.model ? `#${status.model.id} ${status.model.kind}, ${new Date(status.model.createdAt).toISOString()}` : 'none yet'}`)
    const u = status.upgrade
    if (u) console.log(`  upgrade: new image feature for ${u.done} of ${u.total} photos${u.jobId === null ? ' (carries on when the app or `lookalike serve` runs)' : ''}${u.retrain ? '; a Retrain on the albums follows the switch' : ''}`)
    console.log(`  backend: ${status.backend}`)
    const d = status.duplicates
    if (d) console.log(`  duplicates: ${d.dismissedPairs} pairs marked not duplicates, ${d.stacks} stacks (${d.stackedPhotos} photos), thresholds ${d.thresholds.duplicates} / ${d.thresholds.similar} (similar shots)`)
    if (status.storage) {
      const { fileBytes, orphans } = status.storage
      const left = Object.entries(orphans).filter(([, n]) => n > 0).map(([what, n]) => `${n} ${what}`)
      console.log(`  file:   ${(fileBytes / 2 ** 20).toFixed(1)} MB${left.length ? `; orphans: ${left.join(', ')} (lookalike vacuum removes them)` : ''}`)
    }
    for (const j of status.jobs.slice(0, 5)) console.log(`  job #${j.jobId} ${j.kind}: ${j.state} ${j.done}/${j.total}${j.error ? ` (${j.error})` : ''}`)
    return 0
  } finally {
    await service.close()
  }
}

/** The backend embedding would use here; loading tfjs costs a moment, so only status asks. */
async function backendName(): Promise<string> {
  try {
    const { selectBackend } = await import('../../core/embed/embedder.ts')
    return (await selectBackend()).name
  } catch (err) {
    return `unavailable (${(err as Error).message})`
  }
}
