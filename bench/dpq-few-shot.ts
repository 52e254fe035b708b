// Few photos per album: DPQ per code length against its float embedding, the unsupervised codes
// and the float feature, for each number of photos per album. Features come from a library file
// (`lookalike index <folder> --db FILE`). Prints one JSON line per (photos per album, variant).
//   npx tsx bench/dpq-few-shot.ts --db .tmp/w16/clothing.sqlite --per-album 5,10,20,50,100 --queries 30 \
//     [--labels folders|tsv:FILE] [--albums all|half] [--variants '[{"name":"lib","library":true}]']
import { parseArgs } from 'node:util'
import { refitOnLibrary } from '../src/core/dpq/checked-codebooks.ts'
import { labelSets, meanAveragePrecision, sharesLabel, type LabelSet } from '../src/core/dpq/metrics.ts'
import { trainLibraryModel, type LibraryModelOptions } from '../src/core/dpq/library-model.ts'
import { DpqModel } from '../src/core/dpq/model.ts'
import { splitByClass, type Split } from '../src/core/dpq/protocol.ts'
import { quantize, type Quantizer } from '../src/core/dpq/quantize.ts'
import { lookupTable } from '../src/core/search/lookup-table.ts'
import { ensureBackend } from '../src/core/modeling/backend.ts'
import { modelEmbeddingBlend } from '../src/core/modeling/neighbours.ts'
import { blendsForRetrain, embeddingNeighboursFor } from '../src/core/modeling/retrain.ts'
import { trainDpq, type TrainOptions } from '../src/core/dpq/train.ts'
import { blendWithNeighbours, NEIGHBOUR_BLEND } from '../src/core/dpq/neighbour-blend.ts'
import { libraryPhotos } from './dpq-library-photos.ts'

interface Variant {
  name: string
  /** Retrain's pipeline (library-model.ts): every 5th album photo held out, head + kept unsupervised embedding, checked library codebooks. */
  retrain?: boolean
  /** Its options (blend weight, tolerance, …). */
  library_model?: LibraryModelOptions
  /** false: no album photo is held out, so every one trains the head (no blend choice, no block check). */
  hold_out?: boolean
  /** Retrain on every photo's feature blended with its neighbours in the library, as the unsupervised model reads them (default: as Retrain decides, retrain.blendsForRetrain). */
  neighbours?: boolean
  /** Photos outside the training split (the database) join training as unlabelled photos. */
  library?: boolean
  /** Refit the codebooks on the embeddings of every database photo (after the head). */
  refit?: boolean
  /** Check each block on held-out album photos (every 5th of each album, not trained on). */
  check?: boolean
  normalize?: boolean
  /** Embedding = [√w · head x / ‖x‖ ; √(1−w) · unsupervised PCA x / ‖x‖] (prototype). */
  blend?: number
  /** mAP a block may lose on the held-out photos and still be kept as fitted. */
  tolerance?: number
  dpq?: TrainOptions
}

const { values } = parseArgs({
  options: {
    db: { type: 'string' },
    labels: { type: 'string', default: 'folders' },
    'per-album': { type: 'string', default: '5,10,20,50,100' },
    queries: { type: 'string', default: '30' },
    albums: { type: 'string', default: 'all' },
    variants: { type: 'string', default: '[{"name":"paper"},{"name":"library","library":true}]' },
    'no-baselines': { type: 'boolean', default: false },
    seed: { type: 'string', default: '42' },
    /** Keep only the first N photos of each class (file-name order): a smaller library, a shorter run. */
    'library-per-class': { type: 'string' },
    /** Another library file whose photos all join the library in no album and relevant to no query (a larger library around a small labelled set). */
    distractors: { type: 'string' },
  },
})
const LENGTHS = [8, 16, 24, 32, 40, 48, 56, 64]
const photos = withDistractors(capPerClass(libraryPhotos(values.db!, values.labels!), Number(values['library-per-class'] ?? Infinity)), values.distractors)
const variants = JSON.parse(values.variants!) as Variant[]
const seed = Number(values.seed)
const backend = await ensureBackend()
const sets = labelSets(photos.labels)
const half = values.albums === 'half'
const albumClass = (c: number) => !half || c < photos.classNames.length / 2

