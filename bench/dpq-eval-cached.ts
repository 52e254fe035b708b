// Runs the evaluation protocol on features cached by bench/extract-dataset-features.ts
// (no images decoded): the dev loop for choosing DPQ's defaults. Prints one JSON line.
//   npx tsx bench/dpq-eval-cached.ts --dataset cifar10 --layers out_relu,block_13_expand_relu \
//     --train-per-class 400 --queries-per-class 100 [--epochs 30 --schedule joint --gamma 10 …] [--no-pq]
import { parseArgs } from 'node:util'
import { evaluate, splitByClass } from '../src/core/dpq/protocol.ts'
import { loadCached } from './dpq-cached.ts'
import type { TrainOptions } from '../src/core/dpq/train.ts'

const { values } = parseArgs({
  options: {
    dataset: { type: 'string', default: 'cifar10' },
    layers: { type: 'string', default: 'out_relu' },
    'train-per-class': { type: 'string', default: '400' },
    'queries-per-class': { type: 'string', default: '100' },
    'no-pq': { type: 'boolean', default: false },
    dpq: { type: 'string', default: '{}' },
  },
})

{
  const photos = loadCached(values.dataset!, values.layers!.split(','))
  const split = splitByClass(photos.names, photos.labels, Number(values['train-per-class']), Number(values['queries-per-class']))
  const report = await evaluate(photos, split, {
    dataset: `${values.dataset}[${values.layers}]`,
    dpq: JSON.parse(values.dpq!) as TrainOptions,
    pq: !values['no-pq'],
    onProgress: (e) => process.stderr.write(`${JSON.stringify(e)}\n`),
  })
  console.log(JSON.stringify({ ...report, dpq_options: JSON.parse(values.dpq!) }))
}
