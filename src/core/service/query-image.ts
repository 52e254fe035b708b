// An image that is not in the library (dropped onto the window, or a CLI path): base64 bytes →
// a backbone feature (the embedder's embedImage), or a fine-tuned model's input row. Bad input is a clear
// bad-request, never a crash.
import { ApiError } from '../../shared/contract.ts'
import { embedImage } from '../embed/embedder.ts'
import type { TailSpec } from '../dpq/tail-spec.ts'
import type { ServiceContext } from './context.ts'

/** Largest image file accepted for a search by image. */
export const MAX_QUERY_IMAGE_BYTES = 64 * 1024 * 1024

const base64 = /^[A-Za-z0-9+/]*={0,2}$/

export function imageBytes(data: string): Buffer {
  const clean = data.replace(/^data:[^,]*;base64,/, '').replace(/\s+/g, '')
  if (clean.length === 0 || clean.length % 4 === 1 || !base64.test(clean)) throw new ApiError('bad-request', 'The image must be sent as base64 of the file’s bytes')
  const size = Math.floor((clean.length * 3) / 4) - (clean.endsWith('==') ? 2 : clean.endsWith('=') ? 1 : 0)
  if (size > MAX_QUERY_IMAGE_BYTES) throw new ApiError('bad-request', `The image is too large (${Math.round(size / 1048576)} MB; the limit is 64 MB)`)
  return Buffer.from(clean, 'base64')
}

/**
 * What the active model reads of the image: the feature of the backbone it was trained on (during a
 * feature upgrade the older one), or [map | feature] when the model is fine-tuned.
 */
export async function featureOfImage(ctx: ServiceContext, data: string, model: { backbone: string; tail: TailSpec | null } | null): Promise<Float32Array> {
  const bytes = imageBytes(data)
  const source = model?.tail ? await ctx.activations(model.backbone, model.tail) : null
  const embedder = source ? null : await ctx.embedderFor(model?.backbone ?? ctx.feature)
  try {
    if (source) return (await source.fromPhotos([bytes]))[0]
    return await embedImage(bytes, embedder!)
  } catch (err) {
    // The embedder itself is up (above), so what fails here is the decode of these bytes.
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err)
    throw new ApiError('bad-request', `Not an image Lookalike can read: ${why}`)
  }
}
