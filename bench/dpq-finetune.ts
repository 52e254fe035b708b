// Deeper fine-tuning: mAP gain and cost of fine-tuning MobileNetV2's block_16 + Conv_1 with the DPQ head
// ('late') against the frozen pooled feature ('off'), same split, same seed. Prints JSON.
// usage: tsx bench/dpq-finetune.ts [--folder DIR] [--train-per-class N] [--queries-per-class Q]
//        [--epochs E] [--modes off,late] [--tail-lr X]
// The activations (block_15_add map + the library's pooled feature, via decodePhoto as the app
// decodes) are cached in .tmp/features/<folder name>-finetune.f32 on the first run.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import { parseArgs } from 'node:util'
import { createActivationExtractor } from '../src/core/modeling/activations.ts'
import { mapSize } from '../src/core/dpq/finetune.ts'
import { labelSets, meanAveragePrecision } from '../src/core/dpq/metrics.ts'
import { cosineScorer, dpqMaps, splitByClass } from '../src/core/dpq/protocol.ts'
import { ensureBackend } from '../src/core/modeling/backend.ts'
import { trainDpq, type TrainOptions } from '../src/core/dpq/train.ts'

const { values } = parseArgs({
  options: {
    folder: { type: 'string', default: '../shared/datasets/cifar10-dev' },
    'train-per-class': { type: 'string', default: '100' },
    'queries-per-class': { type: 'string', default: '100' },
    epochs: { type: 'string', default: '30' },
    modes: { type: 'string', default: 'off,late' },
    'tail-lr': { type: 'string' },
  },
})
const folder = values.folder!
if (!existsSync(folder)) {
  console.error(`no dataset at ${folder}`)
  process.exit(2)
}
const backend = await ensureBackend()
const classes = readdirSync(folder).filter((c) => !c.includes('.')).sort()
const items = classes.flatMap((c, k) => readdirSync(join(folder, c)).sort().map((f) => ({ path: join(folder, c, f), name: `${c}/${f}`, label: k })))

// The pretrained tail of the library's feature; the cache is per tail (its maps are that network's).
const probe = await createActivationExtractor()
const tail = probe.tail
probe.dispose()
const cacheFile = `.tmp/features/${basename(folder)}-${tail.spec.network}-finetune.f32`
let inputs: Float32Array[]
let dim: number
const t0 = performance.now()
if (existsSync(cacheFile)) {
  const buf = readFileSync(cacheFile)
  const flat = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4)
  dim = flat.length / items.length
  inputs = items.map((_, i) => flat.subarray(i * dim, (i + 1) * dim))
} else {
  const extractor = await createActivationExtractor()
  inputs = await extractor.fromPhotos(items.map((it) => it.path), (done, total) => {
    if (done % 500 === 0) console.error(`activations ${done}/${total}`)
  })
  extractor.dispose()
  dim = inputs[0].length
  const flat = new Float32Array(items.length * dim)
  inputs.forEach((r, i) => flat.set(r, i * dim))
  mkdirSync('.tmp/features', { recursive: true })
  writeFileSync(cacheFile, Buffer.from(flat.buffer))
}
const extractSeconds = (performance.now() - t0) / 1000
const pooled = inputs.map((r) => r.subarray(mapSize(tail.spec)))
const labels = items.map((it) => [it.label])
const split = splitByClass(items.map((it) => it.name), labels, Number(values['train-per-class']), Number(values['queries-per-class']))
const qs = labelSets(split.queries.map((i) => labels[i]))
const ds = labelSets(split.database.map((i) => labels[i]))
const float = meanAveragePrecision(qs, ds, cosineScorer(pooled, split.queries, split.database)).all

const round = (x: number) => Math.round(x * 1000) / 1000
const results: Record<string, unknown> = {}
for (const mode of values.modes!.split(',') as ('off' | 'late')[]) {
  const late = mode === 'late'
  const features = late ? inputs : pooled
  const options: TrainOptions = { classes: classes.length, epochs: Number(values.epochs), finetune: mode }
  if (late) {
    options.tail = tail
    if (values['tail-lr']) options.tailLr = Number(values['tail-lr'])
  }
  const started = performance.now()
  const model = await trainDpq(split.train.map((i) => features[i]), split.train.map((i) => labels[i]), options, {
    onProgress: (e) => e.epoch && e.epoch % 10 === 0 && console.error(`${mode} epoch ${e.epoch}/${e.total} ${((performance.now() - started) / 1000).toFixed(0)} s`),
  })
  const trainSeconds = (performance.now() - started) / 1000
  const encodeStart = performance.now()
  const maps = dpqMaps(model, features, split, qs, ds)
  const encodeSeconds = (performance.now() - encodeStart) / 1000
  const embedded = model.embed(features)
  const embedding = meanAveragePrecision(qs, ds, cosineScorer(embedded, split.queries, split.database)).all
  results[mode] = {
    map: Object.fromEntries(Object.entries(maps).map(([k, v]) => [k, round(v.all)])),
    embedding: round(embedding),
    train_seconds: round(trainSeconds),
    // Queries embedded + database encoded (tail forward for 'late').
    encode_seconds: round(encodeSeconds),
    model_bytes: model.serialize().length,
  }
}
console.log(
  JSON.stringify({
    dataset: basename(folder),
    backend,
    train: split.train.length,
    queries: split.queries.length,
    database: split.database.length,
    input_floats_per_photo: { off: dim - mapSize(tail.spec), late: dim },
    extract_seconds: round(extractSeconds),
    float: round(float),
    ...results,
    max_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
  }),
)