let unsupervisedModel: DpqModel | null = null
/** Blended features by database (blendedFeatures). */
const blended = new Map<string, Float32Array[]>()
const baselines = new Map<string, { unsupervised: DpqModel; seconds: number }>()
for (const perAlbum of values['per-album']!.split(',').map(Number)) {
  const base = queriesFirst(perAlbum, Number(values.queries))
  unsupervisedModel = null
  // Albums: the training split's photos of album classes; everything else that is not a query is in no album.
  const albums = base.train.filter((i) => photos.labels[i].every(albumClass))
  const split: Split = { ...base, train: albums }
  const groups: Record<string, number[]> = half
    ? { album_classes: split.queries.filter((i) => albumClass(photos.labels[i][0])), other_classes: split.queries.filter((i) => !albumClass(photos.labels[i][0])) }
    : { all: split.queries }
  const head = { dataset: values.db, ...(values.distractors ? { distractors: values.distractors } : {}), backbone: photos.backbone, backend, per_album: perAlbum, albums: values.albums, album_photos: albums.length, queries: split.queries.length, database: split.database.length }
  if (!values['no-baselines']) {
    // The database is the same for every number of photos per album (queries are taken first): measure the baselines once.
    const key = split.database.join(',')
    if (!baselines.has(key)) {
      const t = performance.now()
      // As a library fits it: every photo blended with its neighbours in the library (queries too).
      const unsupervised = await trainDpq(split.database.map((i) => blendedFeatures(split.database)[i]), null, { seed })
      baselines.set(key, { unsupervised, seconds: (performance.now() - t) / 1000 })
    }
    const { unsupervised, seconds } = baselines.get(key)!
    unsupervisedModel = unsupervised
    console.log(JSON.stringify({ ...head, variant: 'float', ...byGroup(groups, split.database, (q) => floatScores(q, split.database)) }))
    const x = unsupervised.embedFlat(blendedFeatures(split.database))
    console.log(JSON.stringify({ ...head, variant: 'unsupervised', seconds: round(seconds), ...byGroup(groups, split.database, (q) => codeScores(unsupervised, x, unsupervised.D, q, split.database, codesOf(unsupervised, x, split.database))) }))
  }
  if (!unsupervisedModel && variants.some((v) => v.blend !== undefined)) unsupervisedModel = await trainDpq(split.database.map((i) => photos.features[i]), null, { seed })
  for (const v of variants) console.log(JSON.stringify({ ...head, variant: v.name, ...(await runVariant(v, split, groups)) }))
}

async function runVariant(v: Variant, split: Split, groups: Record<string, number[]>) {
  if (v.retrain) return runRetrain(v, split, groups)
  const t = performance.now()
  const isTrain = new Set(split.train)
  const heldOut = v.check ? everyFifth(split.train) : new Set<number>()
  const unlabelled = v.library ? split.database.filter((i) => !isTrain.has(i)) : []
  const rows = [...split.train.filter((i) => !heldOut.has(i)), ...unlabelled]
  const model = await trainDpq(
    rows.map((i) => photos.features[i]),
    rows.map((i) => (isTrain.has(i) ? photos.labels[i] : [])),
    { classes: photos.classNames.length, seed, ...v.dpq },
  )
  const trainSeconds = (performance.now() - t) / 1000
  let { D } = model
  let x = model.embedFlat(photos.features)
  if (v.normalize) normalizeRows(x, D)
  let base: DpqModel = model
  if (v.blend !== undefined) {
    const p = unsupervisedModel!.embedFlat(photos.features)
    const Dp = unsupervisedModel!.D
    normalizeRows(x, D)
    normalizeRows(p, Dp)
    const n = photos.features.length
    const joined = new Float32Array(n * (D + Dp))
    const a = Math.sqrt(v.blend)
    const b = Math.sqrt(1 - v.blend)
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < D; k++) joined[i * (D + Dp) + k] = a * x[i * D + k]
      for (let k = 0; k < Dp; k++) joined[i * (D + Dp) + D + k] = b * p[i * Dp + k]
    }
    x = joined
    D = D + Dp
    base = new DpqModel({ ...model.params, D }, model.head, new Float32Array(model.M * model.K * D))
  }
  let quantizer: Quantizer = model
  let fit: Record<string, unknown> = {}
  if (v.refit) {
    // The library is the database (queries are not in it); albums are the training split.
    const db = split.database
    const refit = refitOnLibrary(base, gather(x, D, db), db.map((i) => (isTrain.has(i) ? photos.labels[i] : [])), db.flatMap((i, j) => (heldOut.has(i) ? [j] : [])), { tolerance: v.tolerance })
    quantizer = refit.model
    fit = { block_scale: refit.fitted.blockScale, held_out_prefix_map: refit.fitted.prefixMap, held_out: heldOut.size }
  }
  const codes = codesOf(quantizer, x, split.database)
  const measured = byGroup(groups, split.database, (q) => codeScores(quantizer, x, D, q, split.database, codes))
  const embedding = byGroup(groups, split.database, (q) => cosineScores(x, D, q, split.database))
  return { seconds: round((performance.now() - t) / 1000), train_seconds: round(trainSeconds), ...measured, embedding, ...fit, dpq: v.dpq ?? {} }
}

