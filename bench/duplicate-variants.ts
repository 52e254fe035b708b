// The duplicate benchmark's photos: originals drawn from real photo folders, each re-saved the ways
// messengers, editors and exports re-save a photo, plus distinct photos as distractors. File names
// carry the truth: `o00012.jpg` is an original, `o00012~jpeg30.jpg` one of its variants,
// `d00034.jpg` a distractor. Existing files are kept, so a rerun only indexes again.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { extname, join } from 'node:path'
import sharp from 'sharp'

/** How each variant is made from its original. */
export const VARIANT_KINDS = ['jpeg30', 'jpeg60', 'jpeg95', 'resize25', 'resize50', 'resize75', 'crop5', 'crop10', 'color', 'exif', 'png', 'webp'] as const
export type VariantKind = (typeof VARIANT_KINDS)[number]

export interface BenchPhoto {
  file: string
  /** The original it was made from (itself for an original); null for a distractor. */
  original: string | null
  kind: VariantKind | 'original' | 'distractor'
}

/** Every image file under the given folders, sorted, so draws are the same on every machine. */
export function listImages(folders: readonly string[]): string[] {
  const out: string[] = []
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) walk(path)
      else if (/\.(jpe?g|png|webp)$/i.test(entry.name)) out.push(path)
    }
  }
  for (const folder of folders) if (existsSync(folder)) walk(folder)
  return out
}

/** Every n-th of `items`, starting at `offset`, `count` of them. */
function spread<T>(items: readonly T[], count: number, offset: number): T[] {
  const step = items.length / count
  return Array.from({ length: count }, (_, i) => items[Math.floor(offset + i * step) % items.length])
}

/**
 * Writes originals, variants and distractors into `dir` (skipping files already there) and says
 * what each file is. Originals and distractors never share a source photo.
 */
export async function makeBenchPhotos(sources: readonly string[], dir: string, originals: number, distractors: number): Promise<BenchPhoto[]> {
  mkdirSync(dir, { recursive: true })
  const pool = listImages(sources)
  if (pool.length < originals + distractors) throw new Error(`Need ${originals + distractors} source photos, found ${pool.length} in ${sources.join(', ')}`)
  // Interleave the draw so originals and distractors both span every folder.
  const picked = spread(pool, originals + distractors, 0)
  const photos: BenchPhoto[] = []
  for (let i = 0; i < picked.length; i++) {
    const source = picked[i]
    const isOriginal = (i * originals) % picked.length < originals
    const name = isOriginal ? `o${String(i).padStart(5, '0')}` : `d${String(i).padStart(5, '0')}`
    const file = join(dir, `${name}${extname(source).toLowerCase()}`)
    // originals carry EXIF (camera, date), so the stripped variant differs from them
    if (!existsSync(file)) {
      if (isOriginal) writeFileSync(file, await withExif(readFileSync(source)))
      else copyFileSync(source, file)
    }
    if (!isOriginal) {
      photos.push({ file, original: null, kind: 'distractor' })
      continue
    }
    photos.push({ file, original: file, kind: 'original' })
    for (const kind of VARIANT_KINDS) {
      const out = join(dir, `${name}~${kind}${variantExtension(kind)}`)
      if (!existsSync(out) || statSync(out).size === 0) writeFileSync(out, await makeVariant(file, kind))
      photos.push({ file: out, original: file, kind })
    }
  }
  return photos
}

function variantExtension(kind: VariantKind): string {
  return kind === 'png' ? '.png' : kind === 'webp' ? '.webp' : '.jpg'
}

/** One variant's bytes. */
export async function makeVariant(file: string, kind: VariantKind): Promise<Buffer> {
  const image = sharp(file).rotate()
  const { width = 0, height = 0 } = await sharp(file).rotate().metadata()
  switch (kind) {
    case 'jpeg30':
      return image.jpeg({ quality: 30 }).toBuffer()
    case 'jpeg60':
      return image.jpeg({ quality: 60 }).toBuffer()
    case 'jpeg95':
      return image.jpeg({ quality: 95 }).toBuffer()
    case 'resize25':
    case 'resize50':
    case 'resize75': {
      const scale = Number(kind.slice(6)) / 100
      return image.resize(Math.max(16, Math.round(width * scale))).jpeg({ quality: 85 }).toBuffer()
    }
    case 'crop5':
    case 'crop10': {
      // Off-centre on purpose: the crop takes from the left and top edges only.
      const share = Number(kind.slice(4)) / 100
      const left = Math.round(width * share)
      const top = Math.round(height * share)
      return image.extract({ left, top, width: width - left, height: height - top }).jpeg({ quality: 90 }).toBuffer()
    }
    case 'color':
      // +8 % brightness, contrast ×1.1 around mid-grey
      return image.modulate({ brightness: 1.08 }).linear(1.1, -12.8).jpeg({ quality: 90 }).toBuffer()
    case 'exif':
      return stripMetadata(readFileSync(file))
    case 'png':
      return image.png().toBuffer()
    case 'webp':
      return image.webp({ quality: 80 }).toBuffer()
  }
}

/** A JPEG with an EXIF block (camera and date) added in front of its own segments, pixels untouched. */
export async function withExif(bytes: Buffer): Promise<Buffer> {
  if (bytes[0] !== 0xff || bytes[1] !== 0xd8 || (bytes[2] === 0xff && bytes[3] === 0xe1)) return bytes
  const donor = await sharp({ create: { width: 2, height: 2, channels: 3, background: '#000' } })
    .jpeg()
    .withExif({ IFD0: { Make: 'Lookalike bench', Model: 'Variant maker', DateTime: '2021:06:01 12:00:00' } })
    .toBuffer()
  if (donor[2] !== 0xff || donor[3] !== 0xe1) return bytes
  const app1 = donor.subarray(2, 4 + donor.readUInt16BE(4))
  return Buffer.concat([bytes.subarray(0, 2), app1, bytes.subarray(2)])
}

/**
 * A JPEG without its APP1 (EXIF/XMP) segments, pixels untouched (no re-encode). Other formats are
 * returned as they are.
 */
export function stripMetadata(bytes: Buffer): Buffer {
  if (bytes[0] !== 0xff || bytes[1] !== 0xd8) return bytes
  const parts: Buffer[] = [bytes.subarray(0, 2)]
  let i = 2
  while (i + 4 <= bytes.length && bytes[i] === 0xff) {
    const marker = bytes[i + 1]
    if (marker === 0xda) break // start of scan: the rest is image data
    const length = bytes.readUInt16BE(i + 2)
    if (marker !== 0xe1) parts.push(bytes.subarray(i, i + 2 + length))
    i += 2 + length
  }
  parts.push(bytes.subarray(i))
  return Buffer.concat(parts)
}
