// Exports the cached CIFAR-10 dev fine-tuning inputs (bench/dpq-finetune.ts) for the PyTorch
// replica of trainDpq (bench/gpu/finetune_torch.py), small enough to carry to a GPU machine.
// The replica has the legacy tail's shapes: the cache must hold legacy-feature rows (block_15_add maps).
// usage: npx tsx bench/gpu/export-finetune.ts [--folder DIR] [--train-per-class 400]
//        [--queries-per-class 100] [--out .gpu-data]
// Writes into --out (little-endian, row-major):
//   maps.u8          n × 7840 uint8: block_15_add map (y, x, channel), per-row affine quantization
//   maps-range.f32   n × 2: (min, step) per row; value ≈ min + step · byte
//   pooled.f32       n × 576 float32: the library's unit-length block_13_expand_relu feature (exact)
//   labels.u8        n class indices (classes sorted by folder name)
//   tail.f32         pretrained block_16 + Conv_1, BN folded, in tailArrays order (finetune.ts)
//   check-rows.f32   c × 8416 exact input rows; check-tail.f32  c × 1856 applyTail outputs (tfjs)
//   meta.json        shapes, class names, split (train / queries / database as splitByClass)
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import { parseArgs } from 'node:util'
import { loadMobilenet } from '../../src/core/embed/backbone-files.ts'
import { applyTail, LEGACY_TAIL, MAP_SIZE, pretrainedLegacyTail, tailArrays } from '../../src/core/dpq/finetune.ts'
import { splitByClass } from '../../src/core/dpq/protocol.ts'
import { tf } from '../../src/core/dpq/tf.ts'
import { ensureBackend } from '../../src/core/modeling/backend.ts'

const { values } = parseArgs({
  options: {
    folder: { type: 'string', default: '../shared/datasets/cifar10-dev' },
    'train-per-class': { type: 'string', default: '400' },
    'queries-per-class': { type: 'string', default: '100' },
    out: { type: 'string', default: '.gpu-data' },
  },
})
const folder = values.folder!
const out = values.out!
const backend = await ensureBackend()
// Same rows as bench/dpq-finetune.ts: classes sorted, files sorted within each class.
const classes = readdirSync(folder).filter((c) => !c.includes('.')).sort()
const items = classes.flatMap((c, k) => readdirSync(join(folder, c)).sort().map((f) => ({ name: `${c}/${f}`, label: k })))
const cacheFile = `.tmp/features/${basename(folder)}-finetune.f32`
if (!existsSync(cacheFile)) throw new Error(`no ${cacheFile}: run bench/dpq-finetune.ts once to build it`)
const buf = readFileSync(cacheFile)
const flat = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4)
const n = items.length
const dim = flat.length / n
if (!Number.isInteger(dim) || dim <= MAP_SIZE) throw new Error(`${cacheFile}: ${flat.length} floats do not make ${n} rows of [map | pooled]`)
const pooledDim = dim - MAP_SIZE

mkdirSync(out, { recursive: true })
const maps = new Uint8Array(n * MAP_SIZE)
const range = new Float32Array(n * 2)
const pooled = new Float32Array(n * pooledDim)
let maxError = 0
for (let i = 0; i < n; i++) {
  const row = flat.subarray(i * dim, (i + 1) * dim)
  let lo = Infinity
  let hi = -Infinity
  for (let j = 0; j < MAP_SIZE; j++) {
    lo = Math.min(lo, row[j])
    hi = Math.max(hi, row[j])
  }
  const step = hi > lo ? (hi - lo) / 255 : 1
  range[2 * i] = lo
  range[2 * i + 1] = step
  for (let j = 0; j < MAP_SIZE; j++) {
    const q = Math.max(0, Math.min(255, Math.round((row[j] - lo) / step)))
    maps[i * MAP_SIZE + j] = q
    maxError = Math.max(maxError, Math.abs(Math.fround(lo) + Math.fround(step) * q - row[j]))
  }
  pooled.set(row.subarray(MAP_SIZE), i * pooledDim)
}
const write = (name: string, a: ArrayBufferView) => writeFileSync(join(out, name), Buffer.from(a.buffer, a.byteOffset, a.byteLength))
write('maps.u8', maps)
write('maps-range.f32', range)
write('pooled.f32', pooled)
write('labels.u8', Uint8Array.from(items.map((it) => it.label)))

const mobilenet = await loadMobilenet(tf)
const tail = pretrainedLegacyTail(mobilenet)
mobilenet.dispose()
const arrays = tailArrays(tail)
const tailFlat = new Float32Array(arrays.reduce((s, a) => s + a.length, 0))
arrays.reduce((off, a) => (tailFlat.set(a, off), off + a.length), 0)
write('tail.f32', tailFlat)

// A few rows from every class: the replica's pretrained tail must reproduce tfjs's applyTail.
const checkRows = [0, 1, 777, 1234, 2500, 3333, 4321, 4999]
const checkInput = new Float32Array(checkRows.length * dim)
checkRows.forEach((r, i) => checkInput.set(flat.subarray(r * dim, (r + 1) * dim), i * dim))
write('check-rows.f32', checkInput)
write('check-tail.f32', applyTail(tail, checkInput, checkRows.length))

const labels = items.map((it) => [it.label])
const trainPerClass = Number(values['train-per-class'])
const queriesPerClass = Number(values['queries-per-class'])
const split = splitByClass(items.map((it) => it.name), labels, trainPerClass, queriesPerClass)
const meta = {
  dataset: basename(folder),
  backend,
  rows: n,
  map_size: MAP_SIZE,
  map_shape: [7, 7, 160],
  pooled_dim: pooledDim,
  tail_out: LEGACY_TAIL.out,
  tail_arrays: arrays.map((a) => a.length),
  classes,
  map_quantization_max_error: maxError,
  check_rows: checkRows,
  split: { train_per_class: trainPerClass, queries_per_class: queriesPerClass, ...split },
}
writeFileSync(join(out, 'meta.json'), JSON.stringify(meta))
console.log(JSON.stringify({ out, rows: n, dim, train: split.train.length, queries: split.queries.length, database: split.database.length, map_quantization_max_error: maxError }))
