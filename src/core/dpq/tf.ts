// The tfjs instance DPQ trains and encodes with, and matrix products that train fast on wasm.
// The caller picks the backend before training or encoding (modeling/backend.ts in Node, the
// compute page in a browser): nothing here touches Node.
import * as tf from '@tensorflow/tfjs'

export { tf }
export type Tensor = tf.Tensor

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

// Reading tensors back: Node's backends and WebGL read synchronously, while tfjs-backend-webgpu's
// synchronous read goes through a canvas that returns zeros on Chromium's software adapter (and
// stalls a real GPU). A computation that reads mid-way is written once, as a generator that yields
// each tensor it needs the values of and receives them; these run it either way, identically.

/** A computation that yields tensors to read (each disposed once read) and gets back their values. */
export type Reading<R> = Generator<tf.Tensor, R, tf.TypedArray>

/** Runs `reading` with synchronous reads. */
export function readingSync<R>(reading: Reading<R>): R {
  try {
    let next = reading.next(undefined as unknown as tf.TypedArray)
    while (!next.done) next = reading.next(valuesOf(next.value, next.value.dataSync()))
    return next.value
  } finally {
    reading.return(undefined as R)
  }
}

/** Runs `reading` with awaited reads (every backend, WebGPU included). */
export async function readingAsync<R>(reading: Reading<R>): Promise<R> {
  try {
    let next = reading.next(undefined as unknown as tf.TypedArray)
    while (!next.done) next = reading.next(valuesOf(next.value, await next.value.data()))
    return next.value
  } finally {
    reading.return(undefined as R)
  }
}

function valuesOf(t: tf.Tensor, values: tf.TypedArray): tf.TypedArray {
  t.dispose()
  return values
}
