// Deeper fine-tuning: train the last blocks of the network the stored feature comes from, with the
// DPQ head. Each photo's activation where the tail starts (7×7 positions) is cached once; the last
// inverted-residual block (1×1 expand, 3×3 depthwise, 1×1 project) and Conv_1 then train from the
// pretrained weights. tfjs-wasm has no gradient kernels for conv filters or depthwise convs, so every
// 1×1 conv is a matMul over the N·49 positions and the depthwise conv is a sum of 9 shifted slices ×
// per-channel weights; batch norms are folded into each conv's weights and bias.
import type * as tfType from '@tensorflow/tfjs'
import { LEGACY_TAIL, mapSize, REGION_TAIL, tailOutDim, type TailSpec } from './tail-spec.ts'
import { mm, readingAsync, readingSync, tf, type Reading } from './tf.ts'

export * from './tail-spec.ts'

export type Finetune = 'off' | 'late'
export const FINETUNE_MODES: readonly Finetune[] = ['off', 'late']

interface TailPart {
  weights: Float32Array
  bias: Float32Array
}

/** The trainable tail, BN folded: flat row-major matrices [in, out], depthwise [9, channels]. */
export interface Tail {
  spec: TailSpec
  expand: TailPart
  depthwise: TailPart
  project: TailPart
  conv1: TailPart
}

/** Tail tensors in the order `tailForward` reads them. */
export type TailTensors = [tfType.Tensor, tfType.Tensor, tfType.Tensor, tfType.Tensor, tfType.Tensor, tfType.Tensor, tfType.Tensor, tfType.Tensor]

/**
 * A model input row is [activation map (mapSize) | frozen pooled feature (any length)]; the
 * output row is [pooled Conv_1 (spec.out) | that pooled feature]. Differentiable on wasm.
 */
export function tailForward(spec: TailSpec, input: tfType.Tensor2D, t: readonly tfType.Tensor[]): tfType.Tensor2D {
  const [we, be, wd, bd, wp, bp, wc, bc] = t
  const { side, channels, expanded: width, out } = spec
  const size = mapSize(spec)
  const n = input.shape[0]
  const pooledDim = input.shape[1] - size
  const positions = n * side * side
  const map = input.slice([0, 0], [n, size]).reshape([positions, channels])
  const expanded = tf.relu6(mm(map, we).add(be)).reshape([n, side, side, width]) as tfType.Tensor4D
  // 3×3 depthwise, stride 1, 'same': out[y, x] = Σ_ij in[y + i − 1, x + j − 1] · w[i, j].
  const padded = tf.pad(expanded, [[0, 0], [1, 1], [1, 1], [0, 0]])
  let depth: tfType.Tensor = tf.zeros([n, side, side, width])
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      const tap = wd.slice([i * 3 + j, 0], [1, width]).reshape([width])
      depth = depth.add(padded.slice([0, i, j, 0], [n, side, side, width]).mul(tap))
    }
  }
  const dw = tf.relu6(depth.add(bd)).reshape([positions, width])
  const projected = mm(dw, wp).add(bp)
  const top = tf.relu6(mm(projected, wc).add(bc)).reshape([n, side * side, out]).mean(1) as tfType.Tensor2D
  return pooledDim > 0 ? tf.concat([top, input.slice([0, size], [n, pooledDim])], 1) : top
}

/** [in, out] of each part, in tailArrays order (depthwise: 9 taps × channels). */
function partShapes(spec: TailSpec): [number, number][] {
  return [
    [spec.channels, spec.expanded],
    [9, spec.expanded],
    [spec.expanded, spec.projected],
    [spec.projected, spec.out],
  ]
}

/** The tail as tensors (caller disposes). */
export function tailTensors(tail: Tail): TailTensors {
  const parts = [tail.expand, tail.depthwise, tail.project, tail.conv1]
  return partShapes(tail.spec).flatMap(([i, o], k) => [tf.tensor2d(parts[k].weights, [i, o]), tf.tensor1d(parts[k].bias)]) as TailTensors
}

/** Flat arrays of the tail in serialization order. */
export function tailArrays(tail: Tail): Float32Array[] {
  return [tail.expand, tail.depthwise, tail.project, tail.conv1].flatMap((p) => [p.weights, p.bias])
}

