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

async function pixelSize(file: Buffer): Promise<string | null> {
  try {
    const meta = await sharp(file, { limitInputPixels: false }).metadata()
    return meta.width && meta.height ? `${meta.width}×${meta.height} px` : null
  } catch {
    return null
  }
}

/** The reason for a decode failure of these bytes. */
export async function decodeFailure(err: unknown, file: Buffer): Promise<string> {
  const message = err instanceof Error ? err.message : String(err)
  if (/exceeds pixel limit/i.test(message)) {
    const size = await pixelSize(file)
    return `image too large (${size ? `${size}; ` : ''}limit ${MAX_INPUT_PIXELS / 1_000_000} MP)`
  }
  if (/unsupported image format/i.test(message)) {
    return looksLikeText(file.subarray(0, 512)) ? 'not an image (looks like text)' : 'not an image (unrecognised format)'
  }
  // libvips repeats its warnings; the first line says it. Under concurrent decodes its message
  // can be lost ("Unknown error"), so a missing end marker is looked for directly.
  const first = message.split('\n')[0].replace(/^Input (buffer|file) has corrupt header: /, '').replace(/^Vips\w+: /, '')
  if (endsEarly(file)) return 'truncated or corrupt image: file ends early (truncated)'
  return `truncated or corrupt image: ${/^unknown error$/i.test(first) ? 'unreadable image data' : first}`
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
