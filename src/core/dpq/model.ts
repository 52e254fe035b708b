// A trained DPQ model: the head that maps a backbone feature to the embedding x, and the
// M residual codebooks. Inference only; training lives in train.ts.
import { applyTail, LEGACY_TAIL, tailArrays, tailFromArrays, tailOutDim, tailSpecById, type Tail } from './finetune.ts'
import { quantize, type Quantizer } from './quantize.ts'
import { rowsOf, tf } from './tf.ts'

/** See train.ts: the authors' alternating steps, joint end-to-end, or network first then codebooks. */
export type Schedule = 'alternating' | 'joint' | 'sequential'

export interface DpqParams {
  kind: 'unsupervised' | 'supervised'
  /** Quantization blocks (bytes per code), codewords per block, embedding size. */
  M: number
  K: number
  D: number
  /** Sharpness of the soft assignment: s_k = γ·cos(r, c_k). */
  gamma: number
  /** Backbone feature size the model expects. */
  inputDim: number
  /** Everything else the trainer used (schedule, epochs, lr, seed, classes, …), for the record. */
  [option: string]: unknown
}

export type Activation = 'relu' | 'tanh' | 'linear'

export interface DenseLayer {
  inDim: number
  outDim: number
  activation: Activation
  /** Flat [inDim, outDim]. */
  weights: Float32Array
  bias: Float32Array
}

/** x = layers((f − mean) · scale). PCA for unsupervised models, fc → ReLU → fc → tanh for supervised ones. */
export interface Head {
  mean: Float32Array
  scale: Float32Array
  layers: DenseLayer[]
  /**
   * The fine-tuned last block + Conv_1 of the feature's network (finetune.ts): f is then [the
   * tail's activation map | pooled feature] and x = layers((tail(f) − mean) · scale).
   */
  tail?: Tail
  /**
   * The unsupervised embedding kept beside the learned one (pooled-feature models only):
   * x = [√w · x_head / ‖x_head‖ ; √(1 − w) · x_kept / ‖x_kept‖], so photos in no album keep the
   * neighbours the backbone gave them while album photos gain what the albums taught.
   */
  blend?: { weight: number; head: Head }
}

const MAGIC = 0x31515044 // 'DPQ1'

export class DpqModel implements Quantizer {
  constructor(
    readonly params: DpqParams,
    readonly head: Head,
    /** Flat [M, K, D]. */
    readonly codebooks: Float32Array,
  ) {
    if (codebooks.length !== params.M * params.K * params.D) throw new Error('DpqModel: codebooks do not match M × K × D')
  }

  get M(): number {
    return this.params.M
  }
  get K(): number {
    return this.params.K
  }
  get D(): number {
    return this.params.D
  }

  /** A fine-tuned model reads [activation map | pooled feature] rows (inputs.ts), not the pooled feature alone. */
  get finetuned(): boolean {
    return this.head.tail !== undefined
  }

  /** Embedding x of each feature (a query keeps this float vector; photos are stored as codes). */
  embed(features: readonly Float32Array[]): Float32Array[] {
    return rowsOf(this.embedFlat(features), this.D)
  }

  /** n × M code bytes, row-major. */
  encode(features: readonly Float32Array[]): Uint8Array {
    return quantize(this, this.embedFlat(features))
  }

  embedFlat(features: readonly Float32Array[]): Float32Array {
    const { inputDim } = this.params
    const out = new Float32Array(features.length * this.D)
    const chunk = 1024
    for (let start = 0; start < features.length; start += chunk) {
      const part = features.slice(start, start + chunk)
      const flat: Float32Array = new Float32Array(part.length * inputDim)
      part.forEach((f, i) => {
        if (f.length !== inputDim) throw new Error(`Feature has ${f.length} dimensions; this model expects ${inputDim}`)
        flat.set(f, i * inputDim)
      })
      const { blend } = this.head
      const x = tf.tidy(() => {
        const learned = applyHead(this.head, this.head.tail ? applyTail(this.head.tail, flat, part.length) : flat, part.length)
        if (!blend) return learned
        const kept = applyHead(blend.head, flat, part.length)
        return tf.concat([l2rows(learned).mul(Math.sqrt(blend.weight)), l2rows(kept).mul(Math.sqrt(1 - blend.weight))], 1)
      })
      out.set(x.dataSync(), start * this.D)
      x.dispose()
    }
    return out
  }

