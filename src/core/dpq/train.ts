// Training a DPQ model on cached backbone features (DPQ.md). With album labels: the head
// (fc → ReLU → fc → tanh) and M residual codebooks, losses L_S + λL_C + L_Q (+ β·L_P on
// photos in no album). Without labels: unsupervised progressive quantization.
import type { ProgressEvent } from '../types.ts'
import { kmeans, l2normalize } from './kmeans.ts'
import { applyTail, MAP_SIZE, TAIL_OUT, tailArrays, tailFromArrays, tailForward, tailTensors, type Finetune, type Tail } from './finetune.ts'
import { DpqModel, type DpqParams, type Schedule } from './model.ts'
import { createRng, normal, sampleIndices, shuffle, type Rng } from './prng.ts'
import { quantize, reconstruct } from './quantize.ts'
import { ensureBackend, matMulT, mm, mmT, tf } from './tf.ts'
import { orthonormalizeColumns, trainUnsupervised } from './unsupervised.ts'

export interface TrainOptions {
  M?: number
  K?: number
  D?: number
  gamma?: number
  /** Hidden units of the head's first layer. */
  hidden?: number
  schedule?: Schedule
  epochs?: number
  /** 'sequential' only: epochs of L_Q on the final, fixed embeddings after k-means initialisation. */
  codebookEpochs?: number
  /** Share of the epochs that trains the network alone before the codebooks start. */
  warmup?: number
  batchSize?: number
  /** Adam learning rates: network, codebooks. */
  lr?: number
  codebookLr?: number
  dropout?: number
  /** Weights: classification λ, quantization τ, hard-term μ, joint central ν, preservation β. */
  lambda?: number
  tau?: number
  mu?: number
  nu?: number
  preservation?: number
  codebookInit?: 'kmeans' | 'normal'
  /** Number of albums (classes); default: highest label + 1. */
  classes?: number
  seed?: number
  /** Photos in no album used per run (sampled), to bound memory on large libraries. */
  maxUnlabelled?: number
  /**
   * 'late' (item 7, finetune.ts): also train MobileNetV2's block_16 + Conv_1 from `tail`; every
   * feature row is then [block_15_add map | pooled feature] (finetuneInputs). Supervised only.
   */
  finetune?: Finetune
  /** The pretrained tail fine-tuning starts from (pretrainedTail). */
  tail?: Tail
  /** Learning rate of the tail (Adam; the head uses `lr`). */
  tailLr?: number
}

export interface TrainHooks {
  onProgress?(event: ProgressEvent): void
  signal?: AbortSignal
}

/** Thrown when training is cancelled through its AbortSignal; nothing was produced. */
export class TrainingCancelled extends Error {
  constructor() {
    super('Training cancelled')
    this.name = 'TrainingCancelled'
  }
}

export const DEFAULTS = {
  M: 8,
  K: 256,
  D: 256,
  gamma: 30,
  hidden: 512,
  schedule: 'sequential' as Schedule,
  epochs: 30,
  codebookEpochs: 0,
  warmup: 0.5,
  batchSize: 128,
  lr: 1e-3,
  codebookLr: 1e-3,
  dropout: 0.5,
  lambda: 0.1,
  tau: 1,
  mu: 1,
  nu: 0.1,
  // Measured (docs/dpq.md): β = 1 lowered mAP on album and non-album classes alike, so it is off.
  preservation: 0,
  codebookInit: 'kmeans' as 'kmeans' | 'normal',
  seed: 42,
  maxUnlabelled: 10_000,
  finetune: 'off' as Finetune,
  // Measured (docs/dpq.md, item 7, bench/gpu/RESULTS.md): at 400 photos per class 1e-3 collapses
  // (0.43 mAP, seed-unstable) while 3e-4 beats the frozen feature (0.608 vs 0.585 at 8 bits).
  tailLr: 3e-4,
}

