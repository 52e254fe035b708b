// Retraining on album labels (without any album it trains an unsupervised model): the head learns
// from the albums, the codebooks from every photo, checked on held-out album photos; every cached feature is encoded under the new model, mAP per
// code length is measured on held-out album photos for the previous and the new model, and only
// then is the new one activated, in one transaction.
import { createHash } from 'node:crypto'
import type { Finetune } from '../dpq/finetune.ts'
import { medianAlbum, trainLibraryModel, type LibraryModelOptions } from '../dpq/library-model.ts'
import type { DpqModel } from '../dpq/model.ts'
import { EMBEDDING_NEIGHBOURS, type NeighbourBlend } from '../dpq/neighbour-blend.ts'
import { createRng, sampleIndices } from '../dpq/prng.ts'
import { trainDpq, type TrainOptions } from '../dpq/train.ts'
import { albumLabels } from '../store/albums.ts'
import type { Db } from '../store/db.ts'
import { featureCoverage, featureHashes } from '../store/features.ts'
import { activeModelBackbone, insertModel, removeUnfinishedModels } from '../store/models.ts'
import { ensureBackend } from './backend.ts'
import { fitUnsupervised } from './codes.ts'
import { checkCancelled, encodeLibrary, type LibraryEmbedding, type ModelingHooks } from './encode.ts'
import { blendedLibrary, readBlended, storedEmbedding, storesEmbeddings, withBlend } from './neighbours.ts'
import { heldOutMap, holdOutQueries } from './evaluation.ts'
import { modelInputs, prepareActivations, type ActivationSource, type PreparedActivations } from './inputs.ts'
import { withModelsLock } from './lock.ts'
import { activate, loadActiveModel } from './models.ts'

/** Photos outside albums a fine-tuned training reads (each costs a 31 KB row and a pass through the tail). */
const FINETUNE_UNLABELLED = 2000

/**
 * When Retrain reads each photo blended with its neighbours, as the unsupervised model does: in a
 * library with enough photos to have close neighbours, and albums of up to 50 photos (median).
 * Measured on clothing-small, CIFAR-10 and COCO-256 (docs/dpq.md, "Retrain and neighbour blending"):
 * it lifts photos in no album above the unsupervised model at 10 and 50 photos per album (on their
 * own features they fell below it at 50), and albums of up to 20; at 50 the albums' own classes
 * give back 0.02 mAP, at 100 the head learns far more from the photos' own features; in COCO-256's
 * 255 photos it cost 0.03 mAP.
 */
export const RETRAIN_BLEND = { minPhotos: 1000, maxMedianAlbum: 50 }

export function blendsForRetrain(photos: number, labels: readonly (readonly number[])[]): boolean {
  const median = medianAlbum(labels)
  return photos >= RETRAIN_BLEND.minPhotos && median > 0 && median <= RETRAIN_BLEND.maxMedianAlbum
}

/**
 * Where Retrain reads the photos' own features, it blends their learned embeddings with their
 * neighbours' instead (dpq/neighbour-blend.ts, EMBEDDING_NEIGHBOURS): measured in docs/dpq.md
 * ("Embedding neighbours"), it lifted albums of 100 and COCO-256 at every code length and photos
 * in no album with them; on blended features it cost photos in no album P@20.
 */
export function embeddingNeighboursFor(blendsFeatures: boolean): NeighbourBlend | null {
  return blendsFeatures ? null : EMBEDDING_NEIGHBOURS
}

/** What trains the model: trainDpq in this thread, or the same on the desktop's compute page. */
export type Trainer = typeof trainDpq

export interface RetrainOptions extends ModelingHooks {
  epochs?: number
  trainOptions?: TrainOptions
  /** Default trainDpq here. */
  train?: Trainer
  /** 'late': also fine-tune MobileNetV2's last blocks (needs `activations`); default 'off'. */
  finetune?: Finetune
  /** Computes the activation maps fine-tuning reads (activations.ts). */
  activations?: ActivationSource
  /** Share of each album's photos held out to measure mAP (at least one per album of 3 or more). */
  holdOut?: number
  /** Album-trained models without fine-tuning (library-model.ts): blend weight, codebook check tolerance, sample size. */
  libraryModel?: Omit<LibraryModelOptions, 'train'>
  /** Test seam: runs after every photo is encoded, just before activation. */
  beforeActivate?(modelId: number): void
}

