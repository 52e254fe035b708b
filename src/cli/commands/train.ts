// `lookalike train [--db FILE] [--epochs N] [--finetune off|late] [--json]`: the Retrain button from
// the command line, through the service: the same album rule and fine-tuning plan, a job row that
// `status` shows, and the library's models lock (a second Lookalike waits its turn). Re-encodes
// every photo and activates the new model; prints mAP per code length on held-out album photos
// before and after.
import { existsSync } from 'node:fs'
import { FINETUNE_MODES, type Finetune } from '../../core/dpq/finetune.ts'
import { createService, type LookalikeService } from '../../core/service.ts'
import { ApiError } from '../../shared/contract.ts'
import type { JobProgress, LibraryEvent, TrainSummary } from '../../shared/types.ts'
import { CliError, intFlag, parseCommand, printJson } from '../args.ts'

export async function run(argv: string[]): Promise<number> {
  const { values, positionals, db: dbFile } = parseCommand(argv, { epochs: { type: 'string' }, finetune: { type: 'string' } })
  if (positionals.length) throw new CliError('usage: lookalike train [--db FILE] [--epochs N] [--finetune off|late] [--json]')
  if (values.finetune !== undefined && !FINETUNE_MODES.includes(values.finetune as Finetune)) {
    throw new CliError(`--finetune must be ${FINETUNE_MODES.join(' or ')}, got "${values.finetune}"`)
  }
  const epochs = values.epochs === undefined ? undefined : intFlag(values.epochs, 'epochs', 0)
  if (!existsSync(dbFile)) throw new CliError(`No library at ${dbFile}: index a folder first (lookalike index <folder> --db ${dbFile})`)
  const service = await createService({ dbFile, watch: false, catchUp: false, ...(epochs ? { trainOptions: { epochs } } : {}) })
  const events: LibraryEvent[] = []
  let summary: TrainSummary | null = null
  let wake = () => {}
  const unsubscribe = service.onEvent((e) => {
    if (e.type === 'train-finished') summary = e.summary
    events.push(e)
    wake()
  })
  let jobId: number | null = null
  const stop = () => void (jobId !== null && service.cancelJob({ jobId }))
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  try {
    const started = performance.now()
    const plan = await service.trainPlan({})
    const finetune = (values.finetune as Finetune | undefined) ?? plan.finetune
    if (values.finetune === undefined && !values.json) console.error(`deeper fine-tuning ${finetune === 'late' ? 'on' : 'off'} (about ${plan.lateSeconds} s with it here): ${plan.reason}`)
    jobId = (await service.train({ finetune })).jobId
    const progress = values.json ? () => {} : progressPrinter()
    let ended: JobProgress | undefined
    while (!ended) {
      for (const e of events.splice(0)) {
        if (e.type !== 'job' || e.job.jobId !== jobId) continue
        progress(e.job)
        if (e.job.state !== 'running' && e.job.state !== 'queued') ended = e.job
      }
      if (!ended) await new Promise<void>((r) => (wake = r))
    }
    if (ended.state === 'cancelled') {
      console.error('lookalike: training cancelled; the previous model stays active')
      return 130
    }
    if (ended.state === 'failed') throw new CliError(`training failed: ${ended.error ?? 'unknown error'}`, 1)
    if (!summary) throw new CliError(`job ${jobId} ended without a training summary`, 1)
    return await report(service, summary, { jobId, backend: plan.backend, seconds: Math.round((performance.now() - started) / 10) / 100, json: values.json })
  } catch (err) {
    // Not ready to train (no features, too few albums) is the caller's to fix, like a usage error.
    if (err instanceof ApiError) throw new CliError(err.message, err.code === 'bad-request' ? 2 : 1)
    throw err
  } finally {
    process.off('SIGINT', stop)
    process.off('SIGTERM', stop)
    unsubscribe()
    await service.close()
  }
}

async function report(service: LookalikeService, summary: TrainSummary, run: { jobId: number; backend: string; seconds: number; json: boolean }): Promise<number> {
  const { model } = await service.status({})
  const kind = model?.kind
  if (run.json) {
    printJson({ ...summary, kind, backend: run.backend, seconds: run.seconds, jobId: run.jobId })
    return 0
  }
  console.log(`Model ${summary.modelId} (${kind}${summary.finetune === 'late' ? ', fine-tuned' : ''}) active after ${run.seconds} s on ${run.backend}.`)
  if (summary.unreadable) console.error(`  ${summary.unreadable} photo(s) could not be read again: no code under the new model`)
  if (summary.smallAlbums) console.log('  Albums under 10 photos: too few to check what was learned, so the model stays close to the library\'s own similarity.')
  if (summary.beforeSeen) console.log('  No "before": the previous model learned from the photos these numbers are measured on.')
  for (const key of Object.keys(summary.after)) console.log(`  ${key.padStart(5)}: mAP ${fmt(summary.before[key])} → ${fmt(summary.after[key])}`)
  return 0
}

/** A line per epoch, and per step of the other stages (reading activations, encoding). */
function progressPrinter(): (job: JobProgress) => void {
  let last = ''
  return (job) => {
    const pass = job.stage === 'final pass' ? ' (again, every album photo)' : ''
    const line = job.epoch ? `epoch ${job.epoch}/${job.total}${pass} ${formatLoss(job.loss)}` : job.stage ? `${job.stage} ${job.done}/${job.total}` : ''
    if (!line || line === last) return
    last = line
    process.stderr.write(`${line}\n`)
  }
}

function formatLoss(loss: Record<string, number> | undefined): string {
  return Object.entries(loss ?? {})
    .map(([k, v]) => `${k} ${v.toFixed(4)}`)
    .join(', ')
}

function fmt(x: number | null | undefined): string {
  return x === null || x === undefined ? '  –  ' : x.toFixed(3)
}