export async function trainDpq(
  features: Float32Array[],
  labels: number[][] | null,
  options: TrainOptions = {},
  hooks: TrainHooks = {},
): Promise<DpqModel> {
  if (features.length === 0) throw new Error('Cannot train a DPQ model without any photo features')
  const o = { ...DEFAULTS, ...options }
  await ensureBackend()
  checkCancelled(hooks.signal)
  const labelled = labels ? features.map((_, i) => i).filter((i) => labels[i].length > 0) : []
  if (!labels || labelled.length === 0) {
    if (o.finetune === 'late') throw new Error("finetune 'late' trains on album labels; without any, train with finetune 'off'")
    const model = trainUnsupervised(features, { M: o.M, K: o.K, D: o.D, gamma: o.gamma, seed: o.seed }, (done, total) => {
      checkCancelled(hooks.signal)
      hooks.onProgress?.({ done, total, current: `block ${done}` })
    })
    return model
  }
  return trainSupervised(features, labels, labelled, o, hooks)
}

type Resolved = typeof DEFAULTS & TrainOptions

/** tfjs variable names are global per process: keep them unique across trainings. */
let variableSerial = 0

async function trainSupervised(
  features: Float32Array[],
  labels: number[][],
  labelled: number[],
  o: Resolved,
  hooks: TrainHooks,
): Promise<DpqModel> {
  const rng = createRng(o.seed)
  const inputDim = features[0].length
  const classes = o.classes ?? Math.max(...labelled.flatMap((i) => labels[i])) + 1
  const multiLabel = labelled.some((i) => labels[i].length > 1)
  const unlabelledAll = features.map((_, i) => i).filter((i) => labels[i].length === 0)
  const unlabelled = sampleIndices(unlabelledAll.length, o.maxUnlabelled, rng)
    .sort((a, b) => a - b)
    .map((j) => unlabelledAll[j])
  const { M, K, D } = o
  const tail = o.finetune === 'late' ? checkedTail(o, inputDim) : null
  // With a tail, the head reads the tail's output, standardised by its pretrained statistics.
  const headDim = tail ? TAIL_OUT + inputDim - MAP_SIZE : inputDim
  const headRows = tail ? tailOutputs(tail, features, labelled.concat(unlabelled), inputDim) : null

  const { mean, scale } = headRows
    ? standardization(headRows, headRows.map((_, i) => i), headDim)
    : standardization(features, labelled.concat(unlabelled), inputDim)
  const vars: tf.Variable[] = []
  const variable = (t: tf.Tensor, name: string): tf.Variable => {
    const v = tf.variable(t, true, `dpq_${name}_${++variableSerial}`)
    t.dispose()
    vars.push(v)
    return v
  }
  const consts: tf.Tensor[] = []
  const constant = <T extends tf.Tensor>(t: T): T => (consts.push(t), t)
  const netOptimizer = tf.train.adam(o.lr)
  const codebookOptimizer = tf.train.adam(o.codebookLr)

  try {
    const prepare = (rows: number[]) => (tail ? matrixOf(features, rows, inputDim) : standardized(features, rows, inputDim, mean, scale))
    const inputs = constant(prepare(labelled))
    const unlabelledInputs = unlabelled.length ? constant(prepare(unlabelled)) : null
    // Preservation target: the angle structure of the (centered, standardized) backbone features.
    const unlabelledTarget = unlabelledInputs && o.preservation > 0 ? constant(l2normalize(unlabelledInputs)) : null
    const targets = constant(multiHot(labelled.map((i) => labels[i]), classes))
    const classVectors = constant(tf.tensor2d(classVectorMatrix(classes, D, rng), [classes, D]))
    const margins = constant(tf.tidy(() => tf.sub(1, matMulT(classVectors, classVectors))))

    const wh = variable(glorot(headDim, o.hidden, rng), 'wh')
    const bh = variable(tf.zeros([o.hidden]), 'bh')
    const wx = variable(glorot(o.hidden, D, rng), 'wx')
    const bx = variable(tf.zeros([D]), 'bx')
    const wc = variable(glorot(o.hidden, classes, rng), 'wc')
    const bc = variable(tf.zeros([classes]), 'bc')
    // Tail weights W = W₀ + s·Δ with Δ trained from 0: one Adam for everything, and the tail
    // moves at s·lr = tailLr.
    const tailBase = tail ? tailTensors(tail).map((t) => constant(t)) : []
    const tailDelta = tailBase.map((t, i) => variable(tf.zerosLike(t), `tail${i}`))
    const tailScale = o.tailLr / o.lr
    const tailWeights = () => tailBase.map((t, i) => t.add(tailDelta[i].mul(tailScale)))
    const headMean = tail ? constant(tf.tensor1d(mean)) : null
    const headScale = tail ? constant(tf.tensor1d(scale)) : null
    const network = [wh, bh, wx, bx, wc, bc, ...tailDelta]
    const codebooks = Array.from({ length: M }, (_, m) => variable(tf.zeros([K, D]), `codebook${m}`))

    let step = 0
    const forward = (input: tf.Tensor2D, training: boolean) => {
      const f = headMean && headScale ? (tailForward(input, tailWeights()).sub(headMean).mul(headScale) as tf.Tensor2D) : input
      let h = tf.relu(mm(f, wh).add(bh))
      if (training && o.dropout > 0) h = tf.dropout(h, o.dropout, undefined, o.seed * 7919 + step)
      return { x: tf.tanh(mm(h, wx).add(bx)) as tf.Tensor2D, logits: mm(h, wc).add(bc) as tf.Tensor2D }
    }
    const embedAll = (f: tf.Tensor2D): Float32Array => {
      const parts: Float32Array[] = []
      // The tail's activations are 49 positions × 960 channels per photo: smaller chunks.
      const chunk = tail ? 128 : 1024
      for (let s = 0; s < f.shape[0]; s += chunk) {
        const x = tf.tidy(() => forward(f.slice([s, 0], [Math.min(chunk, f.shape[0] - s), inputDim]), false).x)
        parts.push(x.dataSync() as Float32Array)
        x.dispose()
      }
      const out = new Float32Array(f.shape[0] * D)
      parts.reduce((off, p) => (out.set(p, off), off + p.length), 0)
      return out
    }

    const semanticLoss = (x: tf.Tensor2D, y: tf.Tensor2D): tf.Scalar => {
      // mean over i, j ∈ Y_i, k ∉ Y_i of max(0, δ_jk − cos(x_i, v_j) + cos(x_i, v_k))
      const cos = mmT(l2normalize(x), classVectors)
      const hinge = tf.relu(margins.expandDims(0).sub(cos.expandDims(2)).add(cos.expandDims(1)))
      const mask = y.expandDims(2).mul(tf.sub(1, y).expandDims(1))
      return hinge.mul(mask).sum().div(mask.sum().maximum(1)) as tf.Scalar
    }
    const classificationLoss = (logits: tf.Tensor2D, y: tf.Tensor2D): tf.Scalar =>
      multiLabel ? tf.losses.sigmoidCrossEntropy(y, logits) : tf.losses.softmaxCrossEntropy(y, logits)
    const quantizationLoss = (x: tf.Tensor2D): tf.Scalar => {
      let residual = x
      let soft: tf.Tensor2D = tf.zerosLike(x)
      let hard: tf.Tensor2D = tf.zerosLike(x)
      let loss: tf.Scalar = tf.scalar(0)
      for (const c of codebooks) {
        const sims = mmT(l2normalize(residual), l2normalize(c)).mul(o.gamma) as tf.Tensor2D
        soft = soft.add(mm(tf.softmax(sims), c))
        // No gather gradient on wasm: pick the hard codeword with oneHot · C_m.
        const hardBlock = mm(tf.oneHot(sims.argMax(1) as tf.Tensor1D, K).toFloat() as tf.Tensor2D, c)
        hard = hard.add(hardBlock)
        loss = loss.add(tf.losses.meanSquaredError(x, soft)).add(tf.losses.meanSquaredError(x, hard).mul(o.mu))
        residual = residual.sub(hardBlock)
      }
      return loss.add(tf.losses.meanSquaredError(soft, hard).mul(o.nu)).mul(o.tau) as tf.Scalar
    }
    const preservationLoss = (x: tf.Tensor2D, target: tf.Tensor2D): tf.Scalar => {
      const xn = l2normalize(x)
      return tf.losses.meanSquaredError(matMulT(target, target), mmT(xn, xn))
    }

    // 'sequential': in the alternating schedule L_Q never reaches the network, so the network can
    // train first and the codebooks afterwards on fixed embeddings (computed once, not per step).
    const sequential = o.schedule === 'sequential'
    const warmupEpochs = sequential ? o.epochs : Math.min(o.epochs, Math.round(o.epochs * o.warmup))
    const totalEpochs = o.epochs + (sequential ? o.codebookEpochs : 0)
    const stepsPerEpoch = Math.ceil(labelled.length / o.batchSize)
    const order = labelled.map((_, i) => i)
    let codebooksReady = false

    for (let epoch = 1; epoch <= o.epochs; epoch++) {
      const quantizing = epoch > warmupEpochs
      if (quantizing && !codebooksReady) {
        initCodebooks(codebooks, embedAll(inputs), unlabelledInputs ? embedAll(unlabelledInputs) : null, o, rng)
        codebooksReady = true
      }
      shuffle(order, rng)
      const sums: Record<string, number> = {}
      for (let s = 0; s < stepsPerEpoch; s++) {
        checkCancelled(hooks.signal)
        step++
        const batch = tf.tensor1d(order.slice(s * o.batchSize, (s + 1) * o.batchSize), 'int32')
        const extra = unlabelledInputs ? tf.tensor1d(sampleIndices(unlabelled.length, o.batchSize, rng), 'int32') : null
        const terms: Record<string, tf.Scalar> = {}
        const networkLoss = (withQuantization: boolean) => (): tf.Scalar => {
          const f = inputs.gather(batch) as tf.Tensor2D
          const y = targets.gather(batch) as tf.Tensor2D
          const { x, logits } = forward(f, true)
          let loss = (terms.semantic = tf.keep(semanticLoss(x, y))).add((terms.classification = tf.keep(classificationLoss(logits, y))).mul(o.lambda))
          let all = x
          if (unlabelledInputs && extra && (o.preservation > 0 || withQuantization)) {
            const xu = forward(unlabelledInputs.gather(extra) as tf.Tensor2D, true).x
            if (o.preservation > 0) {
              loss = loss.add((terms.preservation = tf.keep(preservationLoss(xu, unlabelledTarget!.gather(extra) as tf.Tensor2D))).mul(o.preservation))
            }
            all = tf.concat([x, xu])
          }
          if (withQuantization) loss = loss.add((terms.quantization = tf.keep(quantizationLoss(all))))
          return loss as tf.Scalar
        }
        if (!quantizing) {
          tf.tidy(() => {
            netOptimizer.minimize(networkLoss(false), false, network)
          })
        } else if (o.schedule === 'joint') {
          tf.tidy(() => {
            const grads = tf.variableGrads(networkLoss(true), [...network, ...codebooks])
            netOptimizer.applyGradients(network.map((v) => ({ name: v.name, tensor: grads.grads[v.name] })))
            codebookOptimizer.applyGradients(codebooks.map((v) => ({ name: v.name, tensor: grads.grads[v.name] })))
          })
        } else {
          // The authors' schedule: one network step without L_Q, then one codebook step with L_Q only.
          tf.tidy(() => {
            netOptimizer.minimize(networkLoss(false), false, network)
          })
          tf.tidy(() => {
            codebookOptimizer.minimize(
              () => {
                const f = inputs.gather(batch) as tf.Tensor2D
                const x = forward(f, false).x
                const all = unlabelledInputs && extra ? tf.concat([x, forward(unlabelledInputs.gather(extra) as tf.Tensor2D, false).x]) : x
                // minimize() disposes what it returns: keep a copy for the progress report.
                const loss = quantizationLoss(all)
                terms.quantization = tf.keep(loss.clone())
                return loss
              },
              false,
              codebooks,
            )
          })
        }
        for (const [name, t] of Object.entries(terms)) {
          sums[name] = (sums[name] ?? 0) + t.dataSync()[0]
          t.dispose()
        }
        batch.dispose()
        extra?.dispose()
        // Let cancellation and other work in the process get a turn.
        if (s % 4 === 3) await new Promise((r) => setImmediate(r))
      }
      const loss = Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v / stepsPerEpoch]))
      hooks.onProgress?.({ done: epoch, total: totalEpochs, epoch, loss, current: quantizing ? 'quantization' : 'network' })
    }
    if (!codebooksReady) initCodebooks(codebooks, embedAll(inputs), unlabelledInputs ? embedAll(unlabelledInputs) : null, o, rng)
    if (sequential && o.codebookEpochs > 0) {
      const fixed = constant(tf.tensor2d(unlabelledInputs ? concatFlat(embedAll(inputs), embedAll(unlabelledInputs)) : embedAll(inputs), [labelled.length + unlabelled.length, D]))
      const rows = fixed.shape[0]
      const batchRows = 2 * o.batchSize
      const all = Array.from({ length: rows }, (_, i) => i)
      for (let e = 1; e <= o.codebookEpochs; e++) {
        shuffle(all, rng)
        let sum = 0
        const steps = Math.ceil(rows / batchRows)
        for (let s = 0; s < steps; s++) {
          checkCancelled(hooks.signal)
          const batch = tf.tensor1d(all.slice(s * batchRows, (s + 1) * batchRows), 'int32')
          const cost = tf.tidy(() => codebookOptimizer.minimize(() => quantizationLoss(fixed.gather(batch) as tf.Tensor2D), true, codebooks) as tf.Scalar)
          sum += cost.dataSync()[0]
          cost.dispose()
          batch.dispose()
          if (s % 4 === 3) await new Promise((r) => setImmediate(r))
        }
        const epoch = o.epochs + e
        hooks.onProgress?.({ done: epoch, total: totalEpochs, epoch, loss: { quantization: sum / steps }, current: 'codebooks' })
      }
    }

    const read = (v: tf.Variable) => Float32Array.from(v.dataSync() as Float32Array)
    const flatCodebooks = new Float32Array(M * K * D)
    codebooks.forEach((c, m) => flatCodebooks.set(read(c), m * K * D))
    const { tail: _start, ...recorded } = o
    const params: DpqParams = { ...recorded, kind: 'supervised', M, K, D, gamma: o.gamma, inputDim, classes, multiLabel, labelled: labelled.length, unlabelled: unlabelled.length }
    const trainedTail = tail ? tf.tidy(() => tailWeights().map((t) => Float32Array.from(t.dataSync() as Float32Array))) : null
    let k = 0
    return new DpqModel(
      params,
      {
        mean,
        scale,
        ...(trainedTail ? { tail: tailFromArrays(() => trainedTail[k++]) } : {}),
        layers: [
          { inDim: headDim, outDim: o.hidden, activation: 'relu', weights: read(wh), bias: read(bh) },
          { inDim: o.hidden, outDim: D, activation: 'tanh', weights: read(wx), bias: read(bx) },
        ],
      },
      flatCodebooks,
    )
  } finally {
    // Also on cancel or error: the wasm heap is bounded.
    netOptimizer.dispose()
    codebookOptimizer.dispose()
    for (const v of vars) v.dispose()
    for (const t of consts) t.dispose()
  }
}

