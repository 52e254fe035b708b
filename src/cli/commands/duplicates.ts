// `lookalike duplicates --db FILE [--tier duplicates|similar] [--threshold T] [--json | --csv]`:
// groups of duplicate photos (or similar shots), the suggested keeper first. Lists only: the CLI
// never deletes a photo.
import { existsSync } from 'node:fs'
import { createService } from '../../core/service.ts'
import { ApiError, parseInput } from '../../shared/contract.ts'
import { duplicatesCsv, exportRows } from '../../shared/duplicates-export.ts'
import type { DuplicateReport } from '../../shared/types.ts'
import { CliError, intFlag, parseCommand, printJson } from '../args.ts'

export async function run(argv: string[]): Promise<number> {
  const { values, positionals, db } = parseCommand(argv, {
    tier: { type: 'string', default: 'duplicates' },
    threshold: { type: 'string' },
    limit: { type: 'string', default: '10000' },
    csv: { type: 'boolean', default: false },
  })
  if (positionals.length) throw new CliError(`duplicates takes no arguments, got "${positionals.join(' ')}"`)
  if (!existsSync(db)) throw new CliError(`No library at ${db}: index a folder first (lookalike index <folder> --db ${db})`)
  const threshold = values.threshold === undefined ? undefined : Number(values.threshold)
  if (threshold !== undefined && !(threshold >= 0 && threshold <= 1)) throw new CliError(`--threshold must be a score between 0 and 1, got "${String(values.threshold)}"`)
  let input
  try {
    input = parseInput('duplicates', { tier: values.tier, threshold, limit: intFlag(values.limit, 'limit', 10_000) })
  } catch (err) {
    throw new CliError((err as Error).message)
  }

  const service = await createService({ dbFile: db, watch: false })
  try {
    let report: DuplicateReport
    try {
      const show = !values.json && !values.csv
      const off = service.onEvent((event) => {
        if (show && event.type === 'job' && event.job.kind === 'duplicates' && event.job.state === 'running' && event.job.total) {
          process.stderr.write(`\rcomparing ${event.job.done}/${event.job.total} photos`)
        }
      })
      report = await service.duplicates(input)
      while (report.state === 'scanning') {
        await new Promise((r) => setTimeout(r, 200))
        report = await service.duplicates(input)
      }
      off()
      if (show) process.stderr.write('\n')
      if (report.state === 'not-scanned') throw new CliError('The duplicate pass did not finish', 1)
    } catch (err) {
      if (err instanceof ApiError) throw new CliError(err.message, 1)
      throw err
    }
    if (report.state === 'no-model') throw new CliError('No photos to compare yet: index a folder first and let it finish', 1)
    if (values.csv) process.stdout.write(duplicatesCsv(report.groups))
    else if (values.json) printJson({ tier: report.tier, threshold: report.threshold, checked: report.checked, total: report.total, groups: report.groups, rows: exportRows(report.groups) })
    else {
      const what = report.tier === 'duplicates' ? 'groups of duplicates' : 'groups of similar shots'
      console.log(`${report.total} ${what} among ${report.checked} photos (score ≥ ${report.threshold})`)
      report.groups.forEach((g, i) => {
        console.log(`\n#${i + 1} (${g.photos.length} photos)`)
        for (const p of g.photos) {
          const mark = p.id === g.keeperId ? 'keep' : '    '
          console.log(`  ${mark} ${p.width ?? '?'}×${p.height ?? '?'} ${p.format.padEnd(4)} ${String(p.size).padStart(9)} B  ${p.score.toFixed(3)}  ${p.path}`)
        }
      })
    }
    return 0
  } finally {
    await service.close()
  }
}
