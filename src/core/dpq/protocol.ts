// The paper's evaluation, scaled to one machine (docs/dpq.md): deterministic split, DPQ at every
// prefix length against PQ at the same bit budget and float cosine on the backbone feature.
import { CODE_BITS } from '../../shared/types.ts'
import type { ProgressEvent } from '../types.ts'
import { l2normalize } from './kmeans.ts'
import { labelSets, meanAveragePrecision, type MapResult } from './metrics.ts'
import type { DpqModel } from './model.ts'
import { encodePq, pqDistanceTable, trainPq, PQ_K } from './pq.ts'
import { lookupTable } from '../search/lookup-table.ts'
import type { Quantizer } from './quantize.ts'
import { matMulT, tf } from './tf.ts'
import { trainDpq, type TrainOptions } from './train.ts'


export interface LabelledPhotos {
  /** File names (relative paths); the split sorts by them. */
  names: string[]
  /** Class indices per photo; the first one is the photo's class for the split. */
  labels: number[][]
  classNames: string[]
  features: Float32Array[]
}

export interface Split {
  train: number[]
  queries: number[]
  /** Everything that is not a query (training photos included). */
  database: number[]
}

/**
 * Per class, in file-name order: the first `trainPerClass` photos train, the next
 * `queriesPerClass` are queries. A multi-label photo counts for its rarest label (fewest photos
 * in the set; ties: lowest class index), so frequent labels such as COCO's "person" do not
 * swallow the photos of rare ones.
 */
export function splitByClass(names: readonly string[], labels: readonly (readonly number[])[], trainPerClass: number, queriesPerClass: number): Split {
  const frequency = new Map<number, number>()
  for (const l of labels) for (const c of l) frequency.set(c, (frequency.get(c) ?? 0) + 1)
  const byClass = new Map<number, number[]>()
  names.forEach((_, i) => {
    if (labels[i].length === 0) return
    const c = [...labels[i]].sort((a, b) => frequency.get(a)! - frequency.get(b)! || a - b)[0]
    byClass.set(c, [...(byClass.get(c) ?? []), i])
  })
  const train: number[] = []
  const queries: number[] = []
  for (const members of byClass.values()) {
    members.sort((a, b) => (names[a] < names[b] ? -1 : names[a] > names[b] ? 1 : 0))
    train.push(...members.slice(0, trainPerClass))
    queries.push(...members.slice(trainPerClass, trainPerClass + queriesPerClass))
  }
  const isQuery = new Set(queries)
  return { train: train.sort((a, b) => a - b), queries: queries.sort((a, b) => a - b), database: names.map((_, i) => i).filter((i) => !isQuery.has(i)) }
}

type PerLength = Record<string, number>

export interface EvalReport {
  dataset: string
  /** 'none': the paper's protocol; 'database': DPQ also saw the database photos, unlabelled. */
  unlabelled: 'none' | 'database'
  classes: number
  train: number
  queries: number
  database: number
  backend: string
  train_seconds: number
  /** `embedding`: cosine on DPQ's float embedding x (no quantization), the ceiling for its codes. */
  map: { dpq: PerLength; pq: PerLength; float: number; embedding?: number }
  map_at_1000: { dpq: PerLength; pq: PerLength; float: number; embedding?: number }
  /** Seconds to train PQ at each length (one model per length) and DPQ once for all. */
  timing: { dpq_seconds: number; pq_seconds: PerLength; pq_total_seconds: number }
}

export interface EvalOptions {
  dataset: string
  dpq?: TrainOptions
  /** What DPQ trains on and encodes, per photo (default: `features`; e.g. finetune 'late' rows). */
  dpqFeatures?: Float32Array[]
  /**
   * 'database': every database photo outside the training split joins DPQ's training unlabelled
   * (its standardisation and codebooks see the whole library, as Retrain's do). Default 'none':
   * the paper's protocol, training photos only.
   */
  unlabelled?: 'none' | 'database'
  /** Skip the PQ baseline (faster experiments). */
  pq?: boolean
  /** Code lengths in bits (multiples of 8, at most 8·M); default 8 … 64. */
  lengths?: readonly number[]
  onProgress?(e: ProgressEvent): void
}

