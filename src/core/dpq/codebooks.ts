// The M residual codebooks of a supervised model: initial values (residual k-means on the current
// embeddings, or N(0, 0.01²) as in the authors' code), and fitting them alone on fixed embeddings,
// which may include photos in no album since L_Q needs no labels.
import { kmeansAsync } from './kmeans.ts'
import { normal, shuffle, type Rng } from './prng.ts'
import { quantizeAsync, reconstruct } from './quantize.ts'
import { tf } from './tf.ts'
import { checkCancelled, yieldTurn } from './training-scope.ts'
import type { TrainHooks } from './train.ts'

export interface CodebookInit {
  K: number
  D: number
  seed: number
  codebookInit: 'kmeans' | 'normal'
}

/** Sets every codebook from `embeddings` (flat [n, D], labelled and unlabelled photos alike). */
export async function initCodebooks(codebooks: readonly tf.Variable[], embeddings: Float32Array, o: CodebookInit, rng: Rng): Promise<void> {
  const { K, D } = o
  if (o.codebookInit === 'normal') {
    for (const c of codebooks) assignDisposing(c, tf.tensor2d(Float32Array.from({ length: K * D }, () => 0.01 * normal(rng)), [K, D]))
    return
  }
  const residual = embeddings.slice()
  for (const [m, c] of codebooks.entries()) {
    const block = await kmeansAsync(residual, D, { k: K, assign: 'cosine', seed: o.seed + 31 * (m + 1), iterations: 10, maxPoints: 8000 })
    assignDisposing(c, tf.tensor2d(block, [K, D]))
    const q = { M: 1, K, D, codebooks: block }
    const hard = reconstruct(q, await quantizeAsync(q, residual))
    for (let i = 0; i < residual.length; i++) residual[i] -= hard[i]
  }
}

export interface CodebookFit {
  epochs: number
  batchRows: number
  /** Epoch numbers reported in progress continue from here, out of `totalEpochs`. */
  firstEpoch: number
  totalEpochs: number
}

/** Epochs of L_Q alone on fixed embeddings (flat [n, D]): only the codebooks move. */
export async function fitCodebooks(
  codebooks: tf.Variable<tf.Rank.R2>[],
  optimizer: tf.Optimizer,
  embeddings: tf.Tensor2D,
  loss: (x: tf.Tensor2D) => tf.Scalar,
  fit: CodebookFit,
  rng: Rng,
  hooks: TrainHooks,
): Promise<void> {
  const rows = embeddings.shape[0]
  const all = Array.from({ length: rows }, (_, i) => i)
  const steps = Math.ceil(rows / fit.batchRows)
  for (let e = 1; e <= fit.epochs; e++) {
    shuffle(all, rng)
    let sum = 0
    for (let s = 0; s < steps; s++) {
      checkCancelled(hooks.signal)
      const batch = tf.tensor1d(all.slice(s * fit.batchRows, (s + 1) * fit.batchRows), 'int32')
      const cost = tf.tidy(() => optimizer.minimize(() => loss(embeddings.gather(batch) as tf.Tensor2D), true, codebooks) as tf.Scalar)
      sum += (await cost.data())[0]
      cost.dispose()
      batch.dispose()
      if (s % 4 === 3) await yieldTurn()
    }
    const epoch = fit.firstEpoch + e
    hooks.onProgress?.({ done: epoch, total: fit.totalEpochs, epoch, loss: { quantization: sum / steps }, stage: 'codebooks' })
  }
}

/** variable.assign keeps a reference to the value's data; the value tensor itself must still go. */
function assignDisposing(v: tf.Variable, value: tf.Tensor): void {
  v.assign(value)
  value.dispose()
}
