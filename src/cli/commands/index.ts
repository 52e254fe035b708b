// `lookalike index <folder> [--db FILE] [--json] [--no-embed] [--backend B]`: adds the folder as a
// library root if needed, indexes it (thumbnails, EXIF, features) and prints a summary.
import { ApiError } from '../../shared/contract.ts'
import { DiskFullError } from '../../core/disk-full.ts'
import { thumbnailDirFor } from '../../core/paths.ts'
import { StoreError } from '../../core/store/errors.ts'
import { openDb, type Db } from '../../core/store/db.ts'
import type { LockHolder } from '../../core/store/locks.ts'
import { activeReadsOther } from '../../core/store/models.ts'
import { addRoot } from '../../core/store/roots.ts'
import { indexRoot, type IndexProgress } from '../../core/library/indexer.ts'
import type { Embedder } from '../../core/types.ts'
import { CliError, parseCommand, printJson } from '../args.ts'

export async function run(argv: string[]): Promise<number> {
  const { values, positionals, db: dbFile } = parseCommand(argv, {
    'no-embed': { type: 'boolean', default: false },
    backend: { type: 'string' },
  })
  if (positionals.length !== 1) throw new CliError('usage: lookalike index <folder> [--db FILE] [--json] [--no-embed] [--backend B]')
  const db = openDb(dbFile)
  const controller = new AbortController()
  const stop = () => controller.abort()
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  let embedder: Embedder | undefined
  try {
    // The folder is checked (and added as a root) before the backbone spends seconds loading.
    const root = addRoot(db, positionals[0])
    if (!values['no-embed']) embedder = await loadEmbedder(values.backend as string | undefined)
    const summary = await indexRoot(db, root.id, {
      thumbnailDir: thumbnailDirFor(dbFile),
      embedder,
      signal: controller.signal,
      onProgress: values.json ? undefined : progressLine(),
    })
    // New photos become searchable straight from the command line: encode them with the active
    // DPQ model (the first index trains an unsupervised one, as a job like the app's).
    let encoded = 0
    if (embedder && !summary.cancelled) encoded = await encodeNewPhotos(db, embedder.backboneId, controller.signal, values.json)
    const { indexed, skipped, failed, failures, seconds } = summary
    if (values.json) {
      printJson({ indexed, skipped, failed, failures, seconds: Math.round(seconds * 1000) / 1000 })
    } else {
      process.stderr.write('\n')
      for (const f of failures) console.log(`  failed: ${f.path}: ${f.reason}`)
      if (embedder && activeReadsOther(db, embedder.backboneId)) console.log("  The library's model reads an older image feature: the app (or `lookalike serve`) upgrades it, and new photos join the search then.")
      console.log(
        `${summary.cancelled ? 'Cancelled after' : 'Indexed'} ${indexed} photo${indexed === 1 ? '' : 's'}, ${skipped} unchanged, ${failed} failed in ${seconds.toFixed(1)} s${embedder ? `; ${encoded} encoded` : ' (no features: --no-embed)'}`,
      )
    }
    return summary.cancelled ? 130 : 0
  } catch (err) {
    // A full disk is no usage error: it stops the run (exit 1), said in one line like the others.
    if (err instanceof DiskFullError) throw err
    if (err instanceof ApiError || err instanceof StoreError) throw new CliError(err.message)
    throw err
  } finally {
    process.off('SIGINT', stop)
    process.off('SIGTERM', stop)
    db.close()
    await embedder?.close()
  }
}

/** What the app's code keeper does once a library settles: codes for every photo, training first when needed. */
async function encodeNewPhotos(db: Db, backboneId: string, signal: AbortSignal, quiet: boolean): Promise<number> {
  const { ensureCodes, pendingTraining } = await import('../../core/modeling/codes.ts')
  const { describeHolder } = await import('../../core/modeling/lock.ts')
  const options = { signal, onLockWait: (holder: LockHolder) => console.error(`lookalike: ${describeHolder(holder)}; waiting for it to finish…`) }
  const training = pendingTraining(db, backboneId)
  if (!training) return (await ensureCodes(db, backboneId, options)).encoded
  if (!quiet) process.stderr.write(`training the library's model (${training}) …\n`)
  const { runJob } = await import('../../core/jobs/run.ts')
  const done = await runJob(db, 'encode', { reason: training }, (job) => ensureCodes(db, backboneId, { ...options, onProgress: (e) => job.report(e) }), { signal })
  return done.encoded
}

async function loadEmbedder(backend: string | undefined): Promise<Embedder | undefined> {
  const { createEmbedder } = await import('../../core/embed/embedder.ts')
  try {
    return await createEmbedder({ backend })
  } catch (err) {
    if (backend) throw new CliError(`cannot use backend "${backend}": ${(err as Error).message}`)
    console.error(`lookalike: no image model available (${(err as Error).message}); indexing without features`)
    return undefined
  }
}

/** One self-overwriting status line on a terminal; a line every few seconds otherwise. */
function progressLine(): (p: IndexProgress) => void {
  const tty = process.stderr.isTTY
  let last = 0
  return (p) => {
    const now = Date.now()
    if (now - last < (tty ? 200 : 5000) && p.done < p.total) return
    last = now
    const rate = p.rate ? `${p.rate.toFixed(1)}/s` : '…'
    const eta = p.eta !== null && p.rate ? `, ETA ${formatSeconds(p.eta)}` : ''
    const line = `indexing ${p.done}/${p.total} (${rate}${eta}) ${p.current ?? ''}`
    process.stderr.write(tty ? `\r${line.slice(0, (process.stderr.columns ?? 100) - 1).padEnd((process.stderr.columns ?? 100) - 1)}` : `${line}\n`)
  }
}

function formatSeconds(s: number): string {
  const m = Math.floor(s / 60)
  return m ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${Math.round(s)}s`
}
