// How a photo should fill the backbone's square input (docs/backbone.md, "Framing"): the stored
// feature computed from the centre crop, the photo squashed to a square, letterboxed (bars in the
// backbone's mean colour, or black), cropped to at most 1.25 : 1 then letterboxed, and the centre
// crop averaged with its mirror image (two passes). Scored by float cosine about half the set's
// mean, the photo's own feature and neighbour-blended as the unsupervised model encodes it.
// Prints one JSON line per framing.
// usage: tsx bench/framing-study.ts <folder|tsv:FILE> [queriesPerClass]
//   queriesPerClass: the first Q photos per class query the rest; 0 (default for a TSV): every
//   photo queries all the others, relevant = shares a label.
import sharp, { type Sharp } from 'sharp'
import { datasetItems } from './dataset-items.ts'
import { averagePrecision, precisionAt } from '../src/core/dpq/metrics.ts'
import { blendWithNeighbours, NEIGHBOUR_BLEND } from '../src/core/dpq/neighbour-blend.ts'
import { CENTRING } from '../src/core/dpq/unsupervised.ts'
import { createInProcessEmbedder } from '../src/core/embed/in-process.ts'
import { LETTERBOX_BACKGROUND, workingImage } from '../src/core/library/decode.ts'
import { MODEL_INPUT_SIZE as S } from '../src/core/types.ts'

const [source, queriesArg] = process.argv.slice(2)
if (!source) throw new Error('usage: tsx bench/framing-study.ts <folder|tsv:FILE> [queriesPerClass]')
const perClass = Number(queriesArg ?? (source.startsWith('tsv:') ? 0 : 20))
const items = datasetItems(source)

type Working = Awaited<ReturnType<typeof workingImage>>
const bytes = (b: Buffer) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength)
const letterbox = (image: Sharp, background = LETTERBOX_BACKGROUND) => image.resize(S, S, { fit: 'contain', background }).raw().toBuffer()

/** Model inputs of one framing, cut from the decode's own working image (decode.ts workingImage). */
const FRAMINGS: Record<string, (w: Working) => Promise<Buffer>[]> = {
  'centre crop (before)': (w) => [w.raw().resize(S, S, { fit: 'cover' }).raw().toBuffer()],
  squashed: (w) => [w.raw().resize(S, S, { fit: 'fill' }).raw().toBuffer()],
  'letterbox (now)': (w) => [letterbox(w.raw())],
  'letterbox, black bars': (w) => [letterbox(w.raw(), { r: 0, g: 0, b: 0 })],
  'crop to 1.25 : 1, then letterbox': (w) => {
    const short = Math.min(w.width, w.height)
    const [cw, ch] = [Math.min(w.width, Math.round(short * 1.25)), Math.min(w.height, Math.round(short * 1.25))]
    return [w.raw().resize(cw, ch, { fit: 'cover' }).raw().toBuffer({ resolveWithObject: true }).then(({ data, info }) => letterbox(sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } })))]
  },
  'centre crop + its mirror (2 passes)': (w) => [w.raw().resize(S, S, { fit: 'cover' }).raw().toBuffer(), w.raw().resize(S, S, { fit: 'cover' }).flop().raw().toBuffer()],
}

const embedder = await createInProcessEmbedder({ backend: 'wasm' })
const features: Record<string, Float32Array[]> = Object.fromEntries(Object.keys(FRAMINGS).map((f) => [f, []]))
const started = Date.now()
for (let i = 0; i < items.length; i += 16) {
  const working = await Promise.all(items.slice(i, i + 16).map((it) => workingImage(sharp(it.path))))
  for (const [name, frame] of Object.entries(FRAMINGS)) {
    const inputs = await Promise.all(working.map((w) => Promise.all(frame(w))))
    const passes = await Promise.all(inputs[0].map((_, p) => embedder.embed(inputs.map((x) => bytes(x[p])))))
    features[name].push(...passes[0].map((v, k) => v.map((x, d) => passes.reduce((s, pass) => s + pass[k][d], 0))))
  }
  if (i % 320 === 0) console.error(`${i}/${items.length} ${((Date.now() - started) / 1000).toFixed(0)} s`)
}
await embedder.close()

// Queries: the first perClass photos of each class, or every photo (0).
const seen = new Map<string, number>()
const queries = items.flatMap((it, i) => {
  if (perClass === 0) return it.labels.length ? [i] : []
  const n = seen.get(it.labels[0]) ?? 0
  seen.set(it.labels[0], n + 1)
  return n < perClass ? [i] : []
})
const isQuery = new Set(queries)
const shares = (a: number, b: number) => items[a].labels.some((l) => items[b].labels.includes(l))

function unit(x: Float32Array): Float32Array {
  let n = 0
  for (const v of x) n += v * v
  n = Math.sqrt(n) || 1
  return x.map((v) => v / n)
}

/** P@20 and mAP@all by cosine about half the rows' mean (as the unsupervised model compares photos). */
function score(rows: Float32Array[]) {
  const mean = new Float32Array(rows[0].length)
  for (const r of rows) r.forEach((v, d) => (mean[d] += v / rows.length))
  const centred = rows.map((r) => unit(r.map((v, d) => v - CENTRING * mean[d])))
  let p20 = 0
  let ap = 0
  for (const q of queries) {
    const database = items.map((_, i) => i).filter((i) => i !== q && (perClass === 0 || !isQuery.has(i)))
    const cosine = database.map((i) => centred[q].reduce((s, v, d) => s + v * centred[i][d], 0))
    const relevant = database.map((_, j) => j).sort((a, b) => cosine[b] - cosine[a]).map((j) => shares(q, database[j]))
    p20 += precisionAt(relevant, 20)
    ap += averagePrecision(relevant)
  }
  return { p20: +(p20 / queries.length).toFixed(4), map: +(ap / queries.length).toFixed(4) }
}

for (const [framing, rows] of Object.entries(features)) {
  const own = rows.map(unit)
  const blended = blendWithNeighbours(own, own, own.map((_, i) => i), NEIGHBOUR_BLEND)
  console.log(JSON.stringify({ source, framing, photos: items.length, queries: queries.length, own: score(own), blended: score(blended) }))
}
