// What the fine-tuned model reads per photo: the cached `block_15_add` activation map and the
// library's own pooled feature (block_13_expand_relu, unit length), from one backbone pass.
import type * as tfType from '@tensorflow/tfjs'
import { BACKBONE, scalePixels } from '../embed/backbone.ts'
import { loadMobilenet } from '../embed/backbone-files.ts'
import { fuseBackbone, type FusedBackbone } from '../embed/fused-backbone.ts'
import { decodePhoto } from '../library/decode.ts'
import { MODEL_INPUT_SIZE } from '../types.ts'
import { FINETUNE_LAYER, finetuneInputs, pretrainedTail, type Tail } from '../dpq/finetune.ts'
import { tf } from '../dpq/tf.ts'
import { ensureBackend } from './backend.ts'

export interface ActivationExtractor {
  /** Pretrained block_16 + Conv_1, where fine-tuning starts. */
  tail: Tail
  /** Model inputs ([map | pooled feature]) of 224² RGB pixel buffers. */
  fromPixels(inputs: readonly Uint8Array[]): Promise<Float32Array[]>
  /** Model inputs of photo files (or bytes); a photo that fails to decode throws with its path. */
  fromPhotos(paths: readonly (string | Buffer)[], onProgress?: (done: number, total: number) => void): Promise<Float32Array[]>
  dispose(): void
}

export async function createActivationExtractor(): Promise<ActivationExtractor> {
  await ensureBackend()
  if (BACKBONE.layers.length !== 1) throw new Error('fine-tuning expects a single-layer library feature')
  const mobilenet = await loadMobilenet(tf)
  const tail = pretrainedTail(mobilenet)
  const backbone: FusedBackbone = fuseBackbone(tf, mobilenet, [BACKBONE.layers[0], FINETUNE_LAYER])
  const size = MODEL_INPUT_SIZE

  const fromPixels = async (inputs: readonly Uint8Array[]): Promise<Float32Array[]> => {
    const out: Float32Array[] = []
    for (let s = 0; s < inputs.length; s += 16) {
      const part = inputs.slice(s, s + 16)
      const [pooled, maps] = tf.tidy(() => {
        const [early, late] = backbone.maps(tf.tensor4d(scalePixels(part, size, BACKBONE.range), [part.length, size, size, 3]))
        const p = tf.mean(early, [1, 2]) as tfType.Tensor2D
        // The library's stored feature is unit length: the fine-tuned model must read the same.
        return [tf.div(p, tf.maximum(tf.norm(p, 'euclidean', 1, true), 1e-12)), late.reshape([part.length, -1])]
      })
      const p = (await pooled.data()) as Float32Array
      const m = (await maps.data()) as Float32Array
      tf.dispose([pooled, maps])
      const pd = p.length / part.length
      const md = m.length / part.length
      out.push(...finetuneInputs(part.map((_, i) => m.slice(i * md, (i + 1) * md)), part.map((_, i) => p.slice(i * pd, (i + 1) * pd))))
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
    },
  }
}
