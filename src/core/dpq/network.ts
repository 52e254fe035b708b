// The trainable network of a supervised model: optionally MobileNetV2's tail (W = W₀ + s·Δ, Δ
// trained from 0, so one Adam moves the tail at s·lr = tailLr), then the head fc → ReLU (dropout)
// → fc → tanh giving the embedding x, and the album classifier on the hidden layer.
import { tailForward, tailFromArrays, tailTensors, type Tail } from './finetune.ts'
import type { Head } from './model.ts'
import type { Rng } from './prng.ts'
import { mm, tf } from './tf.ts'
import { glorot, type Standardization } from './train-data.ts'
import type { TensorScope } from './training-scope.ts'

export interface NetworkShape {
  /** Values per input row, and what the head reads (the tail's output when there is a tail). */
  inputDim: number
  headDim: number
  hidden: number
  D: number
  classes: number
}

export interface NetworkOptions {
  dropout: number
  seed: number
  lr: number
  tailLr: number
}

export interface Network {
  /** What the network optimizer updates. */
  variables: tf.Variable[]
  /** x and classifier logits; with `step`, training mode (dropout seeded by the step). */
  forward(input: tf.Tensor2D, step?: number): { x: tf.Tensor2D; logits: tf.Tensor2D }
  /** x of every row, in chunks (no dropout). */
  embedAll(input: tf.Tensor2D): Promise<Float32Array>
  /** The trained weights as a model head. */
  head(): Promise<Head>
}

/** Glorot weights are drawn from `rng` in the order W_h, W_x, W_c. */
export function createNetwork(scope: TensorScope, shape: NetworkShape, o: NetworkOptions, rng: Rng, tail: Tail | null, standard: Standardization): Network {
  const { inputDim, headDim, hidden, D, classes } = shape
  const wh = scope.variable(glorot(headDim, hidden, rng), 'wh')
  const bh = scope.variable(tf.zeros([hidden]), 'bh')
  const wx = scope.variable(glorot(hidden, D, rng), 'wx')
  const bx = scope.variable(tf.zeros([D]), 'bx')
  const wc = scope.variable(glorot(hidden, classes, rng), 'wc')
  const bc = scope.variable(tf.zeros([classes]), 'bc')
  const tailBase = tail ? tailTensors(tail).map((t) => scope.constant(t)) : []
  const tailDelta = tailBase.map((t, i) => scope.variable(tf.zerosLike(t), `tail${i}`))
  const tailScale = o.tailLr / o.lr
  const tailWeights = () => tailBase.map((t, i) => t.add(tailDelta[i].mul(tailScale)))
  // With a tail, the head reads the tail's output, standardised by its pretrained statistics.
  const headMean = tail ? scope.constant(tf.tensor1d(standard.mean)) : null
  const headScale = tail ? scope.constant(tf.tensor1d(standard.scale)) : null

  const forward = (input: tf.Tensor2D, step?: number) => {
    const f = tail && headMean && headScale ? (tailForward(tail.spec, input, tailWeights()).sub(headMean).mul(headScale) as tf.Tensor2D) : input
    let h = tf.relu(mm(f, wh).add(bh))
    if (step !== undefined && o.dropout > 0) h = tf.dropout(h, o.dropout, undefined, o.seed * 7919 + step)
    return { x: tf.tanh(mm(h, wx).add(bx)) as tf.Tensor2D, logits: mm(h, wc).add(bc) as tf.Tensor2D }
  }

  const embedAll = async (input: tf.Tensor2D): Promise<Float32Array> => {
    const parts: Float32Array[] = []
    // The tail's activations are 49 positions × 960–1344 channels per photo: smaller chunks.
    const chunk = tail ? 128 : 1024
    for (let s = 0; s < input.shape[0]; s += chunk) {
      const x = tf.tidy(() => forward(input.slice([s, 0], [Math.min(chunk, input.shape[0] - s), inputDim])).x)
      parts.push((await x.data()) as Float32Array)
      x.dispose()
    }
    const out = new Float32Array(input.shape[0] * D)
    parts.reduce((off, p) => (out.set(p, off), off + p.length), 0)
    return out
  }

  const head = async (): Promise<Head> => {
    const read = async (v: tf.Tensor) => Float32Array.from((await v.data()) as Float32Array)
    const tailNow = tail ? tf.tidy(() => tailWeights()) : null
    const trainedTail = tailNow ? await Promise.all(tailNow.map(read)) : null
    tf.dispose(tailNow ?? [])
    const [whNow, bhNow, wxNow, bxNow] = await Promise.all([wh, bh, wx, bx].map(read))
    let k = 0
    return {
      mean: standard.mean,
      scale: standard.scale,
      ...(tail && trainedTail ? { tail: tailFromArrays(tail.spec, () => trainedTail[k++]) } : {}),
      layers: [
        { inDim: headDim, outDim: hidden, activation: 'relu', weights: whNow, bias: bhNow },
        { inDim: hidden, outDim: D, activation: 'tanh', weights: wxNow, bias: bxNow },
      ],
    }
  }

  return { variables: [wh, bh, wx, bx, wc, bc, ...tailDelta], forward, embedAll, head }
}
