// A library's supervised model when albums hold only a handful of photos: the head learns from
// the albums, the unsupervised embedding of the backbone feature is kept beside it (photos in no
// album keep their neighbours), and the codebooks are fitted on the whole library and checked
// block by block on the held-out album photos (checked-codebooks.ts); then the head learns again
// from every album photo, held-out ones included, and the codebooks follow with the blocks as checked.
import { chooseBlend } from './blend-choice.ts'
import { blendAmongRows, type NeighbourBlend } from './neighbour-blend.ts'
import { refitOnLibrary, type FittedCodebooks } from './checked-codebooks.ts'
import { DpqModel, type Head } from './model.ts'
import { createRng, sampleIndices } from './prng.ts'
import { DEFAULTS, trainDpq, type TrainHooks, type TrainOptions } from './train.ts'
import { pca } from './unsupervised.ts'

export interface LibraryModelOptions {
  train?: TrainOptions
  /** Weight w of the learned embedding against the kept unsupervised one (1: learned only); unset: chosen per library, `unjudgedBlend` where it cannot be. */
  blend?: number
  /** The weight where no held-out photo has an album mate to judge the head by (albums under 10 photos). */
  unjudgedBlend?: number
  /** Weights tried on the held-out album photos when `blend` is unset (blend-choice.ts); the default weight is kept unless one beats it by more than `blendMargin`. */
  blendCandidates?: readonly number[]
  blendMargin?: number
  /** Dimensions of the kept PCA: its top components, so the codes spend fewer bits on what ranks little. */
  keptD?: number
  /** Photos the codebooks and the kept PCA see at most, beside every album photo (sampled). */
  maxOthers?: number
  /** mAP a block may lose on the held-out photos and still be kept as fitted. */
  tolerance?: number
  /** Scale of codebook blocks 2…M (checked-codebooks.ts); 1 by default: measured, a smaller one lifted CIFAR-10's long codes and cost photos in no album. */
  refineWeight?: number
  /**
   * Once the held-out photos have chosen the weight and judged the blocks, train the head again on
   * every album photo, held-out ones included, and refit the codebooks with the blocks as judged.
   * The held-out photos then measure the `checked` model returned beside it, not the final one.
   * Unset: from `finalPassFrom` photos in the median album, up to `finalPassMaxAlbumPhotos` album photos.
   */
  finalPass?: boolean
  finalPassFrom?: number
  finalPassMaxAlbumPhotos?: number
  /**
   * Blend each photo's embedding with its nearest photos' before the codebooks are fitted and
   * checked (neighbour-blend.ts); the model records it, and every photo it encodes later, and
   * every query, is blended the same way. Unset: not blended.
   */
  embeddingNeighbours?: NeighbourBlend | null
}

/**
 * Measured on clothing-small, COCO-256 and CIFAR-10 with the region feature (docs/dpq.md, "Few photos
 * per album"): 0.4 keeps photos in no album at or above the unsupervised model (0.5 lost up to 0.018
 * P@20 there), so the candidates stop at 0.4; where the head learned little (CIFAR-10, 10 per album)
 * 0.2 ranks new photos best, and the held-out photos show it by far more than the margin. Tolerance
 * 0.002 weakens more of the later blocks, which is what makes 64 bits beat 8 with 50 photos per album.
 * Keeping the PCA's top 128 dimensions instead of all 256 left the albums' mAP as it was and ranked
 * photos in no album closer to the unsupervised model's codes (384 dimensions in 64 bits, not 512).
 * Where nothing can judge the head, it learned from at most 8 photos per album: on CIFAR-10 at 5 per
 * album it ranked new photos below the unsupervised codes at 0.4, at 0.1 no longer, while
 * clothing-small kept most of its gain; so an unjudged head weighs 0.1. The final pass on every
 * album photo (a fifth more photos to learn from) lifted clothing-small at 50 and 100 per album by
 * 0.028 and 0.033 mAP at 64 bits and left photos in no album where they were; at 20 per album it
 * gained 0.019 but cost those photos 0.003–0.006 P@20, at 10 it gained 0.002: it runs from 50
 * photos in the median album. It trains the head a second time: beyond 2,500 album photos the held-out
 * ones are capped (MAX_HELD_OUT, under a fifth) and it took a 5,000-photo Retrain with 500 per album
 * from 38.8 to 68.6 s, past the minute Retrain may take; with 2,500 (250 per album) 39.4 s.
 */