export async function evaluate(photos: LabelledPhotos, split: Split, options: EvalOptions): Promise<EvalReport> {
  // The caller selected the backend (in Node: modeling/backend.ts).
  const backend = tf.getBackend()
  const { features, labels } = photos
  if (split.train.length === 0 || split.queries.length === 0) throw new Error('The split has no training photos or no queries: add photos or lower --train-per-class / --queries-per-class')
  const querySets = labelSets(split.queries.map((i) => labels[i]))
  const dbSets = labelSets(split.database.map((i) => labels[i]))
  // Same width of bitset on both sides.
  const width = Math.max(querySets[0].length, dbSets[0].length)
  const widen = (s: Uint32Array) => (s.length === width ? s : Uint32Array.from({ length: width }, (_, i) => s[i] ?? 0))
  const qs = querySets.map(widen)
  const ds = dbSets.map(widen)

  const float = meanAveragePrecision(qs, ds, cosineScorer(features, split.queries, split.database))

  const t0 = performance.now()
  const dpqIn = options.dpqFeatures ?? features
  const isTrain = new Set(split.train)
  const rows = options.unlabelled === 'database' ? [...split.train, ...split.database.filter((i) => !isTrain.has(i))] : split.train
  const model = await trainDpq(
    rows.map((i) => dpqIn[i]),
    rows.map((i) => (isTrain.has(i) ? labels[i] : [])),
    { classes: photos.classNames.length, ...options.dpq },
    { onProgress: options.onProgress },
  )
  const dpqSeconds = (performance.now() - t0) / 1000
  const lengths = options.lengths ?? CODE_BITS
  const dpq = dpqMaps(model, dpqIn, split, qs, ds, lengths.filter((b) => b / 8 <= model.M))
  const embedded = model.embed(dpqIn)
  const embedding = meanAveragePrecision(qs, ds, cosineScorer(embedded, split.queries, split.database))

  const pq: Record<string, MapResult> = {}
  const pqSeconds: PerLength = {}
  if (options.pq !== false) {
    const dim = features[0].length
    const unit = normalizedFlat(features, dim)
    const rows = (idx: number[]) => gatherRows(unit, dim, idx)
    const trainRows = rows(split.train)
    const dbRows = rows(split.database)
    for (const bits of lengths) {
      const t = performance.now()
      const quantizer = trainPq(trainRows, dim, bits / 8)
      pqSeconds[bits] = round((performance.now() - t) / 1000)
      const codes = encodePq(quantizer, dbRows)
      const m = quantizer.m
      pq[bits] = meanAveragePrecision(qs, ds, (q, out) => {
        const r = split.queries[q]
        const table = pqDistanceTable(quantizer, unit.subarray(r * dim, (r + 1) * dim))
        for (let j = 0; j < out.length; j++) {
          let d = 0
          for (let s = 0; s < m; s++) d += table[s * PQ_K + codes[j * m + s]]
          out[j] = -d
        }
      })
      options.onProgress?.({ done: lengths.indexOf(bits) + 1, total: lengths.length })
    }
  }
  const pick = (r: Record<string, MapResult>, key: 'all' | 'atR') => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, round(v[key])]))
  return {
    dataset: options.dataset,
    unlabelled: options.unlabelled ?? 'none',
    classes: photos.classNames.length,
    train: split.train.length,
    queries: split.queries.length,
    database: split.database.length,
    backend,
    train_seconds: round(dpqSeconds),
    map: { dpq: pick(dpq, 'all'), pq: pick(pq, 'all'), float: round(float.all), embedding: round(embedding.all) },
    map_at_1000: { dpq: pick(dpq, 'atR'), pq: pick(pq, 'atR'), float: round(float.atR), embedding: round(embedding.atR) },
    timing: { dpq_seconds: round(dpqSeconds), pq_seconds: pqSeconds, pq_total_seconds: round(Object.values(pqSeconds).reduce((a, b) => a + b, 0)) },
  }
}

/** mAP of a trained model at every prefix length: queries keep float x, the database is codes. */
export function dpqMaps(
  model: DpqModel,
  features: readonly Float32Array[],
  split: Split,
  qs: Uint32Array[],
  ds: Uint32Array[],
  lengths: readonly number[] = CODE_BITS.filter((b) => b / 8 <= model.M),
): Record<string, MapResult> {
  const queries = model.embed(split.queries.map((i) => features[i]))
  const codes = model.encode(split.database.map((i) => features[i]))
  return codeMaps(model, queries, codes, qs, ds, lengths)
}

/**
 * mAP at every prefix length of float query embeddings against database codes (n × M, row-major),
 * scored by the asymmetric inner product of the first l blocks.
 */
export function codeMaps(
  model: Quantizer,
  queries: readonly Float32Array[],
  codes: Uint8Array,
  qs: Uint32Array[],
  ds: Uint32Array[],
  lengths: readonly number[] = CODE_BITS.filter((b) => b / 8 <= model.M),
): Record<string, MapResult> {
  const { M, K } = model
  const tables = queries.map((q) => lookupTable(q, model.codebooks, M, K, model.D))
  const out: Record<string, MapResult> = {}
  for (const bits of lengths) {
    const blocks = bits / 8
    out[bits] = meanAveragePrecision(qs, ds, (q, scores) => {
      const table = tables[q]
      for (let j = 0; j < scores.length; j++) {
        let s = 0
        for (let m = 0; m < blocks; m++) s += table[m * K + codes[j * M + m]]
        scores[j] = s
      }
    })
  }
  return out
}

/** The rows `idx` of a flat row-major matrix, packed in that order. */
function gatherRows(flat: Float32Array, dim: number, idx: readonly number[]): Float32Array {
  const out = new Float32Array(idx.length * dim)
  idx.forEach((r, i) => out.set(flat.subarray(r * dim, (r + 1) * dim), i * dim))
  return out
}

/** Cosine on the raw backbone feature: the ceiling without learning. */
export function cosineScorer(features: readonly Float32Array[], queries: number[], database: number[]): (q: number, out: Float32Array) => void {
  const dim = features[0].length
  const unit = normalizedFlat(features, dim)
  const rows = (idx: number[]) => gatherRows(unit, dim, idx)
  const n = database.length
  const scores = tf.tidy(() => matMulT(tf.tensor2d(rows(queries), [queries.length, dim]), tf.tensor2d(rows(database), [n, dim])))
  const all = scores.dataSync() as Float32Array
  scores.dispose()
  return (q, out) => out.set(all.subarray(q * n, (q + 1) * n))
}

function normalizedFlat(features: readonly Float32Array[], dim: number): Float32Array {
  const flat = new Float32Array(features.length * dim)
  features.forEach((f, i) => flat.set(f, i * dim))
  const t = tf.tidy(() => l2normalize(tf.tensor2d(flat, [features.length, dim])))
  const out = Float32Array.from(t.dataSync() as Float32Array)
  t.dispose()
  return out
}

function round(x: number): number {
  return Math.round(x * 10_000) / 10_000
}