function checkedTail(o: Resolved, inputDim: number): Tail {
  if (!o.tail) throw new Error("finetune 'late' needs the pretrained tail to start from (options.tail)")
  if (inputDim <= MAP_SIZE) throw new Error(`finetune 'late' needs rows of [activation map (${MAP_SIZE}) | pooled feature]; got ${inputDim} values`)
  const sizes = tailArrays(o.tail).map((a) => a.length)
  const expected = tailArrays(tailFromArrays((n) => new Float32Array(n))).map((a) => a.length)
  if (sizes.some((n, i) => n !== expected[i])) throw new Error('options.tail does not have the shapes of block_16 + Conv_1')
  return o.tail
}

/** The pretrained tail's output for the given rows (the head's standardisation statistics). */
function tailOutputs(tail: Tail, features: Float32Array[], rows: number[], dim: number): Float32Array[] {
  const flat = new Float32Array(rows.length * dim)
  rows.forEach((r, i) => flat.set(features[r], i * dim))
  const outDim = TAIL_OUT + dim - MAP_SIZE
  const out = applyTail(tail, flat, rows.length)
  return rows.map((_, i) => out.subarray(i * outDim, (i + 1) * outDim))
}

function matrixOf(features: Float32Array[], rows: number[], dim: number): tf.Tensor2D {
  const flat = new Float32Array(rows.length * dim)
  rows.forEach((r, i) => {
    if (features[r].length !== dim) throw new Error(`Feature ${r} has ${features[r].length} dimensions, expected ${dim}`)
    flat.set(features[r], i * dim)
  })
  return tf.tensor2d(flat, [rows.length, dim])
}

