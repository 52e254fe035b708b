// MobileNetV2 from the weights the `nsfwjs` package ships on disk: no network, ever.
// The package wraps each file in a UMD bundle (model JSON, base64 weight shards), so we
// require() them and hand the bytes to tf.io.fromMemory instead of using nsfwjs' loader.
import type * as tfType from '@tensorflow/tfjs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

const require = createRequire(import.meta.url)

export type Tf = typeof tfType

/** Where nsfwjs keeps MobileNetV2 (224×224 input, Keras layers model, uint8-quantized weights). */
export function mobilenetDir(): string {
  // require.resolve('nsfwjs') → <pkg>/dist/cjs/index.js; the model files sit in <pkg>/dist/models.
  return join(dirname(require.resolve('nsfwjs')), '..', 'models', 'mobilenet_v2')
}

interface UmdModel {
  modelTopology: object
  weightsManifest: { paths: string[]; weights: tfType.io.WeightsManifestEntry[] }[]
}

/** Loads the full MobileNetV2 layers model from disk. */
export async function loadMobilenet(tf: Tf): Promise<tfType.LayersModel> {
  const dir = mobilenetDir()
  const topology = require(join(dir, 'model.min.js')) as UmdModel
  const manifest = topology.weightsManifest[0]
  const shards = manifest.paths.map((p) => Buffer.from(require(join(dir, `${p}.min.js`)) as string, 'base64'))
  const bytes = Buffer.concat(shards)
  const weightData = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer
  return tf.loadLayersModel(
    tf.io.fromMemory({ modelTopology: topology.modelTopology, weightSpecs: manifest.weights, weightData }),
  )
}

/**
 * A model whose outputs are the given layers, each global-average-pooled to a vector and
 * concatenated in order: one [batch, Σ channels] tensor per call.
 */
export function pooledFeatureModel(tf: Tf, mobilenet: tfType.LayersModel, layers: readonly string[]): tfType.LayersModel {
  const pooled = layers.map((name) => {
    const out = mobilenet.getLayer(name).output as tfType.SymbolicTensor
    return out.shape.length === 4 ? (tf.layers.globalAveragePooling2d({}).apply(out) as tfType.SymbolicTensor) : out
  })
  const output = pooled.length === 1 ? pooled[0] : (tf.layers.concatenate({}).apply(pooled) as tfType.SymbolicTensor)
  return tf.model({ inputs: mobilenet.inputs, outputs: output })
}
