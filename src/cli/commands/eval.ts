// `lookalike eval <folder> --db FILE [--labels folders|tsv:FILE] [--train-per-class N]
//  [--queries-per-class Q] [--epochs E] [--backend B] [--json]`: the paper's protocol (docs/dpq.md) on a
// labelled folder. Indexes the folder into FILE first (a rerun reuses every cached feature), then
// prints mAP of DPQ at every code length beside PQ at the same bit budget and float cosine. With
// --unsupervised: the library's unsupervised model and search, scored without training on labels.
import { basename, join, resolve } from 'node:path'
import { FINETUNE_MODES, type Finetune, type Tail } from '../../core/dpq/finetune.ts'
import { tailSpecFor } from '../../core/dpq/tail-spec.ts'
import { DEFAULTS } from '../../core/dpq/train.ts'
import { ApiError } from '../../shared/contract.ts'
import { evaluate, splitByClass } from '../../core/dpq/protocol.ts'
import { ensureBackend } from '../../core/modeling/backend.ts'
import { finetunePlanHere } from '../../core/modeling/finetune-plan.ts'
import { StoreError } from '../../core/store/errors.ts'
import { openDb } from '../../core/store/db.ts'
import { CliError, intFlag, parseCommand, printJson } from '../args.ts'
import { featureFlag } from '../feature-flag.ts'
import { FEATURE, type FeatureSpec } from '../../core/embed/backbone.ts'
import { indexLabelledFolder, labelReader } from '../labelled-folder.ts'

const USAGE = 'usage: lookalike eval <folder> [--unsupervised] [--db FILE] [--labels folders|tsv:FILE] [--train-per-class N] [--queries-per-class Q] [--epochs E] [--backend B] [--finetune off|late] [--unlabelled none|database] [--feature region|region-crop|legacy] [--json]'

export async function run(argv: string[]): Promise<number> {
  // --unsupervised scores the library's own unsupervised path instead (eval-unsupervised.ts).
  if (argv.includes('--unsupervised')) return (await import('./eval-unsupervised.ts')).run(argv.filter((a) => a !== '--unsupervised'))
  const { values, positionals, db: dbFile } = parseCommand(argv, {
    labels: { type: 'string', default: 'folders' },
    'train-per-class': { type: 'string' },
    'queries-per-class': { type: 'string' },
    epochs: { type: 'string' },
    backend: { type: 'string' },
    finetune: { type: 'string' },
    unlabelled: { type: 'string', default: 'none' },
    feature: { type: 'string' },
  })
  if (positionals.length !== 1) throw new CliError(USAGE)
  const folder = resolve(positionals[0])
  const trainPerClass = intFlag(values['train-per-class'], 'train-per-class', 100)
  const queriesPerClass = intFlag(values['queries-per-class'], 'queries-per-class', 100)
  const epochs = values.epochs === undefined ? undefined : intFlag(values.epochs, 'epochs', 0)
  const labelsOf = labelReader(values.labels as string)
  const feature = featureFlag(values.feature as string | undefined)
  // 'database': DPQ also trains on the database photos, unlabelled (as Retrain sees the whole library).
  const unlabelled = values.unlabelled as string
  if (unlabelled !== 'none' && unlabelled !== 'database') throw new CliError(`--unlabelled must be none or database, got "${unlabelled}"`)
  if (values.finetune !== undefined && !FINETUNE_MODES.includes(values.finetune as Finetune)) {
    throw new CliError(`--finetune must be ${FINETUNE_MODES.join(' or ')}, got "${values.finetune}"`)
  }

  const db = openDb(dbFile)
  try {
    const log = values.json ? () => {} : (line: string) => process.stderr.write(`${line}\n`)
    const { photos } = await indexLabelledFolder(db, dbFile, folder, { labelsOf, feature, backend: values.backend as string | undefined, log })
    await ensureBackend()
    const split = splitByClass(photos.names, photos.labels, trainPerClass, queriesPerClass)
    // The app's rule: fine-tune by default on the GPU, or where it fits the retraining budget.
    const n = photos.names.length
    const tail = tailSpecFor(feature ?? FEATURE)
    const plan = await finetunePlanHere({ photos: n, albumPhotos: Math.ceil(split.train.length / 0.8), missingMaps: n, epochs: epochs ?? DEFAULTS.epochs, tail }, values.backend as string | undefined)
    const finetune = (values.finetune as Finetune | undefined) ?? plan.finetune
    const late = finetune === 'late' ? await finetuneRows(photos.names.map((p) => join(folder, p)), log, feature) : null
    const report = await evaluate(photos, split, {
      dataset: basename(folder),
      dpq: { ...(epochs ? { epochs } : {}), ...(late ? { finetune, tail: late.tail } : {}) },
      dpqFeatures: late?.rows,
      unlabelled,
      onProgress: (e) => log(e.epoch ? `epoch ${e.epoch}/${e.total} ${JSON.stringify(e.loss)}` : `${e.stage ?? 'pq baseline'} ${e.done}/${e.total}`),
    })
    const out = { ...report, finetune }
    if (values.json) printJson(out)
    else console.log(JSON.stringify(out, null, 2))
    return 0
  } catch (err) {
    if (err instanceof ApiError || err instanceof StoreError) throw new CliError(err.message)
    if (err instanceof Error && /split has no/.test(err.message)) throw new CliError(err.message)
    throw err
  } finally {
    db.close()
  }
}

/** finetune 'late': every photo's map where the feature's network's tail starts + pooled feature, recomputed from the files. */
async function finetuneRows(paths: string[], log: (line: string) => void, feature?: FeatureSpec): Promise<{ rows: Float32Array[]; tail: Tail }> {
  const { createActivationExtractor } = await import('../../core/modeling/activations.ts')
  const extractor = await createActivationExtractor(feature)
  try {
    log(`activations for fine-tuning: ${paths.length} photos …`)
    const rows = await extractor.fromPhotos(paths, (done, total) => done % 1024 === 0 && log(`activations ${done}/${total}`))
    return { rows, tail: extractor.tail }
  } finally {
    extractor.dispose()
  }
}
