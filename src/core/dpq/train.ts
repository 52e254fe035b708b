// Training a DPQ model on cached backbone features (docs/dpq.md). With album labels: the head
// (fc → ReLU → fc → tanh) and M residual codebooks, losses L_S + λL_C + L_Q (+ β·L_P on
// photos in no album). Without labels: unsupervised progressive quantization. The caller selects
// the tfjs backend first.
import type { ProgressEvent } from '../types.ts'
import { fitCodebooks, initCodebooks } from './codebooks.ts'
import { mapSize, tailArrays, tailFromArrays, tailOutDim, type Finetune, type Tail } from './finetune.ts'
import { l2normalize } from './kmeans.ts'
import { quantizationLoss } from './losses.ts'
import { DpqModel, type DpqParams, type Schedule } from './model.ts'
import { createNetwork } from './network.ts'
import { createRng, sampleIndices, type Rng } from './prng.ts'
import { runEpochs, planSchedule } from './schedule.ts'
import type { StepContext } from './steps.ts'
import { matMulT, tf } from './tf.ts'
import { classVectorMatrix, concatFlat, matrixOf, multiHot, standardization, tailOutputs } from './train-data.ts'
import { checkCancelled, TensorScope, TrainingCancelled } from './training-scope.ts'
import { trainUnsupervised } from './unsupervised.ts'

export { TrainingCancelled }

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
   * 'late' (finetune.ts): also train the network's last block + Conv_1 from `tail`; every
   * feature row is then [the tail's activation map | pooled feature] (finetuneInputs). Supervised only.
   */
  finetune?: Finetune
  /** The pretrained tail fine-tuning starts from (activations.ts' extractor). */
  tail?: Tail
  /** Learning rate of the tail (Adam; the head uses `lr`). */
  tailLr?: number
}

export interface TrainHooks {
  onProgress?(event: ProgressEvent): void
  signal?: AbortSignal
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
  // Measured (docs/dpq.md, bench/gpu/RESULTS.md): at 400 photos per class 1e-3 collapses
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
  checkCancelled(hooks.signal)
  const labelled = labels ? features.map((_, i) => i).filter((i) => labels[i].length > 0) : []
  if (!labels || labelled.length === 0) {
    if (o.finetune === 'late') throw new Error("finetune 'late' trains on album labels; without any, train with finetune 'off'")
    const model = trainUnsupervised(features, { M: o.M, K: o.K, D: o.D, gamma: o.gamma, seed: o.seed }, (done, total) => {
      checkCancelled(hooks.signal)
      hooks.onProgress?.({ done, total, stage: 'unsupervised' })
    })
    return model
  }
  return trainSupervised(features, labels, o, hooks)
}

type Resolved = typeof DEFAULTS & TrainOptions

/** Album photos (rows of `features` with labels) and a bounded sample of photos in no album. */
function trainingRows(labels: number[][], o: Resolved, rng: Rng): { labelled: number[]; unlabelled: number[] } {
  const labelled = labels.map((_, i) => i).filter((i) => labels[i].length > 0)
  const unlabelledAll = labels.map((_, i) => i).filter((i) => labels[i].length === 0)
  const unlabelled = sampleIndices(unlabelledAll.length, o.maxUnlabelled, rng)
    .sort((a, b) => a - b)
    .map((j) => unlabelledAll[j])
  return { labelled, unlabelled }
}

