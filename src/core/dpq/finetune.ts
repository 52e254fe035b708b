// Deeper fine-tuning: train MobileNetV2's last blocks with the DPQ head.
// Each photo's `block_15_add` activation (7×7×160) is cached once; block_16 (1×1 expand,
// 3×3 depthwise, 1×1 project) and Conv_1 (1×1 to 1280) then train from the pretrained weights.
// tfjs-wasm has no gradient kernels for conv filters or depthwise convs, so every 1×1 conv is a
// matMul over the N·49 positions and the depthwise conv is a sum of 9 shifted slices × per-channel
// weights; batch norms are folded into each conv's weights and bias.
import type * as tfType from '@tensorflow/tfjs'
import { mm, readingAsync, readingSync, tf, type Reading } from './tf.ts'

/** The cached activation: MobileNetV2's output after block 15 (7×7 positions × 160 channels). */
export const FINETUNE_LAYER = 'block_15_add'
export const MAP_SIDE = 7
export const MAP_CHANNELS = 160
/** Floats of one cached activation map. */
export const MAP_SIZE = MAP_SIDE * MAP_SIDE * MAP_CHANNELS

export type Finetune = 'off' | 'late'
export const FINETUNE_MODES: readonly Finetune[] = ['off', 'late']

/** The trainable tail, BN folded: flat row-major matrices [in, out], depthwise [9, channels]. */
export interface Tail {
  expand: { weights: Float32Array; bias: Float32Array }
  depthwise: { weights: Float32Array; bias: Float32Array }
  project: { weights: Float32Array; bias: Float32Array }
  conv1: { weights: Float32Array; bias: Float32Array }
}

const EXPANDED = 960
const PROJECTED = 320
/** Channels of the tail's pooled output (Conv_1). */
export const TAIL_OUT = 1280

/** Tail tensors in the order `tailForward` reads them. */
export type TailTensors = [tfType.Tensor, tfType.Tensor, tfType.Tensor, tfType.Tensor, tfType.Tensor, tfType.Tensor, tfType.Tensor, tfType.Tensor]

/**
 * A model input row is [activation map (MAP_SIZE) | frozen pooled feature (any length)]; the
 * output row is [pooled Conv_1 (TAIL_OUT) | that pooled feature]. Differentiable on wasm.
 */
export function tailForward(input: tfType.Tensor2D, t: readonly tfType.Tensor[]): tfType.Tensor2D {
  const [we, be, wd, bd, wp, bp, wc, bc] = t
  const n = input.shape[0]
  const pooledDim = input.shape[1] - MAP_SIZE
  const positions = n * MAP_SIDE * MAP_SIDE
  const map = input.slice([0, 0], [n, MAP_SIZE]).reshape([positions, MAP_CHANNELS])
  const expanded = tf.relu6(mm(map, we).add(be)).reshape([n, MAP_SIDE, MAP_SIDE, EXPANDED]) as tfType.Tensor4D
  // 3×3 depthwise, stride 1, 'same': out[y, x] = Σ_ij in[y + i − 1, x + j − 1] · w[i, j].
  const padded = tf.pad(expanded, [[0, 0], [1, 1], [1, 1], [0, 0]])
  let depth: tfType.Tensor = tf.zeros([n, MAP_SIDE, MAP_SIDE, EXPANDED])
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      const tap = wd.slice([i * 3 + j, 0], [1, EXPANDED]).reshape([EXPANDED])
      depth = depth.add(padded.slice([0, i, j, 0], [n, MAP_SIDE, MAP_SIDE, EXPANDED]).mul(tap))
    }
  }
  const dw = tf.relu6(depth.add(bd)).reshape([positions, EXPANDED])
  const projected = mm(dw, wp).add(bp)
  const top = tf.relu6(mm(projected, wc).add(bc)).reshape([n, MAP_SIDE * MAP_SIDE, TAIL_OUT]).mean(1) as tfType.Tensor2D
  return pooledDim > 0 ? tf.concat([top, input.slice([0, MAP_SIZE], [n, pooledDim])], 1) : top
}

/** The tail as tensors (caller disposes). */
export function tailTensors(tail: Tail): TailTensors {
  return [
    tf.tensor2d(tail.expand.weights, [MAP_CHANNELS, EXPANDED]),
    tf.tensor1d(tail.expand.bias),
    tf.tensor2d(tail.depthwise.weights, [9, EXPANDED]),
    tf.tensor1d(tail.depthwise.bias),
    tf.tensor2d(tail.project.weights, [EXPANDED, PROJECTED]),
    tf.tensor1d(tail.project.bias),
    tf.tensor2d(tail.conv1.weights, [PROJECTED, TAIL_OUT]),
    tf.tensor1d(tail.conv1.bias),
  ]
}