export const LIBRARY_DEFAULTS = { blend: 0.4, unjudgedBlend: 0.1, blendCandidates: [0.2, 0.3, 0.4] as readonly number[], blendMargin: 0.01, maxOthers: 10_000, tolerance: 0.002, keptD: 128, finalPassFrom: 50, finalPassMaxAlbumPhotos: 2_500 }

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
): Promise<{ model: DpqModel; fitted: FittedCodebooks; blendChoice?: Record<string, number>; unjudged?: true; checked?: DpqModel }> {
  const o = { ...LIBRARY_DEFAULTS, ...options }
  const train = { ...DEFAULTS, ...o.train }
  const isHeld = new Set(heldOut)
  const rows = features.map((_, i) => i).filter((i) => !isHeld.has(i))
  // The codebooks are refitted below: with the sequential schedule, skip trainDpq's own k-means.
  const headOptions = { ...o.train, ...(train.schedule === 'sequential' && !train.codebookEpochs ? { codebookInit: 'normal' as const } : {}) }
  const albumPhotos = labels.filter((l) => l.length > 0).length
  const finalPass = (o.finalPass ?? (medianAlbum(labels) >= o.finalPassFrom && albumPhotos <= o.finalPassMaxAlbumPhotos)) && heldOut.length > 0
  const learned = await trainDpq(
    rows.map((i) => features[i]),
    rows.map((i) => labels[i]),
    headOptions,
    finalPass ? passHooks(hooks, 0, 2) : hooks,
  )
  let blend: { kept: Head; weight: number } | null = null
  let blendChoice: Record<string, number> | undefined
  let unjudged = false
  if (options.blend === undefined || options.blend < 1) {
    const kept = keptUnsupervised(learned, features, o.maxOthers, train.seed, o.keptD)
    let weight = options.blend
    if (weight === undefined) {
      const heldFeatures = heldOut.map((i) => features[i])
      const chosen = chooseBlend({ candidates: o.blendCandidates, default: o.blend, margin: o.blendMargin }, (w) => {
        const m = assembleBlend(learned, kept, w)
        return { x: m.embedFlat(heldFeatures), D: m.D }
      }, heldOut.map((i) => labels[i]))
      weight = chosen?.weight ?? o.unjudgedBlend
      blendChoice = chosen?.peerMap
      unjudged = !chosen
    }
    blend = { kept, weight }
  }
  const neighbours = o.embeddingNeighbours ?? null
  const assemble = (head: DpqModel): DpqModel => {
    const joined = blend ? assembleBlend(head, blend.kept, blend.weight) : head
    return neighbours ? new DpqModel({ ...joined.params, embeddingNeighbours: neighbours }, joined.head, joined.codebooks) : joined
  }
  // What the codebooks quantize: the embeddings as every photo will be encoded.
  const encoded = (m: DpqModel): Float32Array => (neighbours ? blendAmongRows(m.embedFlat(features), m.D, neighbours, train.seed) : m.embedFlat(features))
  const refit = { maxOthers: o.maxOthers, tolerance: o.tolerance, seed: train.seed, refineWeight: o.refineWeight }
  const model = assemble(learned)
  const checked = refitOnLibrary(model, encoded(model), labels, heldOut, refit)
  const extras = { ...(blendChoice ? { blendChoice } : {}), ...(unjudged ? { unjudged: true as const } : {}) }
  if (!finalPass) return { ...checked, ...extras }
  const again = assemble(await trainDpq(features, labels, headOptions, passHooks(hooks, 1, 2)))
  const final = refitOnLibrary(again, encoded(again), labels, [], { ...refit, blockScale: checked.fitted.blockScale })
  return { model: final.model, fitted: checked.fitted, checked: checked.model, ...extras }
}

/** Photos in the median album (0 without albums). */
export function medianAlbum(labels: readonly (readonly number[])[]): number {
  const sizes = new Map<number, number>()
  for (const albums of labels) for (const a of albums) sizes.set(a, (sizes.get(a) ?? 0) + 1)
  const sorted = [...sizes.values()].sort((a, b) => a - b)
  return sorted.length ? sorted[Math.floor((sorted.length - 1) / 2)] : 0
}

/** Progress of one of several training passes as epochs of one run (pass 1 of 2: epochs 31–60 of 60); later passes are the final pass. */
function passHooks(hooks: TrainHooks, pass: number, passes: number): TrainHooks {
  const report = hooks.onProgress
  if (!report) return hooks
  return {
    ...hooks,
    onProgress: (e) =>
      report({
        ...e,
        done: e.done + pass * e.total,
        total: e.total * passes,
        ...(e.epoch != null ? { epoch: e.epoch + pass * e.total } : {}),
        ...(pass > 0 ? { stage: 'final pass' as const } : {}),
      }),
  }
}

/**
 * The PCA head kept beside the learned one (fitted on up to `maxPoints` sampled library photos).
 * Fully centred and normalised per photo (cosine about the library mean), unlike the unsupervised
 * model's half-centred inner product: beside a learned part, that kept photos in no album closer
 * to their unsupervised neighbours (docs/dpq.md, "Block check").
 */
function keptUnsupervised(learned: DpqModel, features: readonly Float32Array[], maxPoints: number, seed: number, dims: number): Head {
  if (learned.finetuned) throw new Error('A blended model reads pooled features only: fine-tuned models are not blended')
  const inputDim = learned.params.inputDim
  const keptD = Math.min(dims, inputDim)
  const used = sampleIndices(features.length, maxPoints, createRng(seed))
  const sample = new Float32Array(used.length * inputDim)
  used.forEach((r, i) => sample.set(features[r], i * inputDim))
  const { mean, scale, basis } = pca(sample, inputDim, keptD, seed)
  return { mean, scale, layers: [{ inDim: inputDim, outDim: keptD, activation: 'linear', weights: basis, bias: new Float32Array(keptD) }] }
}

function assembleBlend(learned: DpqModel, kept: Head, weight: number): DpqModel {
  const keptD = kept.layers[kept.layers.length - 1].outDim
  const D = learned.D + keptD
  const { M, K } = learned
  return new DpqModel({ ...learned.params, D, blend: weight, learnedD: learned.D }, { ...learned.head, blend: { weight, head: kept } }, new Float32Array(M * K * D))
}
