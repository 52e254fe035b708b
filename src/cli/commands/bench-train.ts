// `lookalike bench train --db F [--compute node|chromium] [--epochs N]`: DPQ training time on a library (src/bench/train-speed.ts).
import { existsSync } from 'node:fs'
import { CliError, intFlag, parseCommand, printJson } from '../args.ts'

export async function run(argv: string[]): Promise<number> {
  const { values, positionals, db } = parseCommand(argv, { compute: { type: 'string' }, epochs: { type: 'string' } })
  if (positionals.length) throw new CliError('usage: lookalike bench train --db FILE [--compute node|chromium] [--epochs N] [--json]')
  const compute = values.compute ?? 'node'
  if (compute !== 'node' && compute !== 'chromium') throw new CliError(`--compute must be node or chromium, got "${compute}"`)
  if (!existsSync(db)) throw new CliError(`No library at ${db}`)
  const { benchTrain } = await import('../../bench/train-speed.ts')
  const report = await benchTrain(db, { compute, epochs: values.epochs === undefined ? undefined : Math.max(1, intFlag(values.epochs, 'epochs', 30)) })
  if (values.json) {
    printJson(report)
    return 0
  }
  const where = report.compute === 'chromium' ? `${report.backend} in Chromium ${report.chromium}${report.adapter?.fallback ? ' (software adapter)' : ''}` : report.backend
  console.log(`${report.supervised ? 'supervised' : 'unsupervised'} DPQ on ${report.photos} photos (${report.albums} albums), ${report.epochs} epochs: ${report.train_seconds} s on ${where}`)
  if (report.note) console.log(`  ${report.note}`)
  return 0
}
