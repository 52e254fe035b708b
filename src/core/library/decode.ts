// One decode per photo: libjpeg's shrink-on-load brings the image down to a working size once,
// and both the thumbnail and the backbone's input are cut from that small raw buffer.
import sharp from 'sharp'
import { MODEL_INPUT_SIZE, type ModelInput } from '../types.ts'

/** Long side of a thumbnail, px. */
export const THUMBNAIL_SIZE = 320
/** Refuse images above this many pixels (decompression bombs); sharp's own default is 268 MP. */
export const MAX_INPUT_PIXELS = 200_000_000

export interface DecodedPhoto {
  /** Size as the user sees it (after EXIF orientation). */
  width: number
  height: number
  /** EXIF orientation tag (1–8), or null when absent. */
  orientation: number | null
  /** JPEG, long side THUMBNAIL_SIZE (never enlarged), orientation applied. */
  thumbnail: Buffer
  modelInput: ModelInput
}

export async function decodePhoto(input: string | Buffer): Promise<DecodedPhoto> {
  const source = sharp(input, { limitInputPixels: MAX_INPUT_PIXELS, failOn: 'error', sequentialRead: true })
  const meta = await source.metadata()
  const swap = (meta.orientation ?? 1) >= 5
  const width = (swap ? meta.height : meta.width) ?? 0
  const height = (swap ? meta.width : meta.height) ?? 0
  // Short side ≥ THUMBNAIL_SIZE so both cuts below only ever shrink.
  const working = await source
    .rotate()
    .resize(THUMBNAIL_SIZE, THUMBNAIL_SIZE, { fit: 'outside', withoutEnlargement: true })
    .removeAlpha()
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true })
  const raw = () => sharp(working.data, { raw: working.info })
  const [thumbnail, modelInput] = await Promise.all([
    raw().resize(THUMBNAIL_SIZE, THUMBNAIL_SIZE, { fit: 'inside', withoutEnlargement: true }).jpeg({ quality: 82, mozjpeg: false }).toBuffer(),
    raw().resize(MODEL_INPUT_SIZE, MODEL_INPUT_SIZE, { fit: 'cover' }).raw().toBuffer(),
  ])
  return { width, height, orientation: meta.orientation ?? null, thumbnail, modelInput: new Uint8Array(modelInput.buffer, modelInput.byteOffset, modelInput.byteLength) }
}
