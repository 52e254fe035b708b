// Which pooled MobileNetV2 activations make the best general-purpose photo feature? Float cosine
// mAP@all on the dev datasets, per layer and concatenation, with and without per-block L2, for both
// input ranges. Reads the activations that bench/extract-dataset-features.ts cached in .tmp/features.
// usage: tsx bench/backbone-eval.ts [cifar10|coco256 ...]   (prints one JSON object)
import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { existsSync, readFileSync } from 'node:fs'

interface Cached {
  layers: string[]
  layerDims: number[]
  dim: number
  items: { path: string; labels: string[] }[]
  features: Float32Array
}

const SHORT: Record<string, string> = {
  block_12_add: 'b12_add',
  block_13_expand_relu: 'b13_expand',
  block_15_add: 'b15_add',
  block_16_project_BN: 'b16_project',
  out_relu: 'out_relu',
  dense_1: 'dense_1',
}

const COMBOS: string[][] = [
  ...Object.keys(SHORT).map((l) => [l]),
  ['block_13_expand_relu', 'out_relu'],
  ['block_12_add', 'out_relu'],
  ['block_15_add', 'out_relu'],
  ['block_16_project_BN', 'out_relu'],
  ['block_13_expand_relu', 'block_16_project_BN'],
  ['block_13_expand_relu', 'block_16_project_BN', 'out_relu'],
  ['block_12_add', 'block_13_expand_relu', 'block_15_add', 'block_16_project_BN', 'out_relu'],
]

function load(name: string, range: '01' | '11'): Cached | null {
  const base = `.tmp/features/${name}-${range}`
  if (!existsSync(`${base}.json`)) return null
  const meta = JSON.parse(readFileSync(`${base}.json`, 'utf8')) as Omit<Cached, 'features'>
  const bytes = readFileSync(`${base}.f32`)
  return { ...meta, features: new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4) }
}

/** Rows of the chosen layers, each block optionally L2-normalised, the whole row unit length. */
function featureMatrix(c: Cached, layers: string[], blockL2: boolean): Float32Array {
  const offsets = c.layers.map((_, i) => c.layerDims.slice(0, i).reduce((a, b) => a + b, 0))
  const picks = layers.map((l) => {
    const i = c.layers.indexOf(l)
    return { offset: offsets[i], dim: c.layerDims[i] }
  })
  const dim = picks.reduce((a, p) => a + p.dim, 0)
  const n = c.items.length
  const out = new Float32Array(n * dim)
  for (let r = 0; r < n; r++) {
    let o = r * dim
    for (const p of picks) {
      const src = c.features.subarray(r * c.dim + p.offset, r * c.dim + p.offset + p.dim)
      const norm = blockL2 ? Math.hypot(...src) || 1 : 1
      for (let j = 0; j < p.dim; j++) out[o + j] = src[j] / norm
      o += p.dim
    }
    const row = out.subarray(r * dim, (r + 1) * dim)
    const norm = Math.hypot(...row) || 1
    for (let j = 0; j < dim; j++) row[j] /= norm
  }
  return out
}

/** The evaluation protocol (docs/dpq.md): per class, the first 400 train, the next 100 query; database = the rest. */
function split(c: Cached): { queries: number[]; database: number[] } {
  if (c.items.every((it) => it.labels.length === 1) && new Set(c.items.map((it) => it.labels[0])).size <= 100) {
    const seen = new Map<string, number>()
    const queries: number[] = []
    const database: number[] = []
    c.items.forEach((it, i) => {
      const k = seen.get(it.labels[0]) ?? 0
      seen.set(it.labels[0], k + 1)
      if (k >= 400 && k < 500) queries.push(i)
      else database.push(i)
    })
    return { queries, database }
  }
  // Multi-label (coco256): every labelled photo queries all the others.
  const all = c.items.map((_, i) => i)
  return { queries: all.filter((i) => c.items[i].labels.length > 0), database: all }
}

function meanAP(c: Cached, x: Float32Array, dim: number, queries: number[], database: number[]): number {
  const gather = (idx: number[]) => {
    const m = new Float32Array(idx.length * dim)
    idx.forEach((r, i) => m.set(x.subarray(r * dim, (r + 1) * dim), i * dim))
    return tf.tensor2d(m, [idx.length, dim])
  }
  const q = gather(queries)
  const db = gather(database)
  const scores = tf.matMul(q, db, false, true)
  const s = scores.dataSync()
  tf.dispose([q, db, scores])
  const labelSets = c.items.map((it) => new Set(it.labels))
  let total = 0
  const order = new Uint32Array(database.length)
  queries.forEach((qi, row) => {
    const base = row * database.length
    for (let j = 0; j < order.length; j++) order[j] = j
    order.sort((a, b) => s[base + b] - s[base + a])
    const mine = labelSets[qi]
    let hits = 0
    let sum = 0
    let rank = 0
    for (const j of order) {
      const di = database[j]
      if (di === qi) continue
      rank++
      if (c.items[di].labels.some((l) => mine.has(l))) {
        hits++
        sum += hits / rank
      }
    }
    total += hits ? sum / hits : 0
  })
  return total / queries.length
}

await tf.setBackend('wasm')
const datasets = process.argv.slice(2).length ? process.argv.slice(2) : ['cifar10', 'coco256']
const results: Record<string, Record<string, number>> = {}
for (const name of datasets) {
  for (const range of ['01', '11'] as const) {
    const c = load(name, range)
    if (!c) {
      console.error(`skip ${name}-${range}: run bench/extract-dataset-features.ts first`)
      continue
    }
    const { queries, database } = split(c)
    for (const layers of COMBOS) {
      for (const blockL2 of layers.length > 1 ? [false, true] : [false]) {
        const x = featureMatrix(c, layers, blockL2)
        const dim = x.length / c.items.length
        const key = `${layers.map((l) => SHORT[l]).join('+')}${blockL2 ? ' (l2 blocks)' : ''}`
        const map = meanAP(c, x, dim, queries, database)
        ;(results[key] ??= { dim })[`${name} ${range === '01' ? '[0,1]' : '[-1,1]'}`] = Number(map.toFixed(4))
        console.error(`${name} ${range} ${key}: ${map.toFixed(4)}`)
      }
    }
  }
}
console.log(JSON.stringify(results, null, 1))
