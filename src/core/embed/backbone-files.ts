// MobileNetV2 from the weights the `nsfwjs` package ships on disk: no network, ever.
// The package wraps each file in a UMD bundle (model JSON, base64 weight shards), so we
// require() them and hand the bytes to tf.io.fromMemory instead of using nsfwjs' loader.
import type * as tfType from '@tensorflow/tfjs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { FEATURE, type FeatureSpec, mobilenetFromArtifacts, type BackboneArtifacts, type Tf } from './backbone.ts'

const require = createRequire(import.meta.url)

/**
 * The networks nsfwjs ships (224×224 input, uint8-quantized weights): `mobilenet_v2` is a Keras
 * layers model, `mobilenet_v2_mid` a TF-Hub MobileNetV2 at width 1.4 converted to a graph model.
 */
export type NetworkName = FeatureSpec['network']

/** Where nsfwjs keeps a network's files. */
export function mobilenetDir(network: NetworkName = 'mobilenet_v2'): string {
  // require.resolve('nsfwjs') → <pkg>/dist/cjs/index.js; the model files sit in <pkg>/dist/models.
  return join(dirname(require.resolve('nsfwjs')), '..', 'models', network)
}

interface UmdModel {
  modelTopology: object
  weightsManifest: { paths: string[]; weights: tfType.io.WeightsManifestEntry[] }[]
}

/** A network's files as bytes: what in-process embedding loads, and what the compute page is sent. */
export function readBackboneArtifacts(network: NetworkName = FEATURE.network): BackboneArtifacts {
  const dir = mobilenetDir(network)
  const topology = require(join(dir, 'model.min.js')) as UmdModel
  const manifest = topology.weightsManifest[0]
  const shards = manifest.paths.map((p) => Buffer.from(require(join(dir, `${p}.min.js`)) as string, 'base64'))
  const bytes = Buffer.concat(shards)
  const weightData = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer
  return { modelTopology: topology.modelTopology, weightSpecs: manifest.weights, weightData }
}

/** Loads the first MobileNetV2 (the Keras layers model) from disk. */
export function loadMobilenet(tf: Tf): Promise<tfType.LayersModel> {
  return mobilenetFromArtifacts(tf, readBackboneArtifacts('mobilenet_v2'))
}
