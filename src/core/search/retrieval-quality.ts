// How well search finds look-alikes among labelled photos. Every query ranks the whole database with
// the search kernels the app uses (the code scan over the first l blocks, exact mode's re-rank by
// cosine of float embeddings), or by cosine of plain vectors such as the stored backbone feature; a
// database photo is relevant when it shares a label with the query. Each ranking gives precision@k
// and average precision, averaged over the queries (the latter is mAP@all).
import { averagePrecision, precisionAt, sharesLabel, type LabelSet } from '../dpq/metrics.ts'
import { CodeMatrix } from './code-matrix.ts'
import { cosine, exactSearch } from './exact.ts'
import { lookupTable } from './lookup-table.ts'
import { searchCodes } from './scan.ts'
import { TopK } from './top-k.ts'

export interface RankingQuality {
  /** Mean precision@k over the queries. */
  precisionAtK: number
  /** Mean average precision over each query's full ranking of the database. */
  map: number
}

/** Queries (their float embeddings) against a database encoded by one model. */
export interface CodedDatabase {
  /** The model's codebooks, M × K × D. */
  quantizer: { M: number; K: number; D: number; codebooks: Float32Array }
  queries: readonly Float32Array[]
  /** Database codes, n × M, row-major. */
  codes: Uint8Array
  /** Each database photo's float embedding (what exact mode re-ranks by). */
  embeddings: readonly Float32Array[]
}

export interface Relevance {
  queryLabels: readonly LabelSet[]
  databaseLabels: readonly LabelSet[]
}

/** Ranking quality of search at each code length in `bits` (8 per block) and of exact mode ('exact'). */
export function searchQuality(set: CodedDatabase, bits: readonly number[], relevance: Relevance, k: number): Record<string, RankingQuality> {
  const { M, K, D, codebooks } = set.quantizer
  const n = set.embeddings.length
  const matrix = new CodeMatrix(M, n)
  // Photo ids are database positions + 1 (ids start at 1); equal scores rank in database order.
  for (let j = 0; j < n; j++) matrix.set(j + 1, set.codes.subarray(j * M, (j + 1) * M), { rootId: 0, takenAt: 0 })
  const tables = set.queries.map((q) => lookupTable(q, codebooks, M, K, D))
  const positions = (ids: Int32Array) => Int32Array.from(ids, (id) => id - 1)
  const out: Record<string, RankingQuality> = {}
  for (const b of bits) {
    if (!Number.isInteger(b / 8) || b < 8 || b > 8 * M) throw new Error(`Code lengths are 8 … ${8 * M} bits in steps of 8, got ${b}`)
    out[b] = rankingQuality((q) => positions(searchCodes(matrix, tables[q], { blocks: b / 8, k: n }).ids), relevance, k)
  }
  const model = { codebooks, K, D }
  out.exact = rankingQuality((q) => positions(exactSearch(matrix, tables[q], set.queries[q], (id) => set.embeddings[id - 1], { k: n, model }).ids), relevance, k)
  return out
}

/** Ranking quality of cosine similarity between plain vectors (the stored backbone feature, say). */
export function cosineQuality(queries: readonly Float32Array[], database: readonly Float32Array[], relevance: Relevance, k: number): RankingQuality {
  return rankingQuality((q) => {
    const query = queries[q]
    const queryNorm = Math.hypot(...query)
    const top = new TopK(database.length)
    database.forEach((v, j) => top.offer(cosine(query, queryNorm, v), j + 1))
    return Int32Array.from(top.result().ids, (id) => id - 1)
  }, relevance, k)
}

/** Precision@k and average precision of each query's ranking (database positions, best first), averaged. */
export function rankingQuality(rank: (query: number) => Int32Array, relevance: Relevance, k: number): RankingQuality {
  const { queryLabels, databaseLabels } = relevance
  let precisionSum = 0
  let apSum = 0
  for (let q = 0; q < queryLabels.length; q++) {
    const relevant = Array.from(rank(q), (j) => sharesLabel(queryLabels[q], databaseLabels[j]))
    precisionSum += precisionAt(relevant, k)
    apSum += averagePrecision(relevant)
  }
  const count = Math.max(1, queryLabels.length)
  return { precisionAtK: precisionSum / count, map: apSum / count }
}
