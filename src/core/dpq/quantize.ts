// Progressive (residual) quantization: block m picks the codeword closest in angle to what
// blocks 1..m−1 left over. The first l bytes of a code are therefore a valid l-block code.
import { l2normalize } from './kmeans.ts'
import { matMulT, readingAsync, readingSync, tf, type Reading } from './tf.ts'

export interface Quantizer {
  M: number
  K: number
  D: number
  /** Flat [M, K, D]. */
  codebooks: Float32Array
}

/** Codes (n × M bytes, row-major) for n embeddings given as a flat [n, D] array. */
export function quantize(q: Quantizer, embeddings: Float32Array): Uint8Array {
  return readingSync(coding(q, embeddings))
}

/** quantize with awaited reads (WebGPU). */
export function quantizeAsync(q: Quantizer, embeddings: Float32Array): Promise<Uint8Array> {
  return readingAsync(coding(q, embeddings))
}

function* coding(q: Quantizer, embeddings: Float32Array): Reading<Uint8Array> {
  const n = embeddings.length / q.D
  const codes = new Uint8Array(n * q.M)
  const blocks = Array.from({ length: q.M }, (_, m) => q.codebooks.subarray(m * q.K * q.D, (m + 1) * q.K * q.D))
  const chunk = 2048
  for (let start = 0; start < n; start += chunk) {
    const rows = Math.min(chunk, n - start)
    const picked = tf.tidy(() => {
      let residual: tf.Tensor2D = tf.tensor2d(embeddings.subarray(start * q.D, (start + rows) * q.D), [rows, q.D])
      const out: tf.Tensor1D[] = []
      for (const block of blocks) {
        const c = tf.tensor2d(block, [q.K, q.D])
        const k = matMulT(l2normalize(residual), l2normalize(c)).argMax(1) as tf.Tensor1D
        out.push(k)
        residual = residual.sub(tf.gather(c, k))
      }
      return tf.stack(out, 1)
    })
    codes.set(yield picked, start * q.M)
  }
  return codes
}

/** H_l: the sum of the first `blocks` codewords of each code, flat [n, D]. */
export function reconstruct(q: Quantizer, codes: Uint8Array, blocks = q.M): Float32Array {
  const n = codes.length / q.M
  const out = new Float32Array(n * q.D)
  for (let i = 0; i < n; i++) {
    const row = out.subarray(i * q.D, (i + 1) * q.D)
    for (let m = 0; m < blocks; m++) {
      const base = (m * q.K + codes[i * q.M + m]) * q.D
      for (let j = 0; j < q.D; j++) row[j] += q.codebooks[base + j]
    }
  }
  return out
}
