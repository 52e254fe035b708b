// "Exact" precision: shortlist by full-length codes, then re-rank the shortlist by cosine of the float
// embeddings. Codes only approximate an embedding, so the true top-k can sit deeper in the code
// ranking than k. The shortlist itself tells how far off the codes are: for every shortlisted photo
// we see both its code score s and its true inner product ⟨q, x⟩. A photo outside the shortlist has
// s ≤ the last shortlisted score, so its inner product is at most that plus the largest error seen,
// and its cosine at most that over the smallest norm seen. Once the k-th exact cosine reaches that
// bound nothing outside can beat it; until then the shortlist grows. Measured on synthetic libraries
// (test/search-exact.spec.ts, bench): top-k equal to brute force on every query, shortlists of 8k
// while codes are good and growing toward the whole library only when codes say little.

import type { CodeMatrix } from './code-matrix.ts'
import type { SearchFilter } from './filter.ts'
import { searchCodes } from './scan.ts'
import { TopK, type SearchResult } from './top-k.ts'

export interface ExactOptions {
  k: number
  filter?: SearchFilter
  excludeId?: number
  /** First shortlist size; default max(8k, 64). */
  shortlist?: number
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
  const { k, filter, excludeId } = options
  const queryNorm = norm(query)
  const seen = new Map<number, { cosine: number; norm: number }>()
  let size = Math.max(options.shortlist ?? Math.max(8 * k, 64), k)
  for (;;) {
    const shortlist = searchCodes(matrix, table, { blocks: matrix.blocks, k: size, filter, excludeId })
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
      maxError = Math.max(maxError, photo.cosine * queryNorm * photo.norm - shortlist.scores[i])
      minNorm = Math.min(minNorm, photo.norm)
      maxNorm = Math.max(maxNorm, photo.norm)
    }
    const result = top.result()
    const everything = shortlist.ids.length < size || size >= matrix.size
    if (everything || k === 0 || result.ids.length < k) return { ...result, shortlist: shortlist.ids.length }
    const outsideDot = shortlist.scores[shortlist.scores.length - 1] + maxError
    const outsideCosine = outsideDot / (queryNorm * (outsideDot > 0 ? minNorm : maxNorm))
    if (result.scores[k - 1] >= outsideCosine) return { ...result, shortlist: shortlist.ids.length }
    size *= GROWTH
  }
}

function norm(v: Float32Array): number {
  let s = 0
  for (let i = 0; i < v.length; i++) s += v[i] * v[i]
  return Math.sqrt(s)
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
