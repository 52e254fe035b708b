// What the fine-tuned model reads per photo: the cached `block_15_add` activation map of the
// first MobileNetV2 (where its pretrained tail starts) and the library's own stored feature.
import type * as tfType from '@tensorflow/tfjs'
import { FEATURE, LEGACY_FEATURE, scalePixels, type FeatureSpec } from '../embed/backbone.ts'
import { loadMobilenet, readBackboneArtifacts } from '../embed/backbone-files.ts'
import { createFeatureExtractor } from '../embed/feature-extractor.ts'
import { fuseBackbone, type FusedBackbone } from '../embed/fused-backbone.ts'
import { decodePhoto } from '../library/decode.ts'
import { MODEL_INPUT_SIZE } from '../types.ts'
import { FINETUNE_LAYER, finetuneInputs, pretrainedTail, type Tail } from '../dpq/finetune.ts'
import { tf } from '../dpq/tf.ts'
import { ensureBackend } from './backend.ts'

export interface ActivationExtractor {
  /** Pretrained block_16 + Conv_1, where fine-tuning starts. */
  tail: Tail
  /** Model inputs ([map | library feature]) of 224² RGB pixel buffers. */
  fromPixels(inputs: readonly Uint8Array[]): Promise<Float32Array[]>
  /** Model inputs of photo files (or bytes); a photo that fails to decode throws with its path. */
  fromPhotos(paths: readonly (string | Buffer)[], onProgress?: (done: number, total: number) => void): Promise<Float32Array[]>
  dispose(): void
}

/** `feature`: the stored feature the model reads beside the map (default the library's; an older one during a feature upgrade). */
export async function createActivationExtractor(feature: FeatureSpec = FEATURE): Promise<ActivationExtractor> {
  await ensureBackend()
  const mobilenet = await loadMobilenet(tf)
  const tail = pretrainedTail(mobilenet)
  const backbone: FusedBackbone = fuseBackbone(tf, mobilenet, [FINETUNE_LAYER])
  // The library's stored feature, computed the same way the indexer computes it.
  const library = await createFeatureExtractor(tf, readBackboneArtifacts(feature.network), feature)
  const size = MODEL_INPUT_SIZE

  const fromPixels = async (inputs: readonly Uint8Array[]): Promise<Float32Array[]> => {
    const out: Float32Array[] = []
    for (let s = 0; s < inputs.length; s += 16) {
      const part = inputs.slice(s, s + 16)
      const maps = tf.tidy(() => {
        const [late] = backbone.maps(tf.tensor4d(scalePixels(part, size, LEGACY_FEATURE.range), [part.length, size, size, 3]))
        return late.reshape([part.length, -1]) as tfType.Tensor2D
      })
      const m = (await maps.data()) as Float32Array
      tf.dispose(maps)
      const pooled = await library.embed(part)
      const md = m.length / part.length
      out.push(...finetuneInputs(part.map((_, i) => m.slice(i * md, (i + 1) * md)), pooled))
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
            decodePhoto(p).then(
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
    dispose() {
      backbone.dispose()
      mobilenet.dispose()
      library.dispose()
    },
  }
}
