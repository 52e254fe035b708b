// `lookalike train [--db FILE] [--epochs N] [--finetune off|late] [--json]`: retrains DPQ on the
// library's albums (unsupervised progressive quantization when there are none), re-encodes every
// photo and activates the new model; prints mAP per code length on held-out album photos before
// and after. --finetune late also trains MobileNetV2's last blocks (default on the GPU backend).
import { FINETUNE_MODES, type Finetune } from '../../core/dpq/finetune.ts'
import { DEFAULTS, TrainingCancelled } from '../../core/dpq/train.ts'
import { selectBackend } from '../../core/embed/backend.ts'
import { ensureBackend } from '../../core/modeling/backend.ts'
import { libraryFinetunePlan } from '../../core/modeling/finetune-plan.ts'
import { tailSpeedFactor } from '../../core/modeling/finetune-speed.ts'
import { retrain } from '../../core/modeling/retrain.ts'
import { openDb } from '../../core/store/db.ts'
import { libraryBackbone } from '../../core/store/features.ts'
import { modelRecord } from '../../core/store/models.ts'
import { CliError, intFlag, parseCommand, printJson } from '../args.ts'

export async function run(argv: string[]): Promise<number> {
  const { values, positionals, db: dbFile } = parseCommand(argv, { epochs: { type: 'string' }, finetune: { type: 'string' } })
  if (positionals.length) throw new CliError('usage: lookalike train [--db FILE] [--epochs N] [--finetune off|late] [--json]')
  if (values.finetune !== undefined && !FINETUNE_MODES.includes(values.finetune as Finetune)) {
    throw new CliError(`--finetune must be ${FINETUNE_MODES.join(' or ')}, got "${values.finetune}"`)
  }
  const epochs = values.epochs === undefined ? undefined : intFlag(values.epochs, 'epochs', 0)
  const db = openDb(dbFile)
  const controller = new AbortController()
  const stop = () => controller.abort()
  process.once('SIGINT', stop)
  try {
    const backbone = libraryBackbone(db)
    if (!backbone) throw new CliError('the library has no photo features yet: run `lookalike index <folder>` first')
    const backend = await ensureBackend()
    const backendKind = (await selectBackend()).kind
    const speed = backendKind === 'gpu' ? 1 : await tailSpeedFactor()
    const plan = libraryFinetunePlan(db, backbone, backendKind, epochs ?? DEFAULTS.epochs, speed)
    const finetune = (values.finetune as Finetune | undefined) ?? plan.finetune
    if (values.finetune === undefined && !values.json) console.error(`deeper fine-tuning ${finetune === 'late' ? 'on' : 'off'} (about ${plan.lateSeconds} s with it here): ${plan.reason}`)
    const started = performance.now()
    // The activation maps come from the photo files (cached in the library after the first time).
    const extractor = finetune === 'late' ? await (await import('../../core/modeling/activations.ts')).createActivationExtractor() : null
    const result = await retrain(db, backbone, {
      epochs,
      finetune,
      activations: extractor ?? undefined,
      signal: controller.signal,
      onProgress: values.json
        ? undefined
        : (e) => process.stderr.write(e.epoch ? `epoch ${e.epoch}/${e.total} ${formatLoss(e.loss)}\n` : `${e.current ?? ''} ${e.done}/${e.total}\n`),
    }).finally(() => extractor?.dispose())
    const seconds = Math.round((performance.now() - started) / 10) / 100
    const kind = modelRecord(db, result.modelId)?.kind
    if (values.json) printJson({ ...result, kind, backend, seconds })
    else {
      console.log(`Model ${result.modelId} (${kind}${finetune === 'late' ? ', fine-tuned' : ''}) active after ${seconds} s on ${backend}.`)
      for (const u of result.unreadable ?? []) console.error(`  no code under the new model: ${u.file ?? u.hash} (${u.error})`)
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
