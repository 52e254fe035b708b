// The tfjs instance DPQ trains and encodes with, on the backend core/embed selects.
import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { availableParallelism } from 'node:os'
import { selectBackend } from '../embed/backend.ts'

export { tf }
export type Tensor = tf.Tensor

let ready: Promise<string> | null = null

/**
 * Activates the best backend once per process (core/embed's order: node-gpu → node → wasm → cpu,
 * or $LOOKALIKE_BACKEND) with every core for wasm: training runs in this thread. Returns its name.
 */
export function ensureBackend(): Promise<string> {
  ready ??= (async () => {
    // Already chosen in this process (e.g. by the embedder): keep it. Not tf.getBackend(), which
    // would initialise a default backend as a side effect.
    const current = tf.engine().backendName
    if (current === 'tensorflow' || current === 'wasm') return current
    try {
      return (await selectBackend({ threads: Number(process.env.DPQ_THREADS ?? availableParallelism()) })).name
    } catch {
      await tf.setBackend('cpu')
      return 'cpu'
    }
  })()
  return ready
}

/** Rows of a flat row-major matrix as one [n, dim] tensor. */
export function matrixTensor(rows: readonly Float32Array[], dim: number): tf.Tensor2D {
  const flat = new Float32Array(rows.length * dim)
  rows.forEach((row, i) => {
    if (row.length !== dim) throw new Error(`Feature ${i} has ${row.length} dimensions, expected ${dim}`)
    flat.set(row, i * dim)
  })
  return tf.tensor2d(flat, [rows.length, dim])
}

/** Splits a [n, dim] array back into rows (views onto one buffer). */
export function rowsOf(flat: Float32Array, dim: number): Float32Array[] {
  const n = dim === 0 ? 0 : flat.length / dim
  return Array.from({ length: n }, (_, i) => flat.subarray(i * dim, (i + 1) * dim))
}

// tfjs-wasm multiplies transposed operands (matMul's transposeA/B flags) 10–20× slower than
// plain ones, and matMul's own gradient uses those flags. So: transpose explicitly, and train
// through `mm`, whose gradient does the same.

/** a · bᵀ with an explicit transpose. */
export function matMulT(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.matMul(a, tf.transpose(b)))
}

/** a · b, differentiable, with gradients computed through explicit transposes. */
export const mm = tf.customGrad(((a: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
  save([a, b])
  return {
    value: tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [
      tf.matMul(dy as tf.Tensor2D, tf.transpose(saved[1] as tf.Tensor2D)),
      tf.matMul(tf.transpose(saved[0] as tf.Tensor2D), dy as tf.Tensor2D),
    ],
  }
}) as unknown as Parameters<typeof tf.customGrad>[0]) as (a: tf.Tensor, b: tf.Tensor) => tf.Tensor2D

/** a · bᵀ, differentiable (both sides). */
export function mmT(a: tf.Tensor, b: tf.Tensor): tf.Tensor2D {
  return mm(a, tf.transpose(b))
}