/** Codebooks from residual k-means on the current embeddings, or N(0, 0.01²) as in the authors' code. */
function initCodebooks(codebooks: tf.Variable[], x: Float32Array, xu: Float32Array | null, o: Resolved, rng: Rng): void {
  const { K, D } = o
  if (o.codebookInit === 'normal') {
    for (const c of codebooks) assignDisposing(c, tf.tensor2d(Float32Array.from({ length: K * D }, () => 0.01 * normal(rng)), [K, D]))
    return
  }
  const all = xu ? concatFlat(x, xu) : x
  const residual = all.slice()
  codebooks.forEach((c, m) => {
    const block = kmeans(residual, D, { k: K, assign: 'cosine', seed: o.seed + 31 * (m + 1), iterations: 10, maxPoints: 8000 })
    assignDisposing(c, tf.tensor2d(block, [K, D]))
    const q = { M: 1, K, D, codebooks: block }
    const hard = reconstruct(q, quantize(q, residual))
    for (let i = 0; i < residual.length; i++) residual[i] -= hard[i]
  })
}

/** variable.assign keeps a reference to the value's data; the value tensor itself must still go. */
function assignDisposing(v: tf.Variable, value: tf.Tensor): void {
  v.assign(value)
  value.dispose()
}

function concatFlat(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}

