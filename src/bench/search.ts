// `lookalike bench search`: query latency over a synthetic library with the real code shapes
// (M = 8 blocks of K = 256 codewords over a D = 256 embedding), at every code length, in exact mode,
// and for brute-force float cosine as the baseline. Single thread, median over the queries.

import { CodeMatrix } from '../core/search/code-matrix.ts'
import { exactSearch } from '../core/search/exact.ts'
import { lookupTable } from '../core/search/lookup-table.ts'
import { searchCodes } from '../core/search/scan.ts'
import { gaussian, randomCodes, reconstruct, seededRandom, syntheticModel } from './synthetic.ts'
import { TopK } from '../core/search/top-k.ts'

export interface BenchSearchOptions {
  n: number
  k?: number
  /** Timed queries (median over them); at least 50 for reported numbers. */
  queries?: number
  blocks?: number
  dim?: number
  seed?: number
}

export interface Latency {
  /** Median wall time per query, ms. */
  ms_per_query: number
  /** Median CPU time per query, ms: what a query costs on a shared machine, where wall time also counts waits. */
  cpu_ms_per_query: number
}

export interface BenchSearchReport {
  n: number
  k: number
  queries: number
  M: number
  K: number
  D: number
  /** Per code length: lookup table + scan + top-k. */
  bits: Record<string, Latency>
  /** 64-bit search restricted to one of two roots, to the first tenth by date, to a 1,000-photo album. */
  filtered_64bit: Record<string, Latency>
  /** Building the M × K lookup table alone (included in every `bits` entry). */
  table_ms_per_query: number
  exact_ms_per_query: number
  exact_cpu_ms_per_query: number
  /** Median number of photos re-ranked by float embedding in exact mode. */
  exact_shortlist: number
  /** Once per model: the norm of every photo's code reconstruction, which exact mode shortlists by. */
  exact_setup_s: number
  float_bruteforce_ms_per_query: number
  float_bruteforce_cpu_ms_per_query: number
  /** Brute force cycles through this many stored embeddings (n × D floats would not fit in memory). */
  float_bruteforce_stored_rows: number
  /** Brute-force CPU time over 64-bit code CPU time. */
  speedup_64bit_vs_float: number
  code_mb: number
  matrix_mb: number
  rss_mb: number
}

const K = 256
const BRUTE_FORCE_ROWS = 1 << 16
const WARMUP = 5
const RESIDUALS = 4096