export interface RetrainResult {
  modelId: number
  /** mAP per code length on held-out album photos, for the previous and the new model. */
  before: Record<string, number | null>
  after: Record<string, number | null>
  finetune: Finetune
  /** Fine-tuning only: photos whose file could not be read again (they have no code under the new model). */
  unreadable?: PreparedActivations['failed']
  /** Albums too small to judge what the head learned (under 10 photos each): it was kept light beside the library's own similarity. */
  smallAlbums?: true
  /** The previous model learned from today's held-out photos too, so `before` is empty: it would score photos it has seen. */
  beforeSeen?: true
}

/**
 * A model on a backbone that some photos have no feature for yet, replacing one that reads another
 * backbone, would drop those photos from search: the feature upgrade switches only once they have one.
 */
function refuseHalfUpgraded(db: Db, backboneId: string): void {
  const active = activeModelBackbone(db)
  if (!active || active.backbone === backboneId) return
  const { done, total } = featureCoverage(db, backboneId)
  if (done < total) throw new Error(`Only ${done} of ${total} photos have the new image feature yet: retrain once the feature upgrade has finished`)
}

export function retrain(db: Db, backboneId: string, options: RetrainOptions = {}): Promise<RetrainResult> {
  return withModelsLock(db, () => retrainLocked(db, backboneId, options), { onWait: options.onLockWait, signal: options.signal })
}

