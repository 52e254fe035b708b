// Dev tool: pooled activations of candidate layers of both nsfwjs MobileNetV2s for a labelled
// dataset, cached in .tmp/study/<name>.{json,<variant>.f32} for bench/feature-study.ts.
// Variants: today's stored feature (`legacy`, block_13_expand_relu GAP of mobilenet_v2) and, for
// each candidate layer of mobilenet_v2_mid, GAP, GeM (p = 3), MAC and R-MAC.
// usage: tsx bench/feature-study-extract.ts <folder|tsv:FILE> <name> [perClassLimit]
import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { mkdirSync, writeFileSync } from 'node:fs'
import { datasetItems } from './dataset-items.ts'
import { LEGACY_FEATURE as BACKBONE, scalePixels } from '../src/core/embed/backbone.ts'
import { loadMobilenet, readBackboneArtifacts } from '../src/core/embed/backbone-files.ts'
import { fuseBackbone } from '../src/core/embed/fused-backbone.ts'
import { graphNetwork } from '../src/core/embed/graph-network.ts'
import { rmac } from '../src/core/embed/rmac.ts'
import { decodePhoto } from '../src/core/library/decode.ts'

export const STUDY_LAYERS = ['expanded_conv_11/expand', 'expanded_conv_12/expand', 'expanded_conv_13/expand', 'expanded_conv_14/expand']
export const POOLINGS = ['gap', 'gem', 'mac', 'rmac'] as const

const [source, name, limitArg] = process.argv.slice(2)
const perClass = limitArg ? Number(limitArg) : Infinity
const items = datasetItems(source, perClass)
await tf.setBackend('wasm')
const legacyNet = await loadMobilenet(tf)
const legacy = fuseBackbone(tf, legacyNet, BACKBONE.layers)
const mid = await graphNetwork(tf, readBackboneArtifacts('mobilenet_v2_mid'), STUDY_LAYERS)

const pool = (m: tf.Tensor4D, how: (typeof POOLINGS)[number]): tf.Tensor2D => {
  if (how === 'gap') return tf.mean(m, [1, 2]) as tf.Tensor2D
  if (how === 'mac') return tf.max(m, [1, 2]) as tf.Tensor2D
  if (how === 'gem') return tf.pow(tf.mean(tf.pow(tf.maximum(m, 1e-6), 3), [1, 2]), 1 / 3) as tf.Tensor2D
  return rmac(tf, m)
}
const variants: Record<string, number[]> = {}
const dims: Record<string, number> = {}
const t0 = Date.now()
const batch = 16
for (let i = 0; i < items.length; i += batch) {
  const chunk = items.slice(i, i + batch)
  const pixels = await Promise.all(chunk.map((it) => decodePhoto(it.path).then((d) => d.modelInput as Uint8Array)))
  const outs = tf.tidy(() => {
    const x = tf.tensor4d(scalePixels(pixels, 224, '[0,1]'), [chunk.length, 224, 224, 3])
    const res: [string, tf.Tensor2D][] = [['legacy', legacy.pooled(x)[0]]]
    mid.maps(x).forEach((m, li) => {
      for (const p of POOLINGS) res.push([`${STUDY_LAYERS[li].replace('/', '.')}.${p}`, pool(m, p)])
    })
    return res
  })
  for (const [key, t] of outs) {
    dims[key] = t.shape[1]
    ;(variants[key] ??= []).push(...(await t.data()))
    t.dispose()
  }
  if ((i / batch) % 10 === 0) console.error(`${i + chunk.length}/${items.length} ${((Date.now() - t0) / 1000).toFixed(0)}s`)
}
mkdirSync('.tmp/study', { recursive: true })
for (const [key, values] of Object.entries(variants)) writeFileSync(`.tmp/study/${name}.${key}.f32`, Buffer.from(new Float32Array(values).buffer))
writeFileSync(`.tmp/study/${name}.json`, JSON.stringify({ variants: dims, items }))
console.error(`done ${items.length} in ${((Date.now() - t0) / 1000).toFixed(0)}s`)
