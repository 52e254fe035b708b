// "Exact" precision: shortlist by the codes, then re-rank the shortlist by cosine of the float
// embeddings. Codes only approximate an embedding, so the true top-k can sit deeper in the code
// ranking than k. The shortlist itself tells how far off the codes are: for every shortlisted photo
// we see both the codes' estimate and the true value. A photo outside the shortlist has an estimate
// at most the last shortlisted one, so its true value is at most that plus the largest error seen.
// Once the k-th exact cosine reaches that bound nothing outside can beat it; until then the
// shortlist grows.
//
// With the model's codebooks the estimate is the code's cosine, score / (‖q‖·‖x̂‖): on real codes
// (bench/search-real-codes.ts, CIFAR-10 features) the true top-10 sits ~10× less deep in that ranking
// than in the raw inner-product one, because embedding norms vary several-fold. Without them the
// estimate is the inner product and the bound divides by the smallest embedding norm seen.

import type { CodeMatrix } from './code-matrix.ts'
import type { SearchFilter } from './filter.ts'
import { searchByCosine, searchCodes } from './scan.ts'
import { TopK, type SearchResult } from './top-k.ts'

export interface ExactOptions {
  k: number
  filter?: SearchFilter
  excludeId?: number
  /** First shortlist size; default max(8k, 64). */
  shortlist?: number
  /** The active model's codebooks (M × K × D): shortlist by the codes' cosine estimate. */
  model?: { codebooks: Float32Array; K: number; D: number }
  /** Called with each shortlist before its embeddings are read, so the caller can load them in one batch. */
  prefetch?: (photoIds: Int32Array) => void
}

export interface ExactResult extends SearchResult {
  /** How many photos were re-ranked by their float embedding. */
  shortlist: number
}

const GROWTH = 4

/**
 * @param table        lookupTable(query, …) of the active model
 * @param query        the query's float embedding (same space as embeddingOf)
 * @param embeddingOf  a photo's float embedding, D values
 */
export function exactSearch(
  matrix: CodeMatrix,
  table: Float32Array,
  query: Float32Array,
  embeddingOf: (photoId: number) => Float32Array,
  options: ExactOptions,
): ExactResult {
  const { k, filter, excludeId, model } = options
  const queryNorm = norm(query)
  const norms = model ? matrix.reconstructionNorms(model.codebooks, model.K, model.D) : undefined
  const seen = new Map<number, { cosine: number; norm: number }>()
  let size = Math.max(options.shortlist ?? Math.max(8 * k, 64), k)
  for (;;) {
    const shortlist = norms
      ? searchByCosine(matrix, table, norms, { k: size, filter, excludeId })
      : searchCodes(matrix, table, { blocks: matrix.blocks, k: size, filter, excludeId })
    options.prefetch?.(shortlist.ids)
    const top = new TopK(k)
    let maxError = -Infinity
    let minNorm = Infinity
    let maxNorm = 0
    for (let i = 0; i < shortlist.ids.length; i++) {
      const id = shortlist.ids[i]
      let photo = seen.get(id)
      if (photo === undefined) {
        const embedding = embeddingOf(id)
        photo = { cosine: cosine(query, queryNorm, embedding), norm: norm(embedding) }
        seen.set(id, photo)
      }
      top.offer(photo.cosine, id)
      const truth = norms ? photo.cosine : photo.cosine * queryNorm * photo.norm
      const estimate = norms ? shortlist.scores[i] / queryNorm : shortlist.scores[i]
      maxError = Math.max(maxError, Math.abs(truth - estimate))
      // a photo without an embedding (all zeros) scores cosine 0 and says nothing about the others
      if (photo.norm > 0) minNorm = Math.min(minNorm, photo.norm)
      maxNorm = Math.max(maxNorm, photo.norm)
    }
    const result = top.result()
    const everything = shortlist.ids.length < size || size >= matrix.size
    if (everything || k === 0 || result.ids.length < k) return { ...result, shortlist: shortlist.ids.length }
    const last = shortlist.scores[shortlist.scores.length - 1]
    let outside: number
    if (norms) outside = last / queryNorm + maxError
    else {
      const dot = last + maxError
      outside = dot / (queryNorm * (dot > 0 ? minNorm : maxNorm))
    }
    if (minNorm === Infinity || !(queryNorm > 0)) outside = Math.max(outside, 0)
    if (result.scores[k - 1] >= outside) return { ...result, shortlist: shortlist.ids.length }
    size = Math.min(size * GROWTH, matrix.size)
  }
}

function norm(v: Float32Array): number {
  let s = 0
  for (let i = 0; i < v.length; i++) s += v[i] * v[i]
  return Math.sqrt(s)
}

/** Cosine similarity of two vectors; 0 when either is all zeros. */
export function cosineOf(a: Float32Array, b: Float32Array): number {
  return cosine(a, norm(a), b)
}

/** Cosine similarity; 0 when either vector is all zeros. */
export function cosine(query: Float32Array, queryNorm: number, v: Float32Array): number {
  if (v.length !== query.length) throw new Error(`Embedding has ${v.length} dimensions, the query has ${query.length}`)
  let dot = 0
  let vv = 0
  for (let i = 0; i < v.length; i++) {
    dot += query[i] * v[i]
    vv += v[i] * v[i]
  }
  const denom = queryNorm * Math.sqrt(vv)
  return denom > 0 ? dot / denom : 0
}