async function retrainLocked(db: Db, backboneId: string, options: RetrainOptions): Promise<RetrainResult> {
  const finetune = options.finetune ?? 'off'
  const hashes = featureHashes(db, backboneId)
  if (hashes.length === 0) throw new Error('No photo features yet: index a folder before training')
  refuseHalfUpgraded(db, backboneId)
  await ensureBackend()
  removeUnfinishedModels(db)
  const albums = albumLabels(db)
  const albumIds = [...new Set([...albums.values()].flat())].sort((a, b) => a - b)
  const classOf = new Map(albumIds.map((id, i) => [id, i]))
  const labels = hashes.map((h) => (albums.get(h) ?? []).map((a) => classOf.get(a)!))
  const heldOut = holdOutQueries(labels, options.holdOut ?? 0.2)
  let trainRows = hashes.map((_, i) => i).filter((i) => !heldOut.has(i))
  // One album alone teaches nothing about what separates photos: train without labels then.
  const hasLabels = new Set(trainRows.flatMap((i) => labels[i])).size >= 2

  let unreadable: PreparedActivations['failed'] | undefined
  let tail = {}
  if (finetune === 'late') {
    if (!hasLabels) throw new Error('Deeper fine-tuning learns from albums: it needs at least two albums with photos')
    if (!options.activations) throw new Error("finetune 'late' needs a source of activation maps (createActivationExtractor)")
    // Every photo needs its map: the new model encodes them all.
    unreadable = (await prepareActivations(db, backboneId, hashes, options.activations, options)).failed
    const labelled = trainRows.filter((i) => labels[i].length)
    const others = trainRows.filter((i) => !labels[i].length)
    const sample = sampleIndices(others.length, FINETUNE_UNLABELLED, createRng(1)).map((j) => others[j])
    trainRows = [...labelled, ...sample].sort((a, b) => a - b)
    tail = { finetune, tail: options.activations.tail }
  }

  const started = performance.now()
  const trainOptions: TrainOptions = { ...options.trainOptions, ...(options.epochs ? { epochs: options.epochs } : {}), ...tail, classes: Math.max(1, albumIds.length) }
  const hooks = { onProgress: options.onProgress, signal: options.signal }
  let model: DpqModel
  let blended: Map<string, Float32Array> | null = null
  // The model the held-out photos measure, where the final one learned from them too.
  let checked: DpqModel | null = null
  let smallAlbums = false
  if (hasLabels && finetune === 'off') {
    // Pooled features are small: the whole library in memory, for the codebooks and the kept PCA;
    // blended with their neighbours (as the unsupervised model reads them) where that was measured to help.
    blended = blendsForRetrain(hashes.length, labels) ? await blendedLibrary(db, backboneId, hashes, hooks) : null
    const inputs = blended ?? modelInputs(db, null, backboneId, hashes)
    const rows = hashes.map((_, i) => i).filter((i) => inputs.has(hashes[i]))
    const position = new Map(rows.map((r, j) => [r, j]))
    const held = [...heldOut].filter((i) => position.has(i)).map((i) => position.get(i)!)
    const library = { embeddingNeighbours: embeddingNeighboursFor(blended !== null), ...options.libraryModel, train: trainOptions }
    const trained = await trainLibraryModel(rows.map((i) => inputs.get(hashes[i])!), rows.map((i) => labels[i]), held, library, hooks)
    smallAlbums = trained.unjudged === true
    model = blended ? withBlend(trained.model) : trained.model
    if (trained.checked) checked = blended ? withBlend(trained.checked) : trained.checked
    if (!blended) inputs.clear()
  } else if (finetune === 'off') {
    // No labels: the library's unsupervised model, as codes.ts fits it.
    const fitted = await fitUnsupervised(trainRows.map((i) => hashes[i]), (part) => modelInputs(db, null, backboneId, part), { trainOptions, train: options.train, ...hooks })
    model = fitted.model
    blended = fitted.blended
  } else {
    const inputs = modelInputs(db, options.activations!.tail.spec, backboneId, trainRows.map((i) => hashes[i]))
    trainRows = trainRows.filter((i) => inputs.has(hashes[i]))
    model = await (options.train ?? trainDpq)(trainRows.map((i) => inputs.get(hashes[i])!), hasLabels ? trainRows.map((i) => labels[i]) : null, trainOptions, hooks)
    inputs.clear()
  }
  const trainSeconds = (performance.now() - started) / 1000

  const modelId = insertModel(db, { kind: model.params.kind, backbone: backboneId, params: model.params, weights: model.serialize() })
  // A blending model encodes what was blended for training; held-out photos are blended now.
  const read = blended ? readBlended(db, backboneId, blended) : undefined
  const after = await encodeLibrary(db, model, backboneId, hashes, { ...options, writeTo: modelId, read })
  // The checked model is measured, not stored.
  const measured = checked ? await albumMap(checked, hashes, labels, heldOut, (part) => encodeLibrary(db, checked, backboneId, part, { signal: options.signal, read })) : null
  blended?.clear()
  const previous = loadActiveModel(db)
  const queries = [...heldOut].sort((a, b) => a - b)
  const heldOutKey = heldOutDigest(hashes, labels, queries)
  let before: Record<string, number> = {}
  let beforeSeen = false
  if (queries.length && previous && previous.backbone === backboneId) {
    if (previous.metrics?.learned_held_out) {
      // It learned from the photos it was measured on: its own measurement stands where they are the same photos.
      if (previous.metrics.held_out === heldOutKey && previous.metrics.map) before = previous.metrics.map
      else beforeSeen = true
    } else {
      // A model that blends neighbours (features or embeddings) kept its embeddings: ranked by what it stored, not re-encoded.
      const { model: old, id } = previous
      before = await albumMap(old, hashes, labels, heldOut, async (part) => (storesEmbeddings(old) ? storedEmbedding(db, id, old, part) : null) ?? (await encodeLibrary(db, old, backboneId, part, { signal: options.signal })))
    }
  }
  const afterMap = measured ?? (queries.length ? heldOutMap(model, after, labels, queries) : {})
  checkCancelled(options.signal)
  options.beforeActivate?.(modelId)
  const learnedHeldOut = checked ? { learned_held_out: true, held_out: heldOutKey } : {}
  activate(db, modelId, model, { map: afterMap, train_seconds: Math.round(trainSeconds * 100) / 100, queries: queries.length, albums: albumIds.length, finetune, ...learnedHeldOut })
  return {
    modelId,
    before,
    after: afterMap,
    finetune,
    ...(unreadable ? { unreadable } : {}),
    ...(smallAlbums ? { smallAlbums: true as const } : {}),
    ...(beforeSeen ? { beforeSeen: true as const } : {}),
  }
}

/** Names the held-out photos and the album photos they are ranked against: equal digests, the same measurement. */
function heldOutDigest(hashes: readonly string[], labels: readonly (readonly number[])[], queries: readonly number[]): string {
  const digest = createHash('sha256')
  hashes.forEach((h, i) => {
    if (labels[i].length) digest.update(`${h}:${labels[i].join(',')}\n`)
  })
  for (const i of queries) digest.update(`held:${hashes[i]}\n`)
  return digest.digest('hex')
}

/**
 * heldOutMap over the album photos alone, all that it ranks (held-out photos are album photos):
 * `embed` gives the model's embeddings and codes of the photos it is handed.
 */
async function albumMap(
  model: DpqModel,
  hashes: readonly string[],
  labels: readonly number[][],
  heldOut: ReadonlySet<number>,
  embed: (part: readonly string[]) => Promise<LibraryEmbedding>,
): Promise<Record<string, number>> {
  const rows = hashes.map((_, i) => i).filter((i) => labels[i].length > 0)
  const queries = rows.flatMap((i, j) => (heldOut.has(i) ? [j] : []))
  if (queries.length === 0) return {}
  return heldOutMap(model, await embed(rows.map((i) => hashes[i])), rows.map((i) => labels[i]), queries)
}
