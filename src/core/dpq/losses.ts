// The supervised DPQ losses (docs/dpq.md): semantic margin L_S, classification L_C, progressive
// quantization L_Q with its joint central term, and the optional preservation term L_P.
import { l2normalize } from './kmeans.ts'
import { matMulT, mm, mmT, tf } from './tf.ts'

/** mean over i, j ∈ Y_i, k ∉ Y_i of max(0, δ_jk − cos(x_i, v_j) + cos(x_i, v_k)); margins δ = 1 − VVᵀ. */
export function semanticLoss(x: tf.Tensor2D, y: tf.Tensor2D, classVectors: tf.Tensor2D, margins: tf.Tensor2D): tf.Scalar {
  const cos = mmT(l2normalize(x), classVectors)
  const hinge = tf.relu(margins.expandDims(0).sub(cos.expandDims(2)).add(cos.expandDims(1)))
  const mask = y.expandDims(2).mul(tf.sub(1, y).expandDims(1))
  return hinge.mul(mask).sum().div(mask.sum().maximum(1)) as tf.Scalar
}

/** Softmax cross-entropy when every photo is in one album, sigmoid when photos can be in several. */
export function classificationLoss(logits: tf.Tensor2D, y: tf.Tensor2D, multiLabel: boolean): tf.Scalar {
  return multiLabel ? tf.losses.sigmoidCrossEntropy(y, logits) : tf.losses.softmaxCrossEntropy(y, logits)
}

export interface QuantizationWeights {
  gamma: number
  K: number
  tau: number
  mu: number
  nu: number
}

/** L_Q = τ [ Σ_l ‖x − S_l‖² + μ Σ_l ‖x − H_l‖² + ν ‖S_M − H_M‖² ], blocks quantizing the residual in turn. */
export function quantizationLoss(x: tf.Tensor2D, codebooks: readonly tf.Tensor2D[], w: QuantizationWeights): tf.Scalar {
  let residual = x
  let soft: tf.Tensor2D = tf.zerosLike(x)
  let hard: tf.Tensor2D = tf.zerosLike(x)
  let loss: tf.Scalar = tf.scalar(0)
  for (const c of codebooks) {
    const sims = mmT(l2normalize(residual), l2normalize(c)).mul(w.gamma) as tf.Tensor2D
    soft = soft.add(mm(tf.softmax(sims), c))
    // No gather gradient on wasm: pick the hard codeword with oneHot · C_m.
    const hardBlock = mm(tf.oneHot(sims.argMax(1) as tf.Tensor1D, w.K).toFloat() as tf.Tensor2D, c)
    hard = hard.add(hardBlock)
    loss = loss.add(tf.losses.meanSquaredError(x, soft)).add(tf.losses.meanSquaredError(x, hard).mul(w.mu))
    residual = residual.sub(hardBlock)
  }
  return loss.add(tf.losses.meanSquaredError(soft, hard).mul(w.nu)).mul(w.tau) as tf.Scalar
}

/** Keeps the within-batch cosine structure of x close to that of the (unit-length) target rows. */
export function preservationLoss(x: tf.Tensor2D, target: tf.Tensor2D): tf.Scalar {
  const xn = l2normalize(x)
  return tf.losses.meanSquaredError(matMulT(target, target), mmT(xn, xn))
}
