// Candidate pairs for duplicate detection: every photo's code is a query against the whole code
// matrix at a short code length, and its top k become candidates. Near-duplicates share most of
// their code, so the score compares codes block by block: −Σ_m ‖c_{m,q_m} − c_{m,r_m}‖², the
// squared distances between the query's codewords and the photo's (symmetric distance, precomputed
// once per model as K × K per block). Identical prefixes score 0, the best possible. An inner
// product with the query's reconstruction would instead favour photos whose codewords are long.
//
// Scanning every photo for every photo is quadratic (100k photos: 10¹⁰ visits). Instead photos are
// bucketed by their first codeword, and a query visits buckets nearest first: a photo in bucket c
// scores at most −‖c_{0,q_0} − c_{0,c}‖² (its other blocks add ≤ 0), so once that bound falls below
// the k-th best score, no later bucket can contribute. The result is exactly the full scan's. DPQ's
// first block carries most of a photo's position, so a query usually reads one or two buckets.

import type { CodeMatrix } from '../search/code-matrix.ts'
import { TopK } from '../search/top-k.ts'

/** dist[(m·K + i)·K + j] = ‖c_{m,i} − c_{m,j}‖² for the first `blocks` blocks. */
export function codewordDistances(codebooks: Float32Array, M: number, K: number, D: number, blocks: number): Float32Array {
  if (codebooks.length !== M * K * D) throw new Error(`Codebooks hold ${codebooks.length} values, expected M·K·D = ${M * K * D}`)
  if (!Number.isInteger(blocks) || blocks < 1 || blocks > M) throw new Error(`blocks must be 1…${M}, got ${blocks}`)
  const dist = new Float32Array(blocks * K * K)
  for (let m = 0; m < blocks; m++) {
    for (let i = 0; i < K; i++) {
      const a = (m * K + i) * D
      for (let j = i + 1; j < K; j++) {
        const b = (m * K + j) * D
        let s = 0
        for (let d = 0; d < D; d++) {
          const diff = codebooks[a + d] - codebooks[b + d]
          s += diff * diff
        }
        dist[(m * K + i) * K + j] = s
        dist[(m * K + j) * K + i] = s
      }
    }
  }
  return dist
}

export interface CandidateOptions {
  /** Code length of the scan, in blocks (bits = 8 · blocks). */
  blocks: number
  /** Candidates per photo. */
  k: number
  /** Rows to query (default: every row). */
  rows?: Int32Array
  /** Called after each query row; return true to stop (cancel). */
  onRow?: (done: number, total: number) => boolean | void
}

/**
 * Pairs of photo ids (a < b), each once, where one is among the other's top k at the given code
 * length. Sorted by a, then b.
 */
export function candidatePairs(matrix: CodeMatrix, dist: Float32Array, K: number, options: CandidateOptions): { a: Int32Array; b: Int32Array } {
  const M = matrix.blocks
  const { blocks, k } = options
  if (dist.length < blocks * K * K) throw new Error(`Codeword distances cover ${dist.length / (K * K)} blocks, ${blocks} asked`)
  const total = options.rows ? options.rows.length : matrix.size
  const buckets = bucketRows(matrix, K)
  const nearest = nearestCodewords(dist, K)
  const codes = matrix.codes
  const ids = matrix.ids
  // (smaller id, larger id) packed into one double: ids are below 2^31, so the key is exact
  let keys = new Float64Array(Math.max(16, total * k))
  let n = 0
  for (let i = 0; i < total; i++) {
    const row = options.rows ? options.rows[i] : i
    const id = ids[row]
    const q = row * M
    const top = new TopK(k, id)
    const q0 = codes[q]
    for (let j = 0; j < K; j++) {
      const bucket = nearest[q0 * K + j]
      const head = -dist[q0 * K + bucket]
      if (head < top.threshold) break
      for (let b = buckets.start[bucket], end = buckets.start[bucket + 1]; b < end; b++) {
        const r = buckets.rows[b] * M
        let s = head
        for (let m = 1; m < blocks; m++) s -= dist[(m * K + codes[q + m]) * K + codes[r + m]]
        if (s >= top.threshold) top.offer(s, ids[buckets.rows[b]])
      }
    }
    const found = top.result().ids
    if (n + found.length > keys.length) {
      const grown = new Float64Array(keys.length * 2 + found.length)
      grown.set(keys)
      keys = grown
    }
    for (const other of found) keys[n++] = id < other ? id * 2 ** 31 + other : other * 2 ** 31 + id
    if (options.onRow?.(i + 1, total)) break
  }
  return uniquePairs(keys.subarray(0, n))
}

/** The pairs of several lists, each once, sorted by a, then b. */
export function mergePairs(lists: readonly { a: Int32Array; b: Int32Array }[]): { a: Int32Array; b: Int32Array } {
  const keys = new Float64Array(lists.reduce((n, l) => n + l.a.length, 0))
  let n = 0
  for (const { a, b } of lists) for (let i = 0; i < a.length; i++) keys[n++] = a[i] * 2 ** 31 + b[i]
  return uniquePairs(keys)
}

function uniquePairs(keys: Float64Array): { a: Int32Array; b: Int32Array } {
  const sorted = keys.sort()
  let unique = 0
  for (let i = 0; i < sorted.length; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) sorted[unique++] = sorted[i]
  const a = new Int32Array(unique)
  const b = new Int32Array(unique)
  for (let i = 0; i < unique; i++) {
    const hi = Math.floor(sorted[i] / 2 ** 31)
    a[i] = hi
    b[i] = sorted[i] - hi * 2 ** 31
  }
  return { a, b }
}

/** Rows ordered by their first codeword: rows of codeword c are rows[start[c] … start[c+1]). */
function bucketRows(matrix: CodeMatrix, K: number): { rows: Int32Array; start: Int32Array } {
  const M = matrix.blocks
  const n = matrix.size
  const start = new Int32Array(K + 1)
  for (let r = 0; r < n; r++) start[matrix.codes[r * M] + 1]++
  for (let c = 0; c < K; c++) start[c + 1] += start[c]
  const fill = start.slice(0, K)
  const rows = new Int32Array(n)
  for (let r = 0; r < n; r++) rows[fill[matrix.codes[r * M]]++] = r
  return { rows, start }
}

/** For each first-block codeword, every codeword of that block, nearest first. */
function nearestCodewords(dist: Float32Array, K: number): Uint16Array {
  const out = new Uint16Array(K * K)
  const order = Array.from({ length: K }, (_, i) => i)
  for (let c = 0; c < K; c++) {
    const d = dist.subarray(c * K, c * K + K)
    order.sort((x, y) => d[x] - d[y] || x - y)
    out.set(order, c * K)
  }
  return out
}
