// Why a file could not be indexed, in words a user understands.
import sharp from 'sharp'
import { MAX_INPUT_PIXELS } from './decode.ts'
import { statError } from './scan.ts'

/** Mostly printable ASCII/UTF-8 with no NUL bytes: a text file wearing an image extension. */
function looksLikeText(head: Buffer): boolean {
  if (head.length === 0) return false
  let printable = 0
  for (const byte of head) {
    if (byte === 0) return false
    if (byte === 9 || byte === 10 || byte === 13 || (byte >= 32 && byte < 127) || byte >= 128) printable++
  }
  return printable / head.length > 0.95
}

/** The header alone: format and claimed size, or null when it cannot be parsed at all. */
async function header(file: Buffer): Promise<{ format?: string; width?: number; height?: number } | null> {
  try {
    return await sharp(file, { limitInputPixels: false }).metadata()
  } catch {
    return null
  }
}

/**
 * The reason for a decode failure of these bytes. Decided from the bytes themselves, not from
 * libvips' message: that is technical and, under concurrent decodes, not even stable.
 */
export async function decodeFailure(err: unknown, file: Buffer): Promise<string> {
  const meta = await header(file)
  if (meta?.width && meta.height && meta.width * meta.height > MAX_INPUT_PIXELS) {
    return `image too large (${meta.width}×${meta.height} px; limit ${MAX_INPUT_PIXELS / 1_000_000} MP)`
  }
  const message = err instanceof Error ? err.message : String(err)
  if (!meta?.format || /unsupported image format/i.test(message)) {
    if (looksLikeText(file.subarray(0, 512))) return 'not an image (looks like text)'
    if (!meta && !imageSignature(file)) return 'not an image (unrecognised format)'
  }
  return `truncated or corrupt image: ${endsEarly(file) ? 'file ends early' : 'damaged image data'}`
}

/** Starts like an image file (JPEG, PNG, GIF, WebP, TIFF, AVIF/HEIF), even if what follows is damaged. */
function imageSignature(file: Buffer): boolean {
  const ascii = (from: number, to: number) => file.subarray(from, to).toString('latin1')
  return (
    (file[0] === 0xff && file[1] === 0xd8) ||
    ascii(1, 4) === 'PNG' ||
    ascii(0, 4) === 'GIF8' ||
    (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') ||
    ascii(0, 4) === 'II*\0' ||
    ascii(0, 4) === 'MM\0*' ||
    ascii(4, 8) === 'ftyp'
  )
}

/** A JPEG without its end-of-image marker, or a PNG without IEND: the file was cut short. */
function endsEarly(file: Buffer): boolean {
  const tail = file.subarray(Math.max(0, file.length - 32))
  if (file[0] === 0xff && file[1] === 0xd8) return tail.indexOf(Buffer.from([0xff, 0xd9])) < 0
  if (file.subarray(1, 4).toString('latin1') === 'PNG') return tail.indexOf('IEND', 0, 'latin1') < 0
  return false
}

/** The reason for a failure to read a file (permissions, vanished, loop). */
export function readFailure(err: unknown): string {
  return statError(err)
}
