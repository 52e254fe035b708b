// `lookalike bench index <folder>`: indexing throughput of the real pipeline (see src/bench/index-throughput.ts).
import { existsSync, statSync } from 'node:fs'
import { CliError, intFlag, parseCommand, printJson } from '../args.ts'
import { featureFlag } from '../feature-flag.ts'

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand(argv, {
    backend: { type: 'string' },
    threads: { type: 'string' },
    batch: { type: 'string' },
    compute: { type: 'string' },
    feature: { type: 'string' },
  })
  const [folder] = positionals
  if (!folder || positionals.length > 1) throw new CliError('usage: lookalike bench index <folder> [--compute node|chromium] [--backend node-gpu|node|wasm|cpu] [--threads N] [--batch N] [--feature region|region-crop|legacy] [--json]')
  const compute = values.compute ?? 'node'
  if (compute !== 'node' && compute !== 'chromium') throw new CliError(`--compute must be node or chromium, got "${compute}"`)
  if (!existsSync(folder) || !statSync(folder).isDirectory()) throw new CliError(`not a folder: ${folder}`)
  const { benchIndex } = await import('../../bench/index-throughput.ts')
  const { BackendUnavailableError } = await import('../../core/embed/backend.ts')
  const report = await benchIndex(folder, {
    backend: values.backend as string | undefined,
    threads: values.threads === undefined ? undefined : intFlag(values.threads, 'threads', 0),
    batchSize: values.batch === undefined ? undefined : Math.max(1, intFlag(values.batch, 'batch', 16)),
    compute,
    feature: featureFlag(values.feature as string | undefined),
  }).catch((err: unknown) => {
    throw err instanceof BackendUnavailableError ? new CliError(err.message) : err
  })
  if (values.json) {
    printJson(report)
    return 0
  }
  const s = report.stage_ms
  const where = report.compute ? `${report.backend} in Chromium ${report.chromium}${report.adapter ? ` (${[report.adapter.vendor, report.adapter.architecture, report.adapter.description].filter(Boolean).join(' ')}${report.adapter.fallback ? ', software adapter' : ''})` : ''}` : `${report.backend} (${report.workers} workers)`
  console.log(`${report.photos} photos in ${report.seconds} s: ${report.photos_per_second} photos/s on ${where}`)
  if (report.agreement_with_node) console.log(`  features of the first ${report.agreement_with_node.photos} photos vs the Node embedder: lowest cosine ${report.agreement_with_node.lowest_cosine}`)
  if (report.note) console.log(`  ${report.note}`)
  console.log(`  waiting on decode ${s.decode} ms, embed ${s.embed} ms, write ${s.write} ms; start-up ${report.startup_seconds} s; peak RSS ${report.rss_mb} MB`)
  if (report.failed) console.log(`  ${report.failed} files could not be indexed`)
  return 0
}
