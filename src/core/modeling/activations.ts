// What the fine-tuned model reads per photo: the cached activation map where the pretrained tail
// starts, and the library's own stored feature. For the region feature both come from one pass
// through the width-1.4 MobileNetV2; the legacy feature's tail reads the first MobileNetV2.
import type * as tfType from '@tensorflow/tfjs'
import { FEATURE, LEGACY_FEATURE, scalePixels, type FeatureSpec } from '../embed/backbone.ts'
import { loadMobilenet, readBackboneArtifacts } from '../embed/backbone-files.ts'
import { createFeatureExtractor } from '../embed/feature-extractor.ts'
import { fuseBackbone } from '../embed/fused-backbone.ts'
import { regionFeatureModel } from '../embed/region-feature.ts'
import { decodePhoto } from '../library/decode.ts'
import { MODEL_INPUT_SIZE } from '../types.ts'
import { finetuneInputs, pretrainedLegacyTail, pretrainedRegionTail, tailSpecFor, type Tail, type TailSpec } from '../dpq/finetune.ts'
import { tf } from '../dpq/tf.ts'
import { ensureBackend } from './backend.ts'

export interface ActivationExtractor {
  /** The pretrained last block + Conv_1, where fine-tuning starts. */
  tail: Tail
  /** Model inputs ([map | library feature]) of 224² RGB pixel buffers. */
  fromPixels(inputs: readonly Uint8Array[]): Promise<Float32Array[]>
  /** Model inputs of photo files (or bytes); a photo that fails to decode throws with its path. */
  fromPhotos(paths: readonly (string | Buffer)[], onProgress?: (done: number, total: number) => void): Promise<Float32Array[]>
  dispose(): void
}

/** A batch's maps (flat, [batch · map size]) and stored features. */
interface MapReader {
  tail: Tail
  read(pixels: readonly Uint8Array[]): Promise<{ maps: Float32Array; pooled: Float32Array[] }>
  dispose(): void
}

/**
 * `feature`: the stored feature the model reads beside the map (default the library's; an older one
 * during a feature upgrade). `tail`: which network's tail (default the feature's own; a model trained
 * before the region feature had its own tail reads the legacy one).
 */
export async function createActivationExtractor(feature: FeatureSpec = FEATURE, tailSpec: TailSpec = tailSpecFor(feature)): Promise<ActivationExtractor> {
  await ensureBackend()
  const reader = tailSpec.network === 'mobilenet_v2_mid' ? await regionReader(feature, tailSpec) : await legacyReader(feature, tailSpec)
  const { tail } = reader

  const fromPixels = async (inputs: readonly Uint8Array[]): Promise<Float32Array[]> => {
    const out: Float32Array[] = []
    for (let s = 0; s < inputs.length; s += 16) {
      const part = inputs.slice(s, s + 16)
      const { maps, pooled } = await reader.read(part)
      const md = maps.length / part.length
      out.push(...finetuneInputs(tail.spec, part.map((_, i) => maps.slice(i * md, (i + 1) * md)), pooled))
    }
    return out
  }

  return {
    tail,
    fromPixels,
    async fromPhotos(paths, onProgress) {
      const out: Float32Array[] = []
      for (let s = 0; s < paths.length; s += 16) {
        const part = paths.slice(s, s + 16)
        const pixels = await Promise.all(
          part.map((p) =>
            decodePhoto(p, feature.framing).then(
              (d) => d.modelInput as Uint8Array,
              (err: Error) => {
                throw new Error(`cannot decode ${typeof p === 'string' ? p : 'photo bytes'}: ${err.message}`)
              },
            ),
          ),
        )
        out.push(...(await fromPixels(pixels)))
        onProgress?.(out.length, paths.length)
      }
      return out
    },
    dispose: () => reader.dispose(),
  }
}

/** The width-1.4 network's map and the region feature, from one pass. */
async function regionReader(feature: FeatureSpec, spec: TailSpec): Promise<MapReader> {
  if (feature.network !== 'mobilenet_v2_mid') throw new Error(`the ${spec.layer} tail reads the region feature's network, not ${feature.network}`)
  const model = await regionFeatureModel(tf, readBackboneArtifacts(spec.network), feature, [spec.layer])
  const size = MODEL_INPUT_SIZE
  return {
    tail: pretrainedRegionTail(model.network.weight),
    async read(part) {
      const { features, maps } = tf.tidy(() => {
        const out = model.featuresWithMaps(tf.tensor4d(scalePixels(part, size, '[0,1]'), [part.length, size, size, 3]))
        return { features: out.features, maps: out.maps[0].reshape([part.length, -1]) as tfType.Tensor2D }
      })
      try {
        const flat = (await features.data()) as Float32Array
        return { maps: (await maps.data()) as Float32Array, pooled: part.map((_, i) => flat.slice(i * model.dim, (i + 1) * model.dim)) }
      } finally {
        tf.dispose([features, maps])
      }
    },
    dispose: () => model.dispose(),
  }
}

/** The first MobileNetV2's map; the stored feature computed the way the indexer computes it. */
async function legacyReader(feature: FeatureSpec, spec: TailSpec): Promise<MapReader> {
  const mobilenet = await loadMobilenet(tf)
  const backbone = fuseBackbone(tf, mobilenet, [spec.layer])
  const library = await createFeatureExtractor(tf, readBackboneArtifacts(feature.network), feature)
  const size = MODEL_INPUT_SIZE
  return {
    tail: pretrainedLegacyTail(mobilenet),
    async read(part) {
      const maps = tf.tidy(() => {
        const [late] = backbone.maps(tf.tensor4d(scalePixels(part, size, LEGACY_FEATURE.range), [part.length, size, size, 3]))
        return late.reshape([part.length, -1]) as tfType.Tensor2D
      })
      const flat = (await maps.data()) as Float32Array
      tf.dispose(maps)
      return { maps: flat, pooled: await library.embed(part) }
    },
    dispose() {
      backbone.dispose()
      mobilenet.dispose()
      library.dispose()
    },
  }
}
