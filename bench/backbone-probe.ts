// Which backbone feature serves a *trained* head best? DPQ's head without quantization (fc 512 ReLU,
// dropout 0.5, tanh 256-d embedding, softmax classifier) trained on the train split of the cached
// activations, then mAP@all by cosine of the embedding: a cheap stand-in for what DPQ will see.
// usage: tsx bench/backbone-probe.ts [trainPerClass=400] [epochs=40]
import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { readFileSync } from 'node:fs'

const trainPerClass = Number(process.argv[2] ?? 400)
const epochs = Number(process.argv[3] ?? 40)
const CANDIDATES: { layers: string[]; blockL2: boolean }[] = [
  { layers: ['block_12_add'], blockL2: false },
  { layers: ['block_13_expand_relu'], blockL2: false },
  { layers: ['out_relu'], blockL2: false },
  { layers: ['block_13_expand_relu', 'out_relu'], blockL2: true },
  { layers: ['block_13_expand_relu', 'block_16_project_BN'], blockL2: true },
  { layers: ['block_12_add', 'block_13_expand_relu', 'block_15_add', 'block_16_project_BN', 'out_relu'], blockL2: true },
]

await tf.setBackend('wasm')
const results: Record<string, number> = {}
const meta = JSON.parse(readFileSync('.tmp/features/cifar10-01.json', 'utf8')) as { layers: string[]; layerDims: number[]; dim: number; items: { labels: string[] }[] }
const bytes = readFileSync('.tmp/features/cifar10-01.f32')
const all = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4)
const classes = [...new Set(meta.items.map((it) => it.labels[0]))]
const label = meta.items.map((it) => classes.indexOf(it.labels[0]))
const seen = new Map<number, number>()
const role = label.map((c) => {
  const k = seen.get(c) ?? 0
  seen.set(c, k + 1)
  return k < trainPerClass ? 'train' : k >= 400 && k < 500 ? 'query' : k < 400 ? 'db' : 'db'
})
for (const cand of CANDIDATES) {
  const offsets = meta.layers.map((_, i) => meta.layerDims.slice(0, i).reduce((a, b) => a + b, 0))
  const picks = cand.layers.map((l) => ({ o: offsets[meta.layers.indexOf(l)], d: meta.layerDims[meta.layers.indexOf(l)] }))
  const dim = picks.reduce((a, p) => a + p.d, 0)
  const x = new Float32Array(label.length * dim)
  label.forEach((_, r) => {
    let o = r * dim
    for (const p of picks) {
      const src = all.subarray(r * meta.dim + p.o, r * meta.dim + p.o + p.d)
      const n = cand.blockL2 ? Math.hypot(...src) || 1 : 1
      for (let j = 0; j < p.d; j++) x[o + j] = src[j] / n
      o += p.d
    }
    const row = x.subarray(r * dim, (r + 1) * dim)
    const n = Math.hypot(...row) || 1
    for (let j = 0; j < dim; j++) row[j] /= n
  })
  const idx = (want: string) => role.flatMap((r, i) => (r === want ? [i] : []))
  const train = idx('train')
  const queries = idx('query')
  const database = role.flatMap((r, i) => (r !== 'query' ? [i] : []))
  const rows = (ids: number[]) => tf.tensor2d(ids.flatMap((i) => Array.from(x.subarray(i * dim, (i + 1) * dim))), [ids.length, dim])
  // Standardise with train statistics: pooled ReLU activations are all positive and tiny after L2.
  const xTrain = rows(train)
  const { mean, variance } = tf.moments(xTrain, 0)
  const std = tf.sqrt(variance.add(1e-8))
  const norm = (t: tf.Tensor) => t.sub(mean).div(std)
  const input = tf.input({ shape: [dim] })
  const hidden = tf.layers.dropout({ rate: 0.5 }).apply(tf.layers.dense({ units: 512, activation: 'relu' }).apply(input)) as tf.SymbolicTensor
  const embedding = tf.layers.dense({ units: 256, activation: 'tanh', name: 'embedding' }).apply(hidden) as tf.SymbolicTensor
  const logits = tf.layers.dense({ units: classes.length, activation: 'softmax' }).apply(embedding) as tf.SymbolicTensor
  const model = tf.model({ inputs: input, outputs: logits })
  model.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy' })
  const yTrain = tf.oneHot(tf.tensor1d(train.map((i) => label[i]), 'int32'), classes.length)
  await model.fit(norm(xTrain), yTrain, { epochs, batchSize: 64, shuffle: true, verbose: 0 })
  const embedder = tf.model({ inputs: input, outputs: embedding })
  const embed = (ids: number[]) => tf.tidy(() => embedder.predict(norm(rows(ids))) as tf.Tensor)
  const q = embed(queries)
  const d = embed(database)
  const s = tf.matMul(q.div(tf.norm(q, 'euclidean', 1, true)), d.div(tf.norm(d, 'euclidean', 1, true)), false, true).dataSync()
  let total = 0
  queries.forEach((qi, row) => {
    const order = database.map((_, j) => j).sort((a, b) => s[row * database.length + b] - s[row * database.length + a])
    let hits = 0
    let sum = 0
    order.forEach((j, rank) => {
      if (label[database[j]] === label[qi]) sum += ++hits / (rank + 1)
    })
    total += sum / hits
  })
  const key = `${cand.layers.join('+')}${cand.blockL2 ? ' (l2 blocks)' : ''}`
  results[key] = Number((total / queries.length).toFixed(4))
  console.error(key, results[key])
  tf.dispose([xTrain, mean, variance, std, yTrain, q, d])
  model.dispose()
}
console.log(JSON.stringify({ dataset: 'cifar10 [0,1]', trainPerClass, probe: 'DPQ head without quantization, cosine of the 256-d embedding', epochs, map: results }))
