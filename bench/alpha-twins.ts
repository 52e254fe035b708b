// Does a photo saved with an alpha channel still find its JPEG twin first? For each of N COCO
// photos, an opaque RGBA PNG copy is the query; the library is every photo's JPEG plus the other
// copies. Exact cosine search on the backbone feature, with the shipped decode and with the
// decode as it was before the alpha fix (sharp's output info fed back as raw-input options).
// usage: tsx bench/alpha-twins.ts [n=10] [folder=../shared/datasets/coco256/images/train2017]
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import sharp from 'sharp'
import { createInProcessEmbedder } from '../src/core/embed/in-process.ts'
import { decodePhoto, THUMBNAIL_SIZE } from '../src/core/library/decode.ts'
import { MODEL_INPUT_SIZE } from '../src/core/types.ts'

const n = Number(process.argv[2] ?? 10)
const folder = process.argv[3] ?? join(import.meta.dirname, '..', '..', 'shared', 'datasets', 'coco256', 'images', 'train2017')

/** The decode before the fix, kept here only to measure what it did. */
async function previousModelInput(bytes: Buffer): Promise<Uint8Array> {
  const working = await sharp(bytes)
    .rotate()
    .resize(THUMBNAIL_SIZE, THUMBNAIL_SIZE, { fit: 'outside', withoutEnlargement: true })
    .removeAlpha()
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true })
  const out = await sharp(working.data, { raw: working.info }).resize(MODEL_INPUT_SIZE, MODEL_INPUT_SIZE, { fit: 'cover' }).raw().toBuffer()
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength)
}

const files = readdirSync(folder).filter((f) => f.endsWith('.jpg')).sort().slice(0, n)
const jpegs = files.map((f) => readFileSync(join(folder, f)))
const rgba = await Promise.all(jpegs.map((j) => sharp(j).ensureAlpha(1).png().toBuffer()))
const embedder = await createInProcessEmbedder({ backend: 'wasm' })
const cosine = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + v * b[i], 0)

async function twinsFoundFirst(decode: (bytes: Buffer) => Promise<Uint8Array>): Promise<number> {
  const library = await embedder.embed(await Promise.all(jpegs.map(decode)))
  const copies = await embedder.embed(await Promise.all(rgba.map(decode)))
  let found = 0
  for (let q = 0; q < n; q++) {
    const candidates = [...library.map((f, i) => ({ key: `jpeg${i}`, f })), ...copies.map((f, i) => ({ key: `copy${i}`, f })).filter((c) => c.key !== `copy${q}`)]
    const best = candidates.reduce((a, b) => (cosine(copies[q], a.f) >= cosine(copies[q], b.f) ? a : b))
    if (best.key === `jpeg${q}`) found++
  }
  return found
}

const before = await twinsFoundFirst(previousModelInput)
const after = await twinsFoundFirst(async (bytes) => (await decodePhoto(bytes)).modelInput)
await embedder.close()
console.log(JSON.stringify({ bench: 'alpha-twins', photos: n, twinFoundFirst: { previousDecode: before, shippedDecode: after } }))
