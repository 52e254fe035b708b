// k-means on the rows of a matrix, seeded. Used for PQ sub-codebooks and for initialising
// (or, without albums, training) DPQ's residual codebooks.
import { createRng, sampleIndices } from './prng.ts'
import { matMulT, readingAsync, readingSync, tf, type Reading } from './tf.ts'

export interface KmeansOptions {
  k: number
  iterations?: number
  seed?: number
  /** 'cosine' assigns by angle, as DPQ's hard quantizer does; 'euclidean' as PQ does. */
  assign?: 'euclidean' | 'cosine'
  /** Caps the points used for training (large libraries). */
  maxPoints?: number
}

/** Returns k centroids as a flat [k, dim] array. Fewer points than k: the extra centroids repeat points. */
export function kmeans(points: Float32Array, dim: number, options: KmeansOptions): Float32Array {
  return readingSync(lloyd(points, dim, options))
}

/** kmeans with awaited reads (a backend without usable synchronous reads: WebGPU). */
export function kmeansAsync(points: Float32Array, dim: number, options: KmeansOptions): Promise<Float32Array> {
  return readingAsync(lloyd(points, dim, options))
}

function* lloyd(points: Float32Array, dim: number, options: KmeansOptions): Reading<Float32Array> {
  const { k, iterations = 20, seed = 1, assign = 'euclidean', maxPoints = 20_000 } = options
  const n = points.length / dim
  const rng = createRng(seed)
  if (n === 0) return new Float32Array(k * dim)
  const used = n > maxPoints ? sampleIndices(n, maxPoints, rng).sort((a, b) => a - b) : null
  const data = used ? gatherRows(points, dim, used) : points
  const count = used ? used.length : n
  // Initial centroids: distinct random points, repeated when there are fewer points than k.
  const order = sampleIndices(count, count, rng)
  const init = Array.from({ length: k }, (_, i) => order[i % count])
  let centroids = gatherRows(data, dim, init)
  if (count <= k) return centroids

  const x = tf.tensor2d(data, [count, dim])
  try {
    for (let it = 0; it < iterations; it++) {
      const labels = (yield nearest(x, centroids, dim, assign)) as Int32Array
      const next = new Float32Array(k * dim)
      const sizes = new Int32Array(k)
      for (let i = 0; i < count; i++) {
        const c = labels[i]
        sizes[c]++
        const row = data.subarray(i * dim, (i + 1) * dim)
        const sum = next.subarray(c * dim, (c + 1) * dim)
        for (let j = 0; j < dim; j++) sum[j] += row[j]
      }
      let moved = false
      for (let c = 0; c < k; c++) {
        const sum = next.subarray(c * dim, (c + 1) * dim)
        if (sizes[c] === 0) {
          // An empty cluster restarts at a random point, so no codeword is wasted.
          const p = Math.floor(rng() * count)
          sum.set(data.subarray(p * dim, (p + 1) * dim))
          moved = true
          continue
        }
        for (let j = 0; j < dim; j++) sum[j] /= sizes[c]
      }
      if (!moved && sameCentroids(centroids, next)) break
      centroids = next
    }
  } finally {
    x.dispose()
  }
  return centroids
}

/** Index of the best centroid for every row of x (a [n, dim] tensor). */
export function assignNearest(x: tf.Tensor2D, centroids: Float32Array, dim: number, assign: 'euclidean' | 'cosine'): Int32Array {
  const labels = nearest(x, centroids, dim, assign)
  try {
    return labels.dataSync() as Int32Array
  } finally {
    labels.dispose()
  }
}

function nearest(x: tf.Tensor2D, centroids: Float32Array, dim: number, assign: 'euclidean' | 'cosine'): tf.Tensor1D {
  const k = centroids.length / dim
  return tf.tidy(() => {
    const c = tf.tensor2d(centroids, [k, dim])
    let score: tf.Tensor2D
    if (assign === 'cosine') {
      score = matMulT(l2normalize(x), l2normalize(c))
    } else {
      // argmin ‖x − c‖² = argmax (2 x·c − ‖c‖²)
      const cc = c.square().sum(1).reshape([1, k])
      score = matMulT(x, c).mul(2).sub(cc)
    }
    return score.argMax(1) as tf.Tensor1D
  })
}

export function l2normalize<T extends tf.Tensor>(x: T): T {
  return tf.tidy(() => x.div(x.square().sum(-1, true).add(1e-12).sqrt())) as T
}

export function gatherRows(points: Float32Array, dim: number, rows: readonly number[]): Float32Array {
  const out = new Float32Array(rows.length * dim)
  rows.forEach((r, i) => out.set(points.subarray(r * dim, (r + 1) * dim), i * dim))
  return out
}

function sameCentroids(a: Float32Array, b: Float32Array): boolean {
  for (let i = 0; i < a.length; i++) if (Math.abs(a[i] - b[i]) > 1e-6) return false
  return true
}