async function trainSupervised(features: Float32Array[], labels: number[][], o: Resolved, hooks: TrainHooks): Promise<DpqModel> {
  const rng = createRng(o.seed)
  const { labelled, unlabelled } = trainingRows(labels, o, rng)
  const { M, K, D } = o
  const inputDim = features[0].length
  const classes = o.classes ?? Math.max(...labelled.flatMap((i) => labels[i])) + 1
  const multiLabel = labelled.some((i) => labels[i].length > 1)
  const tail = o.finetune === 'late' ? checkedTail(o, inputDim) : null
  // With a tail, the head reads the tail's output, standardised by its pretrained statistics.
  const headDim = tail ? tailOutDim(tail.spec, inputDim) : inputDim
  const headRows = tail ? await tailOutputs(tail, features, labelled.concat(unlabelled), inputDim) : null
  const standard = headRows ? standardization(headRows, headRows.map((_, i) => i), headDim) : standardization(features, labelled.concat(unlabelled), inputDim)

  const scope = new TensorScope()
  const netOptimizer = tf.train.adam(o.lr)
  const codebookOptimizer = tf.train.adam(o.codebookLr)
  try {
    // A tail reads raw rows; the head alone reads standardised ones.
    const rowsOf = (rows: number[]) => scope.constant(matrixOf(features, rows, inputDim, tail ? undefined : standard))
    const inputs = rowsOf(labelled)
    const unlabelledInputs = unlabelled.length ? rowsOf(unlabelled) : null
    // Preservation target: the angle structure of the (centered, standardized) backbone features.
    const unlabelledTarget = unlabelledInputs && o.preservation > 0 ? scope.constant(l2normalize(unlabelledInputs)) : null
    const targets = scope.constant(multiHot(labelled.map((i) => labels[i]), classes))
    const classVectors = scope.constant(tf.tensor2d(classVectorMatrix(classes, D, rng), [classes, D]))
    const margins = scope.constant(tf.tidy(() => tf.sub(1, matMulT(classVectors, classVectors)) as tf.Tensor2D))
    const network = createNetwork(scope, { inputDim, headDim, hidden: o.hidden, D, classes }, o, rng, tail, standard)
    const codebooks = Array.from({ length: M }, (_, m) => scope.variable(tf.zeros([K, D]) as tf.Tensor2D, `codebook${m}`))
    const embedAll = async () => (unlabelledInputs ? concatFlat(await network.embedAll(inputs), await network.embedAll(unlabelledInputs)) : network.embedAll(inputs))
    const context: StepContext = { network, codebooks, netOptimizer, codebookOptimizer, inputs, targets, unlabelled: unlabelledInputs, unlabelledTarget, classVectors, margins, multiLabel, weights: o }

    const plan = planSchedule(o)
    let codebooksReady = false
    const startQuantizing = async () => {
      await initCodebooks(codebooks, await embedAll(), o, rng)
      codebooksReady = true
    }
    await runEpochs(plan, context, { epochs: o.epochs, batchSize: o.batchSize, labelledRows: labelled.length, unlabelledRows: unlabelled.length, startQuantizing }, rng, hooks)
    if (!codebooksReady) await startQuantizing()
    if (o.schedule === 'sequential' && o.codebookEpochs > 0) {
      const fixed = scope.constant(tf.tensor2d(await embedAll(), [labelled.length + unlabelled.length, D]))
      const fit = { epochs: o.codebookEpochs, batchRows: 2 * o.batchSize, firstEpoch: o.epochs, totalEpochs: plan.totalEpochs }
      await fitCodebooks(codebooks, codebookOptimizer, fixed, (x) => quantizationLoss(x, codebooks, o), fit, rng, hooks)
    }

    const flatCodebooks = new Float32Array(M * K * D)
    for (const [m, c] of codebooks.entries()) flatCodebooks.set((await c.data()) as Float32Array, m * K * D)
    const { tail: _start, ...recorded } = o
    const params: DpqParams = { ...recorded, kind: 'supervised', M, K, D, gamma: o.gamma, inputDim, classes, multiLabel, labelled: labelled.length, unlabelled: unlabelled.length }
    return new DpqModel(params, await network.head(), flatCodebooks)
  } finally {
    // Also on cancel or error: the wasm heap is bounded.
    netOptimizer.dispose()
    codebookOptimizer.dispose()
    scope.dispose()
  }
}

function checkedTail(o: Resolved, inputDim: number): Tail {
  if (!o.tail) throw new Error("finetune 'late' needs the pretrained tail to start from (options.tail)")
  const { spec } = o.tail
  if (inputDim <= mapSize(spec)) throw new Error(`finetune 'late' needs rows of [activation map (${mapSize(spec)}, ${spec.layer}) | pooled feature]; got ${inputDim} values`)
  const sizes = tailArrays(o.tail).map((a) => a.length)
  const expected = tailArrays(tailFromArrays(spec, (n) => new Float32Array(n))).map((a) => a.length)
  if (sizes.some((n, i) => n !== expected[i])) throw new Error(`options.tail does not have the shapes of the tail from ${spec.layer}`)
  return o.tail
}
