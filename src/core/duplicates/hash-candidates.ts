// Candidate pairs from perceptual hashes: every pair of photos whose hashes differ in at most
// `maxDistance` bits. The code scan finds copies by their features, and a copy too small for the
// network to see well (a 100 px resize) can fall outside a photo's top k there while its hash is
// still a few bits from the original's.
//
// Multi-index hashing: the 64 bits are cut into maxDistance + 1 blocks (or more), so two hashes within
// maxDistance bits agree exactly on at least one block (pigeonhole). Photos are bucketed by each
// block's value and a query compares only the photos sharing one of its blocks; a pair is kept at
// the first block both agree on, so each is found once.
import { hammingDistance } from './perceptual-hash.ts'

/**
 * A bucket this full (one block's value shared by this many photos) describes no picture: blank or
 * uniform images. It is skipped, leaving those photos to the code scan, so the pass stays linear.
 */
const MAX_BUCKET = 4096

export interface HashCandidateOptions {
  /** Rows to query (default: every row); pairs have at least one end among them. */
  rows?: Int32Array
  /** Rows without a hash (0) take no part; default: every row has one. */
  known?: Uint8Array
}

/**
 * Pairs of photo ids (a < b), each once, whose hashes (two 32-bit words per row, rows in the order
 * of `ids`) are at most maxDistance bits apart. Sorted by a, then b.
 */
export function hashCandidatePairs(hashes: Uint32Array, ids: Int32Array, maxDistance: number, options: HashCandidateOptions = {}): { a: Int32Array; b: Int32Array } {
  const n = ids.length
  if (hashes.length < 2 * n) throw new Error(`${hashes.length / 2} hashes for ${n} photos`)
  if (!Number.isInteger(maxDistance) || maxDistance < 0 || maxDistance > 15) throw new Error(`maxDistance must be 0…15, got ${maxDistance}`)
  // at least 4 blocks, so a block's value indexes a table of at most 2^16 buckets
  const blocks = blockLayout(Math.max(4, maxDistance + 1))
  const B = blocks.length
  const known = options.known
  const keys = new Uint32Array(n * B)
  for (let r = 0; r < n; r++) for (let k = 0; k < B; k++) keys[r * B + k] = bitsOf(hashes[2 * r], hashes[2 * r + 1], blocks[k].start, blocks[k].length)
  const buckets = blocks.map((block, k) => bucketRows(keys, B, k, block.length, n, known))

  const found: number[] = []
  const queries = options.rows ?? Int32Array.from({ length: n }, (_, i) => i)
  const querying = options.rows ? new Uint8Array(n) : null
  if (querying) for (const q of queries) querying[q] = 1
  for (const q of queries) {
    if (known && !known[q]) continue
    for (let k = 0; k < B; k++) {
      const { rows, start } = buckets[k]
      const key = keys[q * B + k]
      const from = start[key]
      const to = start[key + 1]
      if (to - from > MAX_BUCKET) continue
      for (let i = from; i < to; i++) {
        const r = rows[i]
        // each pair once: from its smaller query row, or from the queried end when only one is
        if (r === q || (r < q && (!querying || querying[r]))) continue
        if (firstSharedBlock(keys, B, q, r) !== k) continue
        if (hammingDistance(hashes, q, r) > maxDistance) continue
        found.push(ids[q] < ids[r] ? ids[q] : ids[r], ids[q] < ids[r] ? ids[r] : ids[q])
      }
    }
  }
  return sortedPairs(found)
}

/** `count` blocks covering the 64 bits, as even as can be (the first ones a bit longer). */
function blockLayout(count: number): { start: number; length: number }[] {
  const out: { start: number; length: number }[] = []
  let start = 0
  for (let k = 0; k < count; k++) {
    const length = Math.floor(64 / count) + (k < 64 % count ? 1 : 0)
    out.push({ start, length })
    start += length
  }
  return out
}

/** Bits start … start + length − 1 (from the high end) of the 64-bit value [high, low]. */
function bitsOf(high: number, low: number, start: number, length: number): number {
  let value = 0
  for (let b = start; b < start + length; b++) {
    const word = b < 32 ? high : low
    value = value * 2 + ((word >>> (31 - (b & 31))) & 1)
  }
  return value
}

function firstSharedBlock(keys: Uint32Array, B: number, x: number, y: number): number {
  for (let k = 0; k < B; k++) if (keys[x * B + k] === keys[y * B + k]) return k
  return -1
}

/** Rows ordered by block k's value: rows of value v are rows[start[v] … start[v+1]). */
function bucketRows(keys: Uint32Array, B: number, k: number, bits: number, n: number, known?: Uint8Array): { rows: Int32Array; start: Int32Array } {
  const values = 2 ** bits
  const start = new Int32Array(values + 1)
  for (let r = 0; r < n; r++) if (!known || known[r]) start[keys[r * B + k] + 1]++
  for (let v = 0; v < values; v++) start[v + 1] += start[v]
  const fill = start.slice(0, values)
  const rows = new Int32Array(start[values])
  for (let r = 0; r < n; r++) if (!known || known[r]) rows[fill[keys[r * B + k]]++] = r
  return { rows, start }
}

function sortedPairs(flat: number[]): { a: Int32Array; b: Int32Array } {
  const keys = new Float64Array(flat.length / 2)
  for (let i = 0; i < keys.length; i++) keys[i] = flat[2 * i] * 2 ** 31 + flat[2 * i + 1]
  keys.sort()
  const a = new Int32Array(keys.length)
  const b = new Int32Array(keys.length)
  for (let i = 0; i < keys.length; i++) {
    const hi = Math.floor(keys[i] / 2 ** 31)
    a[i] = hi
    b[i] = keys[i] - hi * 2 ** 31
  }
  return { a, b }
}