  serialize(): Uint8Array {
    // A tail goes last, so models without one serialize exactly as before.
    // So does a blend's kept head, after the tail.
    const tail = this.head.tail ? tailArrays(this.head.tail) : []
    const kept = this.head.blend?.head
    const keptArrays = kept ? [kept.mean, kept.scale, ...kept.layers.flatMap((l) => [l.weights, l.bias])] : []
    const arrays = [this.head.mean, this.head.scale, ...this.head.layers.flatMap((l) => [l.weights, l.bias]), this.codebooks, ...tail, ...keptArrays]
    const header = new TextEncoder().encode(
      JSON.stringify({
        params: this.params,
        layers: this.head.layers.map(({ inDim, outDim, activation }) => ({ inDim, outDim, activation })),
        // The legacy tail keeps the name models saved before other tails existed carry.
        ...(this.head.tail ? { tail: this.head.tail.spec.id === LEGACY_TAIL.id ? 'block_16+Conv_1' : this.head.tail.spec.id } : {}),
        ...(kept ? { blend: { weight: this.head.blend!.weight, layers: kept.layers.map(({ inDim, outDim, activation }) => ({ inDim, outDim, activation })) } } : {}),
      }),
    )
    const headerBytes = Math.ceil(header.length / 4) * 4
    const floats = arrays.reduce((s, a) => s + a.length, 0)
    const buf = new Uint8Array(8 + headerBytes + floats * 4).fill(0x20)
    const view = new DataView(buf.buffer)
    view.setUint32(0, MAGIC, true)
    view.setUint32(4, headerBytes, true)
    buf.set(header, 8)
    let offset = 8 + headerBytes
    for (const a of arrays) {
      buf.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), offset)
      offset += a.byteLength
    }
    return buf
  }

  static deserialize(b: Uint8Array): DpqModel {
    const view = new DataView(b.buffer, b.byteOffset, b.byteLength)
    if (b.length < 8 || view.getUint32(0, true) !== MAGIC) throw new Error('Not a serialized DPQ model')
    const headerBytes = view.getUint32(4, true)
    const { params, layers, tail, blend } = JSON.parse(new TextDecoder().decode(b.subarray(8, 8 + headerBytes))) as {
      params: DpqParams
      layers: { inDim: number; outDim: number; activation: Activation }[]
      tail?: string
      blend?: { weight: number; layers: { inDim: number; outDim: number; activation: Activation }[] }
    }
    // Copy into an aligned buffer: a SQLite blob's offset is not necessarily a multiple of 4.
    const body = new Float32Array((b.length - 8 - headerBytes) >> 2)
    new Uint8Array(body.buffer).set(b.subarray(8 + headerBytes, 8 + headerBytes + body.length * 4))
    let offset = 0
    const take = (n: number): Float32Array => body.subarray(offset, (offset += n))
    const tailSpec = tail ? tailSpecById(tail) : null
    const headDim = tailSpec ? tailOutDim(tailSpec, params.inputDim) : params.inputDim
    const mean = take(headDim)
    const scale = take(headDim)
    const head: Head = {
      mean,
      scale,
      layers: layers.map((l) => ({ ...l, weights: take(l.inDim * l.outDim), bias: take(l.outDim) })),
    }
    const codebooks = take(params.M * params.K * params.D)
    if (tailSpec) head.tail = tailFromArrays(tailSpec, take)
    if (blend) {
      const keptMean = take(params.inputDim)
      const keptScale = take(params.inputDim)
      head.blend = { weight: blend.weight, head: { mean: keptMean, scale: keptScale, layers: blend.layers.map((l) => ({ ...l, weights: take(l.inDim * l.outDim), bias: take(l.outDim) })) } }
    }
    return new DpqModel(params, head, codebooks)
  }
}

/** layers((rows − mean) · scale) for n rows of a flat [n, mean.length] array. */
function applyHead(head: Head, flat: Float32Array, n: number): tf.Tensor2D {
  let h: tf.Tensor2D = tf.tensor2d(flat, [n, head.mean.length]).sub(tf.tensor1d(head.mean)).mul(tf.tensor1d(head.scale))
  for (const layer of head.layers) {
    h = tf.matMul(h, tf.tensor2d(layer.weights, [layer.inDim, layer.outDim])).add(tf.tensor1d(layer.bias))
    if (layer.activation === 'relu') h = tf.relu(h)
    else if (layer.activation === 'tanh') h = tf.tanh(h)
  }
  return h
}

function l2rows(x: tf.Tensor2D): tf.Tensor2D {
  return x.div(x.square().sum(1, true).add(1e-12).sqrt())
}
