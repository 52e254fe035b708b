// A library's supervised model when albums hold only a handful of photos: the head learns from
// the albums, the unsupervised embedding of the backbone feature is kept beside it (photos in no
// album keep their neighbours), and the codebooks are fitted on the whole library and checked
// block by block on the held-out album photos (checked-codebooks.ts).
import { refitOnLibrary, type FittedCodebooks } from './checked-codebooks.ts'
import { DpqModel, type Head } from './model.ts'
import { createRng, sampleIndices } from './prng.ts'
import { DEFAULTS, trainDpq, type TrainHooks, type TrainOptions } from './train.ts'
import { pca } from './unsupervised.ts'

export interface LibraryModelOptions {
  train?: TrainOptions
  /** Weight w of the learned embedding against the kept unsupervised one (1: learned only). */
  blend?: number
  /** Photos the codebooks and the kept PCA see at most, beside every album photo (sampled). */
  maxOthers?: number
  /** mAP a block may lose on the held-out photos and still be kept as fitted. */
  tolerance?: number
}

/**
 * Measured on clothing-small with the region feature (docs/dpq.md, "Few photos per album"): w = 0.4
 * keeps photos in no album at or above the unsupervised model (0.5 lost up to 0.018 P@20 there), and
 * tolerance 0.002 weakens more of the later blocks, which is what makes 64 bits beat 8 with 50 photos per album.
 */
export const LIBRARY_DEFAULTS = { blend: 0.4, maxOthers: 10_000, tolerance: 0.002 }

/**
 * `features` and `labels` cover the whole library (labels [] for photos in no album); rows in
 * `heldOut` are not trained on and judge the codebooks. Pooled-feature rows only (no tail).
 */
export async function trainLibraryModel(
  features: Float32Array[],
  labels: number[][],
  heldOut: readonly number[],
  options: LibraryModelOptions = {},
  hooks: TrainHooks = {},
): Promise<{ model: DpqModel; fitted: FittedCodebooks }> {
  const o = { ...LIBRARY_DEFAULTS, ...options }
  const train = { ...DEFAULTS, ...o.train }
  const isHeld = new Set(heldOut)
  const rows = features.map((_, i) => i).filter((i) => !isHeld.has(i))
  // The codebooks are refitted below: with the sequential schedule, skip trainDpq's own k-means.
  const cheapCodebooks = train.schedule === 'sequential' && !train.codebookEpochs ? { codebookInit: 'normal' as const } : {}
  const learned = await trainDpq(
    rows.map((i) => features[i]),
    rows.map((i) => labels[i]),
    { ...o.train, ...cheapCodebooks },
    hooks,
  )
  const model = o.blend < 1 ? blendWithUnsupervised(learned, features, o.blend, o.maxOthers, train.seed) : learned
  return refitOnLibrary(model, model.embedFlat(features), labels, heldOut, { maxOthers: o.maxOthers, tolerance: o.tolerance, seed: train.seed })
}

/** The learned head beside the PCA of the library's features (as unsupervised models embed), D = D_learned + D_kept. */
export function blendWithUnsupervised(learned: DpqModel, features: readonly Float32Array[], weight: number, maxPoints: number, seed: number): DpqModel {
  if (learned.finetuned) throw new Error('A blended model reads pooled features only: fine-tuned models are not blended')
  const inputDim = learned.params.inputDim
  const keptD = Math.min(learned.D, inputDim)
  const used = sampleIndices(features.length, maxPoints, createRng(seed))
  const sample = new Float32Array(used.length * inputDim)
  used.forEach((r, i) => sample.set(features[r], i * inputDim))
  const { mean, scale, basis } = pca(sample, inputDim, keptD, seed)
  const kept: Head = { mean, scale, layers: [{ inDim: inputDim, outDim: keptD, activation: 'linear', weights: basis, bias: new Float32Array(keptD) }] }
  const D = learned.D + keptD
  const { M, K } = learned
  return new DpqModel({ ...learned.params, D, blend: weight, learnedD: learned.D }, { ...learned.head, blend: { weight, head: kept } }, new Float32Array(M * K * D))
}