export function benchSearch(options: BenchSearchOptions): BenchSearchReport {
  const { n, k = 100, queries = 60, blocks: M = 8, dim: D = 256, seed = 1 } = options
  if (!Number.isInteger(n) || n < 1) throw new Error(`n must be a positive integer, got ${n}`)
  const model = syntheticModel(M, K, D, seed)
  const codes = randomCodes(new Uint8Array(n * M), K, seed + 1)
  const matrix = new CodeMatrix(M, n)
  const time0 = Date.UTC(2020, 0, 1)
  // two library roots, one photo a minute
  for (let i = 0; i < n; i++) matrix.set(i + 1, codes.subarray(i * M, (i + 1) * M), { rootId: 1 + (i % 2), takenAt: time0 + i * 60_000 })

  // A photo's float embedding = its code's reconstruction + a residual. The app reads embeddings from a
  // cache; drawing a fresh Gaussian residual per call would time the random generator instead.
  const normal = gaussian(seededRandom(seed + 3))
  const residuals = Float32Array.from({ length: RESIDUALS * D }, () => normal() * model.residual)
  const embeddingOf = (photoId: number) => {
    const e = reconstruct(model, matrix.codeOf(photoId)!)
    const o = (photoId % RESIDUALS) * D
    for (let d = 0; d < D; d++) e[d] += residuals[o + d]
    return e
  }

  // queries are library photos ("more like this one")
  const random = seededRandom(seed + 2)
  const queryIds = Array.from({ length: queries + WARMUP }, () => 1 + Math.floor(random() * n))
  const queryEmbeddings = queryIds.map(embeddingOf)
  const tables: Float32Array[] = []
  const tableTime = timeQueries(queryIds, (_, q) => tables.push(lookupTable(queryEmbeddings[q], model.codebooks, M, K, D)))

  // one code length at a time, as a user holding the precision slider still would
  const bits: Record<string, Latency> = {}
  for (let l = 1; l <= M; l++) {
    const scan = timeQueries(queryIds, (photoId, q) => searchCodes(matrix, tables[q], { blocks: l, k, excludeId: photoId }))
    bits[String(8 * l)] = { ms_per_query: round(tableTime.wall + scan.wall), cpu_ms_per_query: round(tableTime.cpu + scan.cpu) }
  }

  // filtered 64-bit searches: half the library (one root), the first tenth by date, a 1,000-photo album
  const album = Array.from({ length: Math.min(n, 1000) }, () => 1 + Math.floor(random() * n))
  const filters = { root: { rootId: 2 }, date: { to: time0 + Math.floor(n / 10) * 60_000 }, album: { album } }
  const filtered: Record<string, Latency> = {}
  for (const [name, filter] of Object.entries(filters)) {
    const scan = timeQueries(queryIds, (photoId, q) => searchCodes(matrix, tables[q], { blocks: M, k, excludeId: photoId, filter }))
    filtered[name] = { ms_per_query: round(tableTime.wall + scan.wall), cpu_ms_per_query: round(tableTime.cpu + scan.cpu) }
  }

  // exact mode's one-off setup: ‖x̂‖ of every photo's code (then kept up to date row by row)
  let start = performance.now()
  matrix.reconstructionNorms(model.codebooks, K, D)
  const normsSeconds = (performance.now() - start) / 1000

  const shortlists: number[] = []
  const exact = timeQueries(queryIds, (photoId, q) => {
    const query = queryEmbeddings[q]
    const table = lookupTable(query, model.codebooks, M, K, D)
    const result = exactSearch(matrix, table, query, embeddingOf, { k, excludeId: photoId, model })
    if (q >= WARMUP) shortlists.push(result.shortlist)
  })
  const codeBytes = matrix.size * M
  const matrixBytes = matrix.bytes

  const brute = bruteForce(n, D, k, queryIds, queryEmbeddings, embeddingOf)
  return {
    n,
    k,
    queries,
    M,
    K,
    D,
    bits,
    filtered_64bit: filtered,
    table_ms_per_query: round(tableTime.wall),
    exact_ms_per_query: round(exact.wall),
    exact_cpu_ms_per_query: round(exact.cpu),
    exact_shortlist: median(shortlists),
    exact_setup_s: round(normsSeconds),
    float_bruteforce_ms_per_query: round(brute.wall),
    float_bruteforce_cpu_ms_per_query: round(brute.cpu),
    float_bruteforce_stored_rows: Math.min(n, BRUTE_FORCE_ROWS),
    speedup_64bit_vs_float: Math.round(brute.cpu / bits[String(8 * M)].cpu_ms_per_query),
    code_mb: round(codeBytes / 2 ** 20),
    matrix_mb: round(matrixBytes / 2 ** 20),
    rss_mb: Math.round(process.memoryUsage().rss / 2 ** 20),
  }
}

/** Cosine of the query against n stored embeddings (norms precomputed, as a real index would), top-k. */
function bruteForce(
  n: number,
  D: number,
  k: number,
  queryIds: number[],
  queryEmbeddings: Float32Array[],
  embeddingOf: (id: number) => Float32Array,
): { wall: number; cpu: number } {
  const rows = Math.min(n, BRUTE_FORCE_ROWS)
  const stored = new Float32Array(rows * D)
  const inverseNorms = new Float64Array(rows)
  for (let r = 0; r < rows; r++) {
    const e = embeddingOf(r + 1)
    stored.set(e, r * D)
    inverseNorms[r] = 1 / Math.hypot(...e)
  }
  return timeQueries(queryIds, (photoId, q) => {
    const query = queryEmbeddings[q]
    const inverseQueryNorm = 1 / Math.hypot(...query)
    const top = new TopK(k, photoId)
    let thr = top.threshold
    for (let i = 0, r = 0; i < n; i++, r = r + 1 === rows ? 0 : r + 1) {
      let dot = 0
      for (let d = 0, o = r * D; d < D; d++) dot += query[d] * stored[o + d]
      const s = dot * inverseNorms[r] * inverseQueryNorm
      if (s >= thr) thr = top.offer(s, i + 1)
    }
    top.result()
  })
}

/** Median wall and CPU time per query over the queries after the warm-up ones, ms. */
function timeQueries(queryIds: number[], run: (photoId: number, q: number) => void): { wall: number; cpu: number } {
  const wall: number[] = []
  const cpu: number[] = []
  queryIds.forEach((photoId, q) => {
    const cpuStart = process.cpuUsage()
    const start = performance.now()
    run(photoId, q)
    const elapsed = performance.now() - start
    const used = process.cpuUsage(cpuStart)
    if (q < WARMUP) return
    wall.push(elapsed)
    cpu.push((used.user + used.system) / 1000)
  })
  return { wall: median(wall), cpu: median(cpu) }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

const round = (x: number) => Math.round(x * 1000) / 1000
