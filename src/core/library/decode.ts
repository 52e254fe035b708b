// One decode per photo: libjpeg's shrink-on-load brings the image down to a working size once,
// and both the thumbnail and the backbone's input are cut from that small raw buffer.
import sharp, { type Sharp } from 'sharp'
import { FEATURE } from '../embed/backbone.ts'
import { MODEL_INPUT_SIZE, type Framing, type ModelInput } from '../types.ts'

/** Long side of a thumbnail, px. */
export const THUMBNAIL_SIZE = 320
/** Refuse images above this many pixels (decompression bombs); sharp's own default is 268 MP. */
export const MAX_INPUT_PIXELS = 200_000_000
export { DECODE_VERSION } from './decode-version.ts'
/** Transparent pixels are shown (and embedded) over white, as an image viewer shows them. */
export const TRANSPARENT_BACKGROUND = '#ffffff'
/** Letterbox bars in the mean colour of the photos the backbone was trained on. */
export const LETTERBOX_BACKGROUND = { r: 124, g: 116, b: 104 }


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

/** `framing`: how the model input holds the photo (the feature's: backbone.ts framingOf; default the stored feature's). */
export async function decodePhoto(input: string | Buffer, framing: Framing = FEATURE.framing): Promise<DecodedPhoto> {
  const source = sharp(input, { limitInputPixels: MAX_INPUT_PIXELS, failOn: 'error', sequentialRead: true })
  const meta = await source.metadata()
  const swap = (meta.orientation ?? 1) >= 5
  const width = (swap ? meta.height : meta.width) ?? 0
  const height = (swap ? meta.width : meta.height) ?? 0
  const { raw } = await workingImage(source)
  const [thumbnail, modelInput] = await Promise.all([
    raw().resize(THUMBNAIL_SIZE, THUMBNAIL_SIZE, { fit: 'inside', withoutEnlargement: true }).jpeg({ quality: 82, mozjpeg: false }).toBuffer(),
    raw()
      .resize(MODEL_INPUT_SIZE, MODEL_INPUT_SIZE, framing === 'letterbox' ? { fit: 'contain', background: LETTERBOX_BACKGROUND } : { fit: 'cover' })
      .raw()
      .toBuffer(),
  ])
  return { width, height, orientation: meta.orientation ?? null, thumbnail, modelInput: new Uint8Array(modelInput.buffer, modelInput.byteOffset, modelInput.byteLength) }
}

/**
 * The photo brought down to a working size once (short side ≥ THUMBNAIL_SIZE, so every cut from it
 * only shrinks; never enlarged), orientation applied, transparency over TRANSPARENT_BACKGROUND, sRGB.
 * `raw()` starts a new sharp pipeline over its pixels for each cut.
 */
export async function workingImage(source: Sharp): Promise<{ width: number; height: number; raw: () => Sharp }> {
  const { data, info } = await source
    .rotate()
    .resize(THUMBNAIL_SIZE, THUMBNAIL_SIZE, { fit: 'outside', withoutEnlargement: true })
    .flatten({ background: TRANSPARENT_BACKGROUND })
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true })
  // Only the buffer's shape: sharp's output info says `premultiplied` after resizing an image with
  // alpha, and fed back as input options that would "unpremultiply" opaque RGB into a colour wash.
  const { width, height, channels } = info
  return { width, height, raw: () => sharp(data, { raw: { width, height, channels } }) }
}
