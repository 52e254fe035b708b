// Codes before any album exists: x = the backbone feature, less half the library's mean, projected
// on its top D principal directions; codebooks by residual k-means with the same angle-based
// assignment the supervised quantizer uses. Search ranks by ⟨q, x̂⟩; the feature is L2-normalised, so
// for a query f, ⟨f − αμ, g − αμ⟩ = cos(f, g) − α⟨g, μ⟩ + const: its own cosine, less a penalty for
// photos that look like the library's average (hubs that would top every list). Measured at 32 bits
// (docs/dpq.md, "Unsupervised centring"): α = 1 ranks well in one-kind libraries (clothing-small P@20 0.444) but loses
// the feature's cosine in mixed ones (coco256 0.383 against 0.453); α = 0 the reverse (0.424 / 0.453);
// α = 0.5 keeps most of both (0.461 / 0.443).
import { kmeans } from './kmeans.ts'
import { DpqModel, type DpqParams, type Head } from './model.ts'
import { createRng, normal, sampleIndices } from './prng.ts'
import { quantize, reconstruct } from './quantize.ts'
import { tf } from './tf.ts'

/** Recorded in the model's params; models fitted by an earlier method are refitted. */
export const UNSUPERVISED_METHOD = 'half-centred-pca+residual-kmeans'

/** The share of the library's mean taken off every feature (α above). */
export const CENTRING = 0.5

export interface UnsupervisedOptions {
  M: number
  K: number
  D: number
  gamma: number
  seed: number
  /** Points used for PCA and k-means (a sample of large libraries). */
  maxPoints?: number
  kmeansIterations?: number
}

export function trainUnsupervised(features: readonly Float32Array[], options: UnsupervisedOptions, tick?: (done: number, total: number) => void): DpqModel {
  const { M, K, seed } = options
  const inputDim = features[0].length
  const D = Math.min(options.D, inputDim)
  const rng = createRng(seed)
  const used = sampleIndices(features.length, options.maxPoints ?? 5000, rng).sort((a, b) => a - b)
  const sample = new Float32Array(used.length * inputDim)
  used.forEach((r, i) => sample.set(features[r], i * inputDim))

  const { mean, scale, basis } = pca(sample, inputDim, D, seed, { centring: CENTRING })
  const head: Head = { mean, scale, layers: [{ inDim: inputDim, outDim: D, activation: 'linear', weights: basis, bias: new Float32Array(D) }] }
  const params: DpqParams = { kind: 'unsupervised', M, K, D, gamma: options.gamma, inputDim, seed, method: UNSUPERVISED_METHOD }
  const placeholder = new DpqModel(params, head, new Float32Array(M * K * D))
  const x = placeholder.embedFlat(used.map((r) => features[r]))

  // Block by block: k-means on what the previous blocks left over.
  const codebooks = new Float32Array(M * K * D)
  const residual = x.slice()
  for (let m = 0; m < M; m++) {
    const block = kmeans(residual, D, { k: K, assign: 'cosine', seed: seed + 101 * (m + 1), iterations: options.kmeansIterations ?? 12 })
    codebooks.set(block, m * K * D)
    const q = { M: 1, K, D, codebooks: block }
    const codes = quantize(q, residual)
    const hard = reconstruct(q, codes)
    for (let i = 0; i < residual.length; i++) residual[i] -= hard[i]
    tick?.(m + 1, M)
  }
  return new DpqModel(params, head, codebooks)
}

/**
 * The centre (`centring` × the points' mean: 1 by default, the usual PCA), a global scale (so x has
 * unit variance per dimension on average) and the top-`k` principal directions of the points about
 * that centre as a flat [dim, k] matrix, by subspace iteration.
 */
export function pca(points: Float32Array, dim: number, k: number, seed: number, { centring = 1, iterations = 12 } = {}): { mean: Float32Array; scale: Float32Array; basis: Float32Array } {
  const n = points.length / dim
  const mean = new Float32Array(dim)
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) mean[j] += (centring * points[i * dim + j]) / n
  const rng = createRng(seed)
  let basis = new Float32Array(dim * k)
  for (let i = 0; i < basis.length; i++) basis[i] = normal(rng)
  orthonormalizeColumns(basis, dim, k)
  const cov = tf.tidy(() => {
    const x = tf.tensor2d(points, [n, dim]).sub(tf.tensor1d(mean))
    return tf.matMul(tf.transpose(x), x).div(Math.max(1, n - 1))
  })
  let variance = 0
  try {
    for (let it = 0; it < iterations; it++) {
      const next = tf.tidy(() => tf.matMul(cov, tf.tensor2d(basis, [dim, k])).dataSync() as Float32Array)
      basis = Float32Array.from(next)
      orthonormalizeColumns(basis, dim, k)
    }
    variance = tf.tidy(() => tf.sum(tf.mul(tf.matMul(cov, tf.tensor2d(basis, [dim, k])), tf.tensor2d(basis, [dim, k]))).dataSync()[0])
  } finally {
    cov.dispose()
  }
  const s = variance > 0 ? Math.sqrt(k / variance) : 1
  return { mean, scale: new Float32Array(dim).fill(s), basis }
}

/** Modified Gram–Schmidt on the columns of a flat [rows, cols] matrix; degenerate columns become zero. */
export function orthonormalizeColumns(a: Float32Array, rows: number, cols: number): void {
  const col = new Float64Array(rows)
  for (let c = 0; c < cols; c++) {
    for (let r = 0; r < rows; r++) col[r] = a[r * cols + c]
    for (let p = 0; p < c; p++) {
      let dot = 0
      for (let r = 0; r < rows; r++) dot += col[r] * a[r * cols + p]
      for (let r = 0; r < rows; r++) col[r] -= dot * a[r * cols + p]
    }
    let norm = 0
    for (let r = 0; r < rows; r++) norm += col[r] * col[r]
    norm = Math.sqrt(norm)
    for (let r = 0; r < rows; r++) a[r * cols + c] = norm > 1e-9 ? col[r] / norm : 0
  }
}
