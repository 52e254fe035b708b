// "One training, every length": seconds to train one DPQ model (M = 8: codes of 8…64 bits)
// against one DPQ model per code length (M = 1 … 8, trained separately) and PQ at each length,
// on the same cached CIFAR-10 dev features. Prints one JSON line.
//   npx tsx bench/dpq-timing.ts [--layers block_13_expand_relu] [--train-per-class 100]
import { parseArgs } from 'node:util'
import { trainPq } from '../src/core/dpq/pq.ts'
import { splitByClass } from '../src/core/dpq/protocol.ts'
import { trainDpq } from '../src/core/dpq/train.ts'
import { loadCached } from './dpq-cached.ts'

const { values } = parseArgs({
  options: {
    layers: { type: 'string', default: 'block_13_expand_relu' },
    'train-per-class': { type: 'string', default: '100' },
  },
})
const photos = loadCached('cifar10', values.layers!.split(','))
const split = splitByClass(photos.names, photos.labels, Number(values['train-per-class']), 0)
const features = split.train.map((i) => photos.features[i])
const labels = split.train.map((i) => photos.labels[i])
const seconds = async (fn: () => unknown) => {
  const t = performance.now()
  await fn()
  return Math.round((performance.now() - t) / 10) / 100
}

const one = await seconds(() => trainDpq(features, labels))
const perLength: Record<string, number> = {}
for (let m = 1; m <= 8; m++) perLength[m * 8] = await seconds(() => trainDpq(features, labels, { M: m }))
const dim = features[0].length
const unit = new Float32Array(features.length * dim)
features.forEach((f, i) => {
  const n = Math.hypot(...f) || 1
  for (let j = 0; j < dim; j++) unit[i * dim + j] = f[j] / n
})
const pq: Record<string, number> = {}
for (let m = 1; m <= 8; m++) pq[m * 8] = await seconds(() => trainPq(unit, dim, m))
const sum = (r: Record<string, number>) => Math.round(Object.values(r).reduce((a, b) => a + b, 0) * 100) / 100
console.log(
  JSON.stringify({
    layers: values.layers,
    train: features.length,
    dpq_one_model_seconds: one,
    dpq_model_per_length_seconds: perLength,
    dpq_model_per_length_total: sum(perLength),
    pq_seconds: pq,
    pq_total: sum(pq),
  }),
)