function capPerClass<T extends { names: string[]; labels: number[][]; features: Float32Array[] }>(all: T, cap: number): T {
  if (!Number.isFinite(cap)) return all
  const seen = new Map<number, number>()
  const keep = all.names.map((_, i) => i).filter((i) => {
    const c = all.labels[i][0]
    seen.set(c, (seen.get(c) ?? 0) + 1)
    return seen.get(c)! <= cap
  })
  return { ...all, names: keep.map((i) => all.names[i]), labels: keep.map((i) => all.labels[i]), features: keep.map((i) => all.features[i]) }
}

/** Every photo of another library appended unlabelled: never a query, in no album, relevant to nothing. */
function withDistractors<T extends ReturnType<typeof libraryPhotos>>(all: T, file: string | undefined): T {
  if (!file) return all
  const more = libraryPhotos(file, 'folders')
  if (more.backbone !== all.backbone) throw new Error(`${file} holds ${more.backbone}, not ${all.backbone}`)
  return { ...all, names: [...all.names, ...more.names.map((n) => `distractor:${n}`)], labels: [...all.labels, ...more.names.map(() => [])], features: [...all.features, ...more.features] }
}

/** The library is the database (queries are not in it); the albums are the training split. */
async function runRetrain(v: Variant, split: Split, groups: Record<string, number[]>) {
  const t = performance.now()
  const isTrain = new Set(split.train)
  const heldOut = v.hold_out === false ? new Set<number>() : everyFifth(split.train)
  const db = split.database
  const albumLabels = db.map((i) => (isTrain.has(i) ? photos.labels[i] : []))
  const features = (v.neighbours ?? blendsForRetrain(db.length, albumLabels)) ? blendedFeatures(db) : photos.features
  const { model, fitted, blendChoice } = await trainLibraryModel(
    db.map((i) => features[i]),
    albumLabels,
    db.flatMap((i, j) => (heldOut.has(i) ? [j] : [])),
    { embeddingNeighbours: embeddingNeighboursFor(features !== photos.features), ...v.library_model, train: { classes: photos.classNames.length, seed, ...v.dpq } },
  )
  const x = embedded(model, features, db)
  const codes = codesOf(model, x, db)
  const measured = byGroup(groups, db, (q) => codeScores(model, x, model.D, q, db, codes))
  const embedding = byGroup(groups, db, (q) => cosineScores(x, model.D, q, db))
  return { seconds: round((performance.now() - t) / 1000), ...measured, embedding, neighbours: features !== photos.features, embedding_neighbours: modelEmbeddingBlend(model) !== null, block_scale: fitted.blockScale, held_out_prefix_map: fitted.prefixMap, held_out: heldOut.size, blend: model.head.blend?.weight, blend_choice: blendChoice, dpq: v.dpq ?? {}, library_model: v.library_model ?? {} }
}

/** Every photo's embedding under the model; for a model that blends embeddings, blended with its neighbours among the database's (the library's), queries too, as search does. */
function embedded(model: DpqModel, features: readonly Float32Array[], database: number[]): Float32Array {
  const x = model.embedFlat(features)
  const blend = modelEmbeddingBlend(model)
  if (!blend) return x
  const D = model.D
  const rows = features.map((_, i) => x.subarray(i * D, (i + 1) * D))
  const position = new Map(database.map((i, j) => [i, j]))
  const out = new Float32Array(x.length)
  blendWithNeighbours(rows, database.map((i) => rows[i]), rows.map((_, i) => position.get(i) ?? -1), blend).forEach((row, i) => out.set(row, i * D))
  return out
}

/** Every photo's feature blended with its neighbours among the database photos (the library), as the library encodes them. */
function blendedFeatures(database: number[]): Float32Array[] {
  const key = database.join(',')
  if (!blended.has(key)) {
    const position = new Map(database.map((i, j) => [i, j]))
    blended.set(key, blendWithNeighbours(photos.features, database.map((i) => photos.features[i]), photos.features.map((_, i) => position.get(i) ?? -1), NEIGHBOUR_BLEND))
  }
  return blended.get(key)!
}

/**
 * The protocol's split with the queries taken first (the same queries for every number of photos
 * per album): per class, the first `queries` files are queries, the next `perAlbum` are albums.
 */
