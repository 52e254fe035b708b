// The tensors a supervised training reads: standardised inputs, multi-hot album targets, the
// fixed class vectors v_j, and Glorot initial weights.
import { applyTailAsync, tailOutDim } from './finetune.ts'
import { normal, type Rng } from './prng.ts'
import { tf } from './tf.ts'
import { orthonormalizeColumns } from './unsupervised.ts'

export interface Standardization {
  mean: Float32Array
  scale: Float32Array
}

/** Per-dimension mean and 1/std: backbone layers differ in scale by orders of magnitude. */
export function standardization(features: readonly Float32Array[], rows: readonly number[], dim: number): Standardization {
  const mean = new Float64Array(dim)
  const sq = new Float64Array(dim)
  for (const r of rows) {
    const f = features[r]
    for (let j = 0; j < dim; j++) {
      mean[j] += f[j]
      sq[j] += f[j] * f[j]
    }
  }
  const n = Math.max(1, rows.length)
  const scale = new Float32Array(dim)
  for (let j = 0; j < dim; j++) {
    mean[j] /= n
    const variance = sq[j] / n - mean[j] * mean[j]
    scale[j] = variance > 1e-12 ? 1 / Math.sqrt(variance) : 0
  }
  return { mean: Float32Array.from(mean), scale }
}

/** The rows as one [n, dim] tensor, standardised when `by` is given. */
export function matrixOf(features: readonly Float32Array[], rows: readonly number[], dim: number, by?: Standardization): tf.Tensor2D {
  const flat = new Float32Array(rows.length * dim)
  rows.forEach((r, i) => {
    const f = features[r]
    if (f.length !== dim) throw new Error(`Feature ${r} has ${f.length} dimensions, expected ${dim}`)
    if (!by) return flat.set(f, i * dim)
    for (let j = 0; j < dim; j++) flat[i * dim + j] = (f[j] - by.mean[j]) * by.scale[j]
  })
  return tf.tensor2d(flat, [rows.length, dim])
}

/** The pretrained tail's output for the given rows (the head's standardisation statistics come from it). */
export async function tailOutputs(tail: Parameters<typeof applyTailAsync>[0], features: readonly Float32Array[], rows: readonly number[], dim: number): Promise<Float32Array[]> {
  const flat = new Float32Array(rows.length * dim)
  rows.forEach((r, i) => flat.set(features[r], i * dim))
  const outDim = tailOutDim(tail.spec, dim)
  const out = await applyTailAsync(tail, flat, rows.length)
  return rows.map((_, i) => out.subarray(i * outDim, (i + 1) * outDim))
}

export function multiHot(labels: readonly (readonly number[])[], classes: number): tf.Tensor2D {
  const flat = new Float32Array(labels.length * classes)
  labels.forEach((l, i) => l.forEach((c) => (flat[i * classes + c] = 1)))
  return tf.tensor2d(flat, [labels.length, classes])
}

/** Fixed class vectors v_j: orthonormal when C ≤ D (margin δ = 1), random unit vectors otherwise. */
export function classVectorMatrix(classes: number, dim: number, rng: Rng): Float32Array {
  const v = Float32Array.from({ length: classes * dim }, () => normal(rng))
  if (classes <= dim) {
    // Orthonormalize rows = columns of the transpose.
    const t = new Float32Array(dim * classes)
    for (let c = 0; c < classes; c++) for (let j = 0; j < dim; j++) t[j * classes + c] = v[c * dim + j]
    orthonormalizeColumns(t, dim, classes)
    for (let c = 0; c < classes; c++) for (let j = 0; j < dim; j++) v[c * dim + j] = t[j * classes + c]
    return v
  }
  for (let c = 0; c < classes; c++) {
    let n = 0
    for (let j = 0; j < dim; j++) n += v[c * dim + j] ** 2
    n = Math.sqrt(n)
    for (let j = 0; j < dim; j++) v[c * dim + j] /= n
  }
  return v
}

export function glorot(fanIn: number, fanOut: number, rng: Rng): tf.Tensor2D {
  const limit = Math.sqrt(6 / (fanIn + fanOut))
  return tf.tensor2d(Float32Array.from({ length: fanIn * fanOut }, () => (rng() * 2 - 1) * limit), [fanIn, fanOut])
}

export function concatFlat(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}