/** Inverse of tailArrays: `take(n)` hands out the next n floats. */
export function tailFromArrays(spec: TailSpec, take: (n: number) => Float32Array): Tail {
  const [expand, depthwise, project, conv1] = partShapes(spec).map(([i, o]) => ({ weights: take(i * o), bias: take(o) }))
  return { spec, expand, depthwise, project, conv1 }
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
  const outDim = tailOutDim(tail.spec, dim)
  const out = new Float32Array(rows * outDim)
  const weights = tailTensors(tail)
  try {
    for (let s = 0; s < rows; s += chunk) {
      const n = Math.min(chunk, rows - s)
      const y = tf.tidy(() => tailForward(tail.spec, tf.tensor2d(inputs.subarray(s * dim, (s + n) * dim), [n, dim]), weights))
      out.set(yield y, s * outDim)
    }
  } finally {
    tf.dispose(weights)
  }
  return out
}

/** block_16 and Conv_1 of nsfwjs' first MobileNetV2 (a layers model), batch norms folded in. */
export function pretrainedLegacyTail(mobilenet: tfType.LayersModel): Tail {
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
    spec: LEGACY_TAIL,
    expand: fold('block_16_expand', 'block_16_expand_BN', false),
    depthwise: fold('block_16_depthwise', 'block_16_depthwise_BN', true),
    project: fold('block_16_project', 'block_16_project_BN', false),
    conv1: fold('Conv_1', 'Conv_1_bn', false),
  }
}

/**
 * expanded_conv_16 and Conv_1 of the width-1.4 MobileNetV2 (a graph model whose convs the converter
 * already fused with their batch norms: weights and bias as they are). `weight(name)` reads a graph
 * weight by its name under the network's prefix, e.g. `Conv_1/Conv2D_weights`.
 */
export function pretrainedRegionTail(weight: (name: string) => tfType.Tensor): Tail {
  const part = (block: string, conv: string, depthwise: boolean) =>
    tf.tidy(() => {
      const filter = weight(`${block}/${conv}_weights`)
      // Conv2D 1×1: [1, 1, in, out]; DepthwiseConv2D 3×3: [3, 3, channels, 1].
      const w = depthwise ? filter.reshape([9, -1]) : filter.reshape([filter.shape[2] as number, -1])
      return { weights: Float32Array.from(w.dataSync() as Float32Array), bias: Float32Array.from(weight(`${block}/${conv}_bn_offset`).dataSync() as Float32Array) }
    })
  return {
    spec: REGION_TAIL,
    expand: part('expanded_conv_16/expand', 'Conv2D', false),
    depthwise: part('expanded_conv_16/depthwise', 'depthwise', true),
    project: part('expanded_conv_16/project', 'Conv2D', false),
    conv1: part('Conv_1', 'Conv2D', false),
  }
}

/** A random tail (tests, and models without the pretrained network at hand). */
export function randomTail(rng: () => number, spec: TailSpec = LEGACY_TAIL): Tail {
  const part = (inDim: number, outDim: number) => {
    const limit = Math.sqrt(6 / (inDim + outDim))
    return { weights: Float32Array.from({ length: inDim * outDim }, () => (rng() * 2 - 1) * limit), bias: new Float32Array(outDim) }
  }
  const [expand, depthwise, project, conv1] = partShapes(spec).map(([i, o]) => part(i, o))
  return { spec, expand, depthwise, project, conv1 }
}

/** Input rows of a fine-tuned model: each photo's activation map followed by its pooled feature. */
export function finetuneInputs(spec: TailSpec, maps: readonly Float32Array[], pooled: readonly Float32Array[]): Float32Array[] {
  const size = mapSize(spec)
  return maps.map((m, i) => {
    if (m.length !== size) throw new Error(`activation map ${i} has ${m.length} values, expected ${size} (${spec.side}×${spec.side}×${spec.channels} of ${spec.layer})`)
    const row = new Float32Array(size + pooled[i].length)
    row.set(m)
    row.set(pooled[i], size)
    return row
  })
}
