// Product quantization, the baseline DPQ is measured against: split the vector into m
// contiguous sub-vectors, k-means each with 256 centroids, score by asymmetric distance (ADC).
// One model per code length: an m-byte code needs its own m sub-codebooks.
import { kmeans, assignNearest } from './kmeans.ts'
import { tf } from './tf.ts'

export const PQ_K = 256

export interface PqModel {
  /** Sub-quantizers (bytes per code). */
  m: number
  dim: number
  /** Start offset of each sub-vector, plus dim at the end. */
  bounds: number[]
  /** Per sub-quantizer: flat [256, width] centroids. */
  codebooks: Float32Array[]
}

export function subvectorBounds(dim: number, m: number): number[] {
  return Array.from({ length: m + 1 }, (_, i) => Math.round((i * dim) / m))
}

export function trainPq(points: Float32Array, dim: number, m: number, options: { seed?: number; iterations?: number } = {}): PqModel {
  const bounds = subvectorBounds(dim, m)
  const codebooks = bounds.slice(0, m).map((start, s) => {
    const width = bounds[s + 1] - start
    return kmeans(slice(points, dim, start, width), width, { k: PQ_K, seed: (options.seed ?? 1) + s, iterations: options.iterations ?? 15 })
  })
  return { m, dim, bounds, codebooks }
}

/** N × m code bytes, row-major. */
export function encodePq(pq: PqModel, points: Float32Array): Uint8Array {
  const n = points.length / pq.dim
  const codes = new Uint8Array(n * pq.m)
  for (let s = 0; s < pq.m; s++) {
    const width = pq.bounds[s + 1] - pq.bounds[s]
    const x = tf.tensor2d(slice(points, pq.dim, pq.bounds[s], width), [n, width])
    const labels = assignNearest(x, pq.codebooks[s], width, 'euclidean')
    x.dispose()
    for (let i = 0; i < n; i++) codes[i * pq.m + s] = labels[i]
  }
  return codes
}

/** Per query: [m, 256] squared distances from its sub-vectors to every centroid. */
export function pqDistanceTable(pq: PqModel, query: Float32Array): Float32Array {
  const table = new Float32Array(pq.m * PQ_K)
  for (let s = 0; s < pq.m; s++) {
    const start = pq.bounds[s]
    const width = pq.bounds[s + 1] - start
    const cb = pq.codebooks[s]
    for (let c = 0; c < PQ_K; c++) {
      let d = 0
      for (let j = 0; j < width; j++) {
        const t = query[start + j] - cb[c * width + j]
        d += t * t
      }
      table[s * PQ_K + c] = d
    }
  }
  return table
}

/** Copies columns [start, start + width) of every row. */
function slice(points: Float32Array, dim: number, start: number, width: number): Float32Array {
  const n = points.length / dim
  const out = new Float32Array(n * width)
  for (let i = 0; i < n; i++) out.set(points.subarray(i * dim + start, i * dim + start + width), i * width)
  return out
}