/** Flat arrays of the tail in serialization order. */
export function tailArrays(tail: Tail): Float32Array[] {
  return [tail.expand, tail.depthwise, tail.project, tail.conv1].flatMap((p) => [p.weights, p.bias])
}

/** Inverse of tailArrays: `take(n)` hands out the next n floats. */
export function tailFromArrays(take: (n: number) => Float32Array): Tail {
  const part = (inDim: number, outDim: number) => ({ weights: take(inDim * outDim), bias: take(outDim) })
  return { expand: part(MAP_CHANNELS, EXPANDED), depthwise: part(9, EXPANDED), project: part(EXPANDED, PROJECTED), conv1: part(PROJECTED, TAIL_OUT) }
}

/** Embeds inputs through the tail in chunks (inference). */
export function applyTail(tail: Tail, inputs: Float32Array, rows: number, chunk = 256): Float32Array {
  return readingSync(tailPass(tail, inputs, rows, chunk))
}

/** applyTail with awaited reads (WebGPU). */
export function applyTailAsync(tail: Tail, inputs: Float32Array, rows: number, chunk = 256): Promise<Float32Array> {
  return readingAsync(tailPass(tail, inputs, rows, chunk))
}

function* tailPass(tail: Tail, inputs: Float32Array, rows: number, chunk: number): Reading<Float32Array> {
  const dim = inputs.length / Math.max(1, rows)
  const outDim = TAIL_OUT + dim - MAP_SIZE
  const out = new Float32Array(rows * outDim)
  const weights = tailTensors(tail)
  try {
    for (let s = 0; s < rows; s += chunk) {
      const n = Math.min(chunk, rows - s)
      const y = tf.tidy(() => tailForward(tf.tensor2d(inputs.subarray(s * dim, (s + n) * dim), [n, dim]), weights))
      out.set(yield y, s * outDim)
    }
  } finally {
    tf.dispose(weights)
  }
  return out
}

/** block_16 and Conv_1 of the nsfwjs MobileNetV2, batch norms folded in. */
export function pretrainedTail(mobilenet: tfType.LayersModel): Tail {
  const fold = (conv: string, bn: string, depthwise: boolean) =>
    tf.tidy(() => {
      const [filter] = mobilenet.getLayer(conv).getWeights()
      const [gamma, beta, mean, variance] = mobilenet.getLayer(bn).getWeights()
      const eps = (mobilenet.getLayer(bn).getConfig() as { epsilon?: number }).epsilon ?? 1e-3
      const scale = gamma.div(variance.add(eps).sqrt())
      // Conv2D 1×1: [1, 1, in, out]; DepthwiseConv2D 3×3: [3, 3, channels, 1].
      const w = depthwise ? filter.reshape([9, -1]).mul(scale) : filter.reshape([filter.shape[2] as number, -1]).mul(scale)
      return { weights: Float32Array.from(w.dataSync() as Float32Array), bias: Float32Array.from(beta.sub(mean.mul(scale)).dataSync() as Float32Array) }
    })
  return {
    expand: fold('block_16_expand', 'block_16_expand_BN', false),
    depthwise: fold('block_16_depthwise', 'block_16_depthwise_BN', true),
    project: fold('block_16_project', 'block_16_project_BN', false),
    conv1: fold('Conv_1', 'Conv_1_bn', false),
  }
}

/** A random tail (tests, and models without the pretrained network at hand). */
export function randomTail(rng: () => number): Tail {
  const part = (inDim: number, outDim: number) => {
    const limit = Math.sqrt(6 / (inDim + outDim))
    return { weights: Float32Array.from({ length: inDim * outDim }, () => (rng() * 2 - 1) * limit), bias: new Float32Array(outDim) }
  }
  return { expand: part(MAP_CHANNELS, EXPANDED), depthwise: part(9, EXPANDED), project: part(EXPANDED, PROJECTED), conv1: part(PROJECTED, TAIL_OUT) }
}

/** Input rows of a fine-tuned model: each photo's activation map followed by its pooled feature. */
export function finetuneInputs(maps: readonly Float32Array[], pooled: readonly Float32Array[]): Float32Array[] {
  return maps.map((m, i) => {
    if (m.length !== MAP_SIZE) throw new Error(`activation map ${i} has ${m.length} values, expected ${MAP_SIZE} (${MAP_SIDE}×${MAP_SIDE}×${MAP_CHANNELS})`)
    const row = new Float32Array(MAP_SIZE + pooled[i].length)
    row.set(m)
    row.set(pooled[i], MAP_SIZE)
    return row
  })
}
