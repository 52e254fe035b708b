// One optimisation step on a batch, in the three ways the schedules use: the network alone
// (L_S + λL_C [+ βL_P]), everything jointly (+ L_Q), or the authors' alternation (a network step
// without L_Q, then a codebook step with L_Q only). Each returns its loss terms for the progress report.
import { classificationLoss, preservationLoss, quantizationLoss, semanticLoss, type QuantizationWeights } from './losses.ts'
import type { Network } from './network.ts'
import { tf } from './tf.ts'

export type StepKind = 'network' | 'joint' | 'alternating'

export interface StepContext {
  network: Network
  codebooks: tf.Variable<tf.Rank.R2>[]
  netOptimizer: tf.Optimizer
  codebookOptimizer: tf.Optimizer
  /** Album photos' inputs and multi-hot targets. */
  inputs: tf.Tensor2D
  targets: tf.Tensor2D
  /** Photos in no album: inputs, and the preservation target (unit rows) when β > 0. */
  unlabelled: tf.Tensor2D | null
  unlabelledTarget: tf.Tensor2D | null
  classVectors: tf.Tensor2D
  margins: tf.Tensor2D
  multiLabel: boolean
  weights: QuantizationWeights & { lambda: number; preservation: number }
}

export interface Batch {
  /** Rows of `inputs`, and of `unlabelled` (null without unlabelled photos). */
  labelled: tf.Tensor1D
  unlabelled: tf.Tensor1D | null
  /** Global step number (seeds dropout). */
  step: number
}

/** Runs one step; the returned scalars are the caller's to read and dispose. */
export function trainStep(kind: StepKind, c: StepContext, batch: Batch): Record<string, tf.Scalar> {
  const terms: Record<string, tf.Scalar> = {}
  if (kind === 'network') {
    tf.tidy(() => {
      c.netOptimizer.minimize(networkLoss(c, batch, terms, false), false, c.network.variables)
    })
  } else if (kind === 'joint') {
    tf.tidy(() => {
      const grads = tf.variableGrads(networkLoss(c, batch, terms, true), [...c.network.variables, ...c.codebooks])
      c.netOptimizer.applyGradients(c.network.variables.map((v) => ({ name: v.name, tensor: grads.grads[v.name] })))
      c.codebookOptimizer.applyGradients(c.codebooks.map((v) => ({ name: v.name, tensor: grads.grads[v.name] })))
    })
  } else {
    tf.tidy(() => {
      c.netOptimizer.minimize(networkLoss(c, batch, terms, false), false, c.network.variables)
    })
    tf.tidy(() => {
      c.codebookOptimizer.minimize(codebookLoss(c, batch, terms), false, c.codebooks)
    })
  }
  return terms
}

/** L_S + λL_C (+ βL_P on photos in no album) (+ L_Q over both when `withQuantization`). */
function networkLoss(c: StepContext, batch: Batch, terms: Record<string, tf.Scalar>, withQuantization: boolean): () => tf.Scalar {
  const w = c.weights
  return () => {
    const f = c.inputs.gather(batch.labelled) as tf.Tensor2D
    const y = c.targets.gather(batch.labelled) as tf.Tensor2D
    const { x, logits } = c.network.forward(f, batch.step)
    terms.semantic = tf.keep(semanticLoss(x, y, c.classVectors, c.margins))
    terms.classification = tf.keep(classificationLoss(logits, y, c.multiLabel))
    let loss = terms.semantic.add(terms.classification.mul(w.lambda))
    let all = x
    if (c.unlabelled && batch.unlabelled && (w.preservation > 0 || withQuantization)) {
      const xu = c.network.forward(c.unlabelled.gather(batch.unlabelled) as tf.Tensor2D, batch.step).x
      if (w.preservation > 0) {
        terms.preservation = tf.keep(preservationLoss(xu, c.unlabelledTarget!.gather(batch.unlabelled) as tf.Tensor2D))
        loss = loss.add(terms.preservation.mul(w.preservation))
      }
      all = tf.concat([x, xu])
    }
    if (withQuantization) loss = loss.add((terms.quantization = tf.keep(quantizationLoss(all, c.codebooks, w))))
    return loss as tf.Scalar
  }
}

/** L_Q alone on the batch's embeddings (no dropout): only the codebooks learn from it. */
function codebookLoss(c: StepContext, batch: Batch, terms: Record<string, tf.Scalar>): () => tf.Scalar {
  return () => {
    const x = c.network.forward(c.inputs.gather(batch.labelled) as tf.Tensor2D).x
    const all = c.unlabelled && batch.unlabelled ? tf.concat([x, c.network.forward(c.unlabelled.gather(batch.unlabelled) as tf.Tensor2D).x]) : x
    // minimize() disposes what it returns: keep a copy for the progress report.
    const loss = quantizationLoss(all, c.codebooks, c.weights)
    terms.quantization = tf.keep(loss.clone())
    return loss
  }
}
