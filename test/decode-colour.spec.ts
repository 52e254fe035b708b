// The same picture in every format a library holds must reach the backbone and the thumbnail
// with the same colours: alpha, grey, 16-bit, CMYK and lossy codecs may not tint it.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp from 'sharp'
import { afterAll, describe, expect, it } from 'vitest'
import { indexRoot } from '../src/core/library/indexer.ts'
import { openDb } from '../src/core/store/db.ts'
import { getFeature, putFeatures } from '../src/core/store/features.ts'
import type { Embedder } from '../src/core/types.ts'
import { DECODE_VERSION, decodePhoto, THUMBNAIL_SIZE, TRANSPARENT_BACKGROUND } from '../src/core/library/decode.ts'
import { backboneId } from '../src/core/embed/backbone.ts'

const WIDTH = 480
const HEIGHT = 360

/** Flat colour patches (3 × 4), larger than a thumbnail, so lossy codecs keep their colour. */
function patches(): Buffer {
  const colours = ['#d62828', '#fcbf49', '#2a9d8f', '#1d3557', '#8ac926', '#ff66c4', '#6a4c93', '#eeeeee', '#111111', '#e76f51', '#a8dadc', '#3a0ca3']
  const w = WIDTH / 4
  const h = HEIGHT / 3
  const rects = colours.map((c, i) => `<rect x="${(i % 4) * w}" y="${Math.floor(i / 4) * h}" width="${w}" height="${h}" fill="${c}"/>`)
  return Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}">${rects.join('')}</svg>`)
}

async function rgb(): Promise<Buffer> {
  return sharp(patches()).removeAlpha().png().toBuffer()
}

async function cmyk(): Promise<Buffer> {
  return sharp(await rgb()).toColourspace('cmyk').withIccProfile('cmyk').jpeg({ quality: 95 }).toBuffer()
}

/** The picture with alpha 0.5 everywhere: over the background it must look like `flattened`. */
async function halfTransparent(): Promise<Buffer> {
  const { data, info } = await sharp(await rgb()).ensureAlpha().raw().toBuffer({ resolveWithObject: true })
  for (let i = 3; i < data.length; i += 4) data[i] = 128
  return sharp(data, { raw: { width: info.width, height: info.height, channels: 4 } }).png().toBuffer()
}

/** Mean absolute difference and the largest mean signed shift of one channel (a tint). */
function compare(a: Uint8Array, b: Uint8Array, channels: number): { meanAbs: number; tint: number } {
  expect(a.length).toBe(b.length)
  let abs = 0
  const shift = new Array<number>(channels).fill(0)
  for (let i = 0; i < a.length; i++) {
    abs += Math.abs(a[i] - b[i])
    shift[i % channels] += a[i] - b[i]
  }
  const perChannel = a.length / channels
  return { meanAbs: abs / a.length, tint: Math.max(...shift.map((s) => Math.abs(s / perChannel))) }
}

async function thumbnailPixels(jpeg: Buffer): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await sharp(jpeg).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true })
  return { data, width: info.width, height: info.height }
}

