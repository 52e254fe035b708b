// The library's feature as one object: network built from its artifacts, and a batch of 224²
// pixels in → unit-length features out. The same code embeds in a Node worker and in the compute
// page (which is sent the artifacts), so both produce the library's feature.
import { FEATURE, backboneId, extractFeatures, layerDims, mobilenetFromArtifacts, scalePixels, type BackboneArtifacts, type BackboneSpec, type FeatureSpec, type RegionSpec, type Tf } from './backbone.ts'
import { fuseBackbone } from './fused-backbone.ts'
import { regionFeatureModel } from './region-feature.ts'
import { MODEL_INPUT_SIZE } from '../types.ts'

export interface FeatureExtractor {
  readonly backboneId: string
  readonly dim: number
  /** Features of 224² RGB pixel buffers (row-major HWC), same order. */
  embed(inputs: readonly Uint8Array[]): Promise<Float32Array[]>
  dispose(): void
}

/** Builds the extractor on tf's active backend (its weights live there). `artifacts` are spec.network's. */
export async function createFeatureExtractor(tf: Tf, artifacts: BackboneArtifacts, spec: FeatureSpec = FEATURE): Promise<FeatureExtractor> {
  return spec.network === 'mobilenet_v2_mid' ? regionExtractor(tf, artifacts, spec) : pooledExtractor(tf, artifacts, spec)
}

async function pooledExtractor(tf: Tf, artifacts: BackboneArtifacts, spec: BackboneSpec): Promise<FeatureExtractor> {
  const mobilenet = await mobilenetFromArtifacts(tf, artifacts)
  // Conv + batch norm + ReLU6 folded into single ops: same features, ~2.4× less CPU on wasm.
  const backbone = fuseBackbone(tf, mobilenet, spec.layers)
  const dim = layerDims(mobilenet, spec).reduce((a, b) => a + b, 0)
  return {
    backboneId: backboneId(spec),
    dim,
    embed: (inputs) => extractFeatures(tf, backbone, spec, inputs, MODEL_INPUT_SIZE),
    dispose() {
      backbone.dispose()
      mobilenet.dispose()
    },
  }
}

async function regionExtractor(tf: Tf, artifacts: BackboneArtifacts, spec: RegionSpec): Promise<FeatureExtractor> {
  const model = await regionFeatureModel(tf, artifacts, spec)
  const size = MODEL_INPUT_SIZE
  return {
    backboneId: backboneId(spec),
    dim: model.dim,
    async embed(inputs) {
      if (inputs.length === 0) return []
      // Every intermediate tensor is released: on wasm one leaked tensor per batch exhausts the heap.
      const features = tf.tidy(() => model.features(tf.tensor4d(scalePixels(inputs, size, '[0,1]'), [inputs.length, size, size, 3])))
      try {
        const flat = (await features.data()) as Float32Array
        return inputs.map((_, i) => flat.slice(i * model.dim, (i + 1) * model.dim))
      } finally {
        features.dispose()
      }
    },
    dispose: () => model.dispose(),
  }
}