function checkCancelled(signal?: AbortSignal): void {
  if (signal?.aborted) throw new TrainingCancelled()
}

/** Per-dimension mean and 1/std: backbone layers differ in scale by orders of magnitude. */
function standardization(features: Float32Array[], rows: number[], dim: number): { mean: Float32Array; scale: Float32Array } {
  const mean = new Float64Array(dim)
  const sq = new Float64Array(dim)
  for (const r of rows) {
    const f = features[r]
    for (let j = 0; j < dim; j++) {
      mean[j] += f[j]
      sq[j] += f[j] * f[j]
    }
  }
  const n = Math.max(1, rows.length)
  const scale = new Float32Array(dim)
  for (let j = 0; j < dim; j++) {
    mean[j] /= n
    const variance = sq[j] / n - mean[j] * mean[j]
    scale[j] = variance > 1e-12 ? 1 / Math.sqrt(variance) : 0
  }
  return { mean: Float32Array.from(mean), scale }
}

function standardized(features: Float32Array[], rows: number[], dim: number, mean: Float32Array, scale: Float32Array): tf.Tensor2D {
  const flat = new Float32Array(rows.length * dim)
  rows.forEach((r, i) => {
    const f = features[r]
    for (let j = 0; j < dim; j++) flat[i * dim + j] = (f[j] - mean[j]) * scale[j]
  })
  return tf.tensor2d(flat, [rows.length, dim])
}

