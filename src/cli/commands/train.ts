// `lookalike train [--db FILE] [--epochs N] [--json]`: retrains DPQ on the library's albums
// (unsupervised progressive quantization when there are none), re-encodes every photo and
// activates the new model; prints mAP per code length on held-out album photos before and after.
import { libraryBackbone, retrain } from '../../core/dpq/store.ts'
import { TrainingCancelled } from '../../core/dpq/train.ts'
import { ensureBackend } from '../../core/dpq/tf.ts'
import { openDb } from '../../core/store/db.ts'
import { CliError, intFlag, parseCommand, printJson } from '../args.ts'

export async function run(argv: string[]): Promise<number> {
  const { values, positionals, db: dbFile } = parseCommand(argv, { epochs: { type: 'string' }, finetune: { type: 'string' } })
  if (positionals.length) throw new CliError('usage: lookalike train [--db FILE] [--epochs N] [--finetune off] [--json]')
  if (values.finetune === 'late') {
    // A fine-tuned model reads each photo's block_15_add map (31 KB) to encode it and to embed it as
    // a query; the library stores only the pooled feature, so search could not use such a model.
    throw new CliError("--finetune late is evaluation-only for now (lookalike eval … --finetune late): the library does not store the block_15_add activation a fine-tuned model needs for every photo and query")
  }
  if (values.finetune !== undefined && values.finetune !== 'off') throw new CliError(`--finetune must be off or late, got "${values.finetune}"`)
  const epochs = values.epochs === undefined ? undefined : intFlag(values.epochs, 'epochs', 0)
  const db = openDb(dbFile)
  const controller = new AbortController()
  const stop = () => controller.abort()
  process.once('SIGINT', stop)
  try {
    const backbone = libraryBackbone(db)
    if (!backbone) throw new CliError('the library has no photo features yet: run `lookalike index <folder>` first')
    const backend = await ensureBackend()
    const started = performance.now()
    const result = await retrain(db, backbone, {
      epochs,
      signal: controller.signal,
      onProgress: values.json
        ? undefined
        : (e) => process.stderr.write(e.epoch ? `epoch ${e.epoch}/${e.total} ${formatLoss(e.loss)}\n` : `${e.current ?? ''} ${e.done}/${e.total}\n`),
    })
    const seconds = Math.round((performance.now() - started) / 10) / 100
    const kind = db.prepare<[number], { kind: string }>('SELECT kind FROM models WHERE id = ?').get(result.modelId)?.kind
    if (values.json) printJson({ ...result, kind, backend, seconds })
    else {
      console.log(`Model ${result.modelId} (${kind}) active after ${seconds} s on ${backend}.`)
      for (const key of Object.keys(result.after)) {
        console.log(`  ${key.padStart(5)}: mAP ${fmt(result.before[key])} → ${fmt(result.after[key])}`)
      }
    }
    return 0
  } catch (err) {
    if (err instanceof TrainingCancelled) {
      console.error('lookalike: training cancelled; the previous model stays active')
      return 130
    }
    throw err
  } finally {
    process.off('SIGINT', stop)
    db.close()
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