function queriesFirst(perAlbum: number, queries: number): Split {
  const q = splitByClass(photos.names, photos.labels, 0, queries).queries
  const isQuery = new Set(q)
  const rest = photos.names.map((_, i) => i).filter((i) => !isQuery.has(i))
  const inner = splitByClass(rest.map((i) => photos.names[i]), rest.map((i) => photos.labels[i]), perAlbum, 0)
  return { train: inner.train.map((j) => rest[j]), queries: q, database: rest }
}

/** Every 5th album photo of each class (albums of 3 or more), as Retrain holds them out. */
function everyFifth(train: number[]): Set<number> {
  const byClass = new Map<number, number[]>()
  for (const i of train) byClass.set(photos.labels[i][0], [...(byClass.get(photos.labels[i][0]) ?? []), i])
  const out = new Set<number>()
  for (const members of byClass.values()) if (members.length >= 3) members.forEach((i, k) => k % 5 === 4 && out.add(i))
  // Fewer than 5 per album: hold out the last photo of each album.
  if (out.size === 0) for (const members of byClass.values()) if (members.length >= 3) out.add(members[members.length - 1])
  return out
}

type Scorer = (query: number) => (out: Float32Array) => void

/** mAP per code length (or one value) and P@20 for every query group. */
function byGroup(groups: Record<string, number[]>, database: number[], scorer: (queries: number[]) => Record<string, Scorer> | Scorer) {
  const out: Record<string, unknown> = {}
  for (const [group, queries] of Object.entries(groups)) {
    const ds = database.map((i) => sets[i])
    const qs = queries.map((i) => sets[i])
    const s = scorer(queries)
    const one = (sc: Scorer) => {
      const m = meanAveragePrecision(qs, ds, (q, o) => sc(q)(o))
      return { map: round(m.all), p20: round(precisionAt(qs, ds, sc, 20)) }
    }
    out[group] = typeof s === 'function' ? one(s) : Object.fromEntries(Object.entries(s).map(([k, sc]) => [k, one(sc)]))
  }
  return out
}

function floatScores(queries: number[], database: number[]): Scorer {
  const dim = photos.features[0].length
  const flat = new Float32Array(photos.features.length * dim)
  photos.features.forEach((f, i) => flat.set(f, i * dim))
  normalizeRows(flat, dim)
  return cosineScores(flat, dim, queries, database)
}

function cosineScores(x: Float32Array, D: number, queries: number[], database: number[]): Scorer {
  const unit = x.slice()
  normalizeRows(unit, D)
  return (q) => (out) => {
    const a = queries[q] * D
    database.forEach((r, j) => {
      let s = 0
      for (let k = 0; k < D; k++) s += unit[a + k] * unit[r * D + k]
      out[j] = s
    })
  }
}

function codesOf(q: Quantizer, x: Float32Array, database: number[]): Uint8Array {
  return quantize(q, gather(x, q.D, database))
}

function codeScores(quantizer: Quantizer, x: Float32Array, D: number, queries: number[], database: number[], codes: Uint8Array): Record<string, Scorer> {
  const { M, K } = quantizer
  const tables = queries.map((i) => lookupTable(x.subarray(i * D, (i + 1) * D), quantizer.codebooks, M, K, D))
  return Object.fromEntries(
    LENGTHS.filter((b) => b / 8 <= M).map((bits) => [
      bits,
      (q: number) => (out: Float32Array) => {
        const t = tables[q]
        for (let j = 0; j < out.length; j++) {
          let s = 0
          for (let m = 0; m < bits / 8; m++) s += t[m * K + codes[j * M + m]]
          out[j] = s
        }
      },
    ]),
  )
}

function precisionAt(qs: LabelSet[], ds: LabelSet[], scorer: Scorer, k: number): number {
  const scores = new Float32Array(ds.length)
  let sum = 0
  for (let q = 0; q < qs.length; q++) {
    scorer(q)(scores)
    const top = Array.from(scores.keys()).sort((a, b) => scores[b] - scores[a] || a - b).slice(0, k)
    sum += top.filter((j) => sharesLabel(qs[q], ds[j])).length / k
  }
  return sum / Math.max(1, qs.length)
}

function gather(x: Float32Array, D: number, rows: readonly number[]): Float32Array {
  const out = new Float32Array(rows.length * D)
  rows.forEach((r, i) => out.set(x.subarray(r * D, (r + 1) * D), i * D))
  return out
}

function normalizeRows(x: Float32Array, D: number): void {
  for (let i = 0; i < x.length; i += D) {
    let n = 0
    for (let k = 0; k < D; k++) n += x[i + k] ** 2
    n = Math.sqrt(n) || 1
    for (let k = 0; k < D; k++) x[i + k] /= n
  }
}

function round(x: number): number {
  return Math.round(x * 10_000) / 10_000
}