function multiHot(labels: number[][], classes: number): tf.Tensor2D {
  const flat = new Float32Array(labels.length * classes)
  labels.forEach((l, i) => l.forEach((c) => (flat[i * classes + c] = 1)))
  return tf.tensor2d(flat, [labels.length, classes])
}

/** Fixed class vectors v_j: orthonormal when C ≤ D (margin δ = 1), random unit vectors otherwise. */
function classVectorMatrix(classes: number, dim: number, rng: Rng): Float32Array {
  const v = Float32Array.from({ length: classes * dim }, () => normal(rng))
  if (classes <= dim) {
    // Orthonormalize rows = columns of the transpose.
    const t = new Float32Array(dim * classes)
    for (let c = 0; c < classes; c++) for (let j = 0; j < dim; j++) t[j * classes + c] = v[c * dim + j]
    orthonormalizeColumns(t, dim, classes)
    for (let c = 0; c < classes; c++) for (let j = 0; j < dim; j++) v[c * dim + j] = t[j * classes + c]
    return v
  }
  for (let c = 0; c < classes; c++) {
    let n = 0
    for (let j = 0; j < dim; j++) n += v[c * dim + j] ** 2
    n = Math.sqrt(n)
    for (let j = 0; j < dim; j++) v[c * dim + j] /= n
  }
  return v
}

function glorot(fanIn: number, fanOut: number, rng: Rng): tf.Tensor2D {
  const limit = Math.sqrt(6 / (fanIn + fanOut))
  return tf.tensor2d(Float32Array.from({ length: fanIn * fanOut }, () => (rng() * 2 - 1) * limit), [fanIn, fanOut])
}