describe('decoding keeps colours across formats', () => {
  const cases: { name: string; make: () => Promise<Buffer>; reference: () => Promise<Buffer>; tolerance?: number }[] = [
    { name: 'RGB PNG', make: rgb, reference: async () => sharp(await rgb()).jpeg({ quality: 95 }).toBuffer() },
    { name: 'RGBA PNG, opaque', make: async () => sharp(await rgb()).ensureAlpha(1).png().toBuffer(), reference: async () => sharp(await rgb()).jpeg({ quality: 95 }).toBuffer() },
    {
      name: 'RGBA PNG, half transparent',
      make: halfTransparent,
      reference: async () => sharp(await halfTransparent()).flatten({ background: TRANSPARENT_BACKGROUND }).jpeg({ quality: 95 }).toBuffer(),
    },
    { name: 'grey PNG', make: async () => sharp(await rgb()).greyscale().png().toBuffer(), reference: async () => sharp(await rgb()).greyscale().jpeg({ quality: 95 }).toBuffer() },
    {
      name: 'grey + alpha PNG',
      make: async () => sharp(await rgb()).greyscale().ensureAlpha(1).png().toBuffer(),
      reference: async () => sharp(await rgb()).greyscale().jpeg({ quality: 95 }).toBuffer(),
    },
    { name: '16-bit PNG', make: async () => sharp(await rgb()).toColourspace('rgb16').png().toBuffer(), reference: async () => sharp(await rgb()).jpeg({ quality: 95 }).toBuffer() },
    // CMYK as print workflows write it, profile embedded. A press gamut cannot hold every colour of
    // the patches, so the reference is the same file converted to sRGB on its own.
    { name: 'CMYK JPEG', make: cmyk, reference: async () => sharp(await cmyk()).toColourspace('srgb').jpeg({ quality: 95 }).toBuffer() },
    { name: 'WebP', make: async () => sharp(await rgb()).webp({ quality: 90 }).toBuffer(), reference: async () => sharp(await rgb()).jpeg({ quality: 95 }).toBuffer() },
    { name: 'WebP with alpha', make: async () => sharp(await halfTransparent()).webp({ quality: 90, alphaQuality: 100 }).toBuffer(), reference: async () => sharp(await halfTransparent()).flatten({ background: TRANSPARENT_BACKGROUND }).jpeg({ quality: 95 }).toBuffer() },
    { name: 'AVIF with alpha', make: async () => sharp(await halfTransparent()).avif({ quality: 80 }).toBuffer(), reference: async () => sharp(await halfTransparent()).flatten({ background: TRANSPARENT_BACKGROUND }).jpeg({ quality: 95 }).toBuffer() },
  ]

  for (const c of cases) {
    it(`${c.name}: model input and thumbnail match the JPEG's colours`, async () => {
      const [decoded, reference] = await Promise.all([decodePhoto(await c.make()), decodePhoto(await c.reference())])
      const tolerance = c.tolerance ?? 6
      const input = compare(decoded.modelInput, reference.modelInput, 3)
      expect(input.meanAbs, `model input of ${c.name}`).toBeLessThan(tolerance)
      expect(input.tint, `model input tint of ${c.name}`).toBeLessThan(tolerance / 2 + 1)
      const [thumb, refThumb] = await Promise.all([thumbnailPixels(decoded.thumbnail), thumbnailPixels(reference.thumbnail)])
      expect([thumb.width, thumb.height]).toEqual([THUMBNAIL_SIZE, (THUMBNAIL_SIZE * HEIGHT) / WIDTH])
      expect([thumb.width, thumb.height]).toEqual([refThumb.width, refThumb.height])
      const t = compare(thumb.data, refThumb.data, 3)
      expect(t.meanAbs, `thumbnail of ${c.name}`).toBeLessThan(tolerance)
      expect(t.tint, `thumbnail tint of ${c.name}`).toBeLessThan(tolerance / 2 + 1)
    })
  }

  it('the decode version is part of the backbone id, so features from an older decode are recomputed', () => {
    expect(backboneId()).toContain(`:decode${DECODE_VERSION}`)
    expect(DECODE_VERSION).toBeGreaterThanOrEqual(2)
  })
})

describe('re-indexing after a decode fix', () => {
  const base = mkdtempSync(join(tmpdir(), 'lookalike-decode-'))
  afterAll(() => rmSync(base, { recursive: true, force: true }))

  /** A stand-in backbone: the mean of each colour channel (what the wash shifted). */
  const meanColour: Embedder = {
    backboneId: backboneId(),
    backend: 'cpu',
    dim: 3,
    async embed(inputs) {
      return inputs.map((pixels) => {
        const sum = [0, 0, 0]
        for (let i = 0; i < pixels.length; i++) sum[i % 3] += pixels[i]
        return new Float32Array(sum.map((s) => s / (pixels.length / 3)))
      })
    },
    async close() {},
  }

  it('recomputes features stored by the older decode instead of mixing them in', async () => {
    const photos = join(base, 'photos')
    mkdirSync(photos, { recursive: true })
    writeFileSync(join(photos, 'twin.png'), await halfTransparent())
    writeFileSync(join(photos, 'twin.jpg'), await sharp(await halfTransparent()).flatten({ background: TRANSPARENT_BACKGROUND }).jpeg({ quality: 95 }).toBuffer())
    const db = openDb(join(base, 'lib.sqlite'))
    try {
      const thumbnailDir = join(base, 'lib.sqlite.thumbnails')
      await indexRoot(db, photos, { thumbnailDir, embedder: meanColour })
      const hashes = db.prepare<[], { relPath: string; hash: string }>('SELECT rel_path AS relPath, hash FROM photos ORDER BY rel_path').all()
      const png = hashes.find((h) => h.relPath === 'twin.png')!.hash
      const jpeg = hashes.find((h) => h.relPath === 'twin.jpg')!.hash
      // The library as the older decode left it: this photo's feature under the previous id only.
      const previous = backboneId().replace(`:decode${DECODE_VERSION}`, `:decode${DECODE_VERSION - 1}`)
      const washed = new Float32Array([255, 240, 128])
      db.prepare('DELETE FROM features WHERE hash = ?').run(png)
      putFeatures(db, previous, [{ hash: png, vector: washed }])

      const summary = await indexRoot(db, photos, { thumbnailDir, embedder: meanColour })
      expect(summary.indexed).toBe(1)
      const now = getFeature(db, png, backboneId())!
      expect(now).not.toBeNull()
      const twin = getFeature(db, jpeg, backboneId())!
      for (let c = 0; c < 3; c++) expect(Math.abs(now[c] - twin[c])).toBeLessThan(3)
      expect(getFeature(db, png, previous)).toEqual(washed) // kept apart under its own id, never read
    } finally {
      db.close()
    }
  })
})
