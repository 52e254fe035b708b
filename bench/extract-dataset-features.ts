// Dev tool: pooled MobileNetV2 activations of several layers for a labelled dataset, written to
// .tmp/features/<name>-<range>.{f32,json} so backbone and DPQ experiments do not re-run the CNN.
// usage: tsx bench/extract-dataset-features.ts <folder|tsv:FILE> <name> [01|11]
import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import sharp from 'sharp'
import { mkdirSync, writeFileSync } from 'node:fs'
import { datasetItems } from './dataset-items.ts'
import { pooledFeatureModel } from '../src/core/embed/backbone.ts'
import { loadMobilenet } from '../src/core/embed/backbone-files.ts'

export const CANDIDATE_LAYERS = ['block_12_add', 'block_13_expand_relu', 'block_15_add', 'block_16_project_BN', 'out_relu', 'dense_1']

const [source, name, range = '11'] = process.argv.slice(2)
const items = datasetItems(source)
await tf.setBackend('wasm')
const mobilenet = await loadMobilenet(tf)
const model = pooledFeatureModel(tf, mobilenet, CANDIDATE_LAYERS)
// channels of each layer, in concatenation order
const layerDims = CANDIDATE_LAYERS.map((l) => (mobilenet.getLayer(l).output as tf.SymbolicTensor).shape.at(-1) as number)
const dim = (model.outputs[0].shape[1]) as number
const out = new Float32Array(items.length * dim)
const batch = 32
const t0 = Date.now()
for (let i = 0; i < items.length; i += batch) {
  const chunk = items.slice(i, i + batch)
  const pixels = await Promise.all(chunk.map((it) => sharp(it.path).rotate().removeAlpha().resize(224, 224, { fit: 'cover' }).raw().toBuffer()))
  const feats = tf.tidy(() => {
    const x = tf.stack(pixels.map((p) => tf.tensor3d(new Uint8Array(p), [224, 224, 3], 'int32'))).toFloat()
    const scaled = range === '01' ? x.div(255) : x.div(127.5).sub(1)
    return model.predict(scaled) as tf.Tensor
  })
  out.set(await feats.data(), i * dim)
  feats.dispose()
  if ((i / batch) % 10 === 0) console.error(`${i + chunk.length}/${items.length} ${((Date.now() - t0) / 1000).toFixed(0)}s`)
}
mkdirSync('.tmp/features', { recursive: true })
writeFileSync(`.tmp/features/${name}-${range}.f32`, Buffer.from(out.buffer))
writeFileSync(`.tmp/features/${name}-${range}.json`, JSON.stringify({ layers: CANDIDATE_LAYERS, layerDims, dim, range, items }, null, 0))
console.error(`done ${items.length} in ${((Date.now() - t0) / 1000).toFixed(0)}s, dim ${dim}`)
