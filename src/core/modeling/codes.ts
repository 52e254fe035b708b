// Every photo feature gets a code under the active model. The first model of a library (and the
// refit of an unsupervised one the library has outgrown, refit-schedule.ts) is trained here, without
// labels. A library whose active model reads another backbone is left as it is: replacing that model
// is the feature upgrade's step (service/upgrade.ts), taken once every readable photo has the new feature.
import type { DpqModel } from '../dpq/model.ts'
import { NEIGHBOUR_BLEND } from '../dpq/neighbour-blend.ts'
import { trainDpq, type TrainHooks, type TrainOptions } from '../dpq/train.ts'
import { UNSUPERVISED_METHOD } from '../dpq/unsupervised.ts'
import { hashesWithoutCode } from '../store/codes.ts'
import type { Db } from '../store/db.ts'
import { featureCount, featureHashes, featuresFor } from '../store/features.ts'
import { activeModelBackbone, activeModelRecord, insertModel, removeUnfinishedModels } from '../store/models.ts'
import { ensureBackend } from './backend.ts'
import { checkCancelled, encodeLibrary, type ModelingHooks } from './encode.ts'
import type { TailSpec } from '../dpq/tail-spec.ts'
import { prepareActivations, type ActivationSource, type PreparedActivations } from './inputs.ts'
import { withModelsLock } from './lock.ts'
import { blendLibrary, blendsAsNow, encodeBlend, poolOf, readBlended, withBlend, type FeatureMap } from './neighbours.ts'
import { activate, loadActiveModel, type StoredModel } from './models.ts'
import { refitDue, trainingSample } from './refit-schedule.ts'

export interface UnsupervisedFitOptions extends TrainHooks {
  trainOptions?: TrainOptions
  /** What trains the model (default trainDpq in this thread; the desktop may train on its compute page). */
  train?: typeof trainDpq
  /** The most features a fit reads (default TRAINING_SAMPLE). */
  trainingSample?: number
}

export interface EnsureCodesOptions extends ModelingHooks, UnsupervisedFitOptions {
  /** Refit an outgrown unsupervised model (default true). */
  refit?: boolean
  /** Loads what computes the activation maps of this tail a fine-tuned active model needs for new photos (only called then). */
  activations?: (tail: TailSpec) => Promise<ActivationSource>
  /**
   * Replace an active model that reads another backbone by one trained on this backbone's features
   * (the feature upgrade's switch). Without it such a library keeps its model and codes untouched.
   */
  switchFeature?: boolean
}

/**
 * No active model for this backbone yet (or an unsupervised one the library has outgrown): train an
 * unsupervised one on the cached features (a bounded sample of a large library), encode every
 * feature and activate it. Otherwise: encode the features that have no code (under a fine-tuned model, after
 * computing their activation maps from `activations`). Returns the active model id (null when the
 * library has no features yet) and how many were encoded.
 */
export async function ensureCodes(db: Db, backboneId: string, options: EnsureCodesOptions = {}): Promise<EnsuredCodes> {
  // Nothing to do needs no lock, and no wait behind another process's long training.
  const done = otherBackbone(db, backboneId, options) ?? alreadyCoded(db, backboneId, options.refit !== false)
  if (done) return done
  return withModelsLock(db, () => ensureCodesLocked(db, backboneId, options), { onWait: options.onLockWait, signal: options.signal })
}

export interface EnsuredCodes {
  modelId: number | null
  encoded: number
  failed?: PreparedActivations['failed']
}

async function ensureCodesLocked(db: Db, backboneId: string, options: EnsureCodesOptions): Promise<EnsuredCodes> {
  const other = otherBackbone(db, backboneId, options) // checked again: the lock may have been a long wait
  if (other) return other
  await ensureBackend()
  const active = loadActiveModel(db)
  if (active && active.backbone === backboneId && !(options.refit !== false && outgrown(db, active, backboneId))) {
    const missing = hashesWithoutCode(db, backboneId, active.id)
    // Without a source of maps, new photos wait (uncoded) until one is given.
    const prepared =
      active.model.finetuned && missing.length && options.activations ? await prepareActivations(db, backboneId, missing, await options.activations(active.model.head.tail!.spec), options) : null
    const blend = encodeBlend(db, backboneId, active.model)
    const { present } = await encodeLibrary(db, active.model, backboneId, missing, { ...options, writeTo: active.id, keep: false, blend })
    return { modelId: active.id, encoded: present.filter(Boolean).length, ...(prepared ? { failed: prepared.failed } : {}) }
  }
  const hashes = featureHashes(db, backboneId)
  if (hashes.length === 0) return { modelId: null, encoded: 0 }
  removeUnfinishedModels(db)
  const whole = (part: readonly string[]) => (part.length === hashes.length ? featuresFor(db, backboneId) : featuresFor(db, backboneId, part))
  const { model, features, blended } = await fitUnsupervised(hashes, whole, options)
  // trained_on is the library the refit schedule counts from; sampled, the features the fit read.
  const modelId = insertModel(db, { kind: model.params.kind, backbone: backboneId, params: model.params, weights: model.serialize(), metrics: { trained_on: hashes.length, sampled: features.size } })
  // The photos the fit read are in memory already, blended with their neighbours: encoded from there.
  // Those beyond its sample are read and blended chunk by chunk, and no chunk's codes are kept here.
  const { present } = await encodeLibrary(db, model, backboneId, hashes, { ...options, writeTo: modelId, read: readBlended(db, backboneId, blended), keep: false })
  checkCancelled(options.signal)
  activate(db, modelId, model)
  return { modelId, encoded: present.filter(Boolean).length }
}

/**
 * The library's unsupervised model, as its first model and every refit train it: no labels, on the
 * features of `hashes` (a deterministic sample of at most `trainingSample` of them), read by `read`,
 * each blended with its neighbours among them (dpq/neighbour-blend.ts; the model records how, and
 * every library photo it encodes is blended the same way). Returns the model, the features it read
 * and those features blended, by hash.
 */
export async function fitUnsupervised(
  hashes: readonly string[],
  read: (hashes: readonly string[]) => FeatureMap,
  options: UnsupervisedFitOptions = {},
): Promise<{ model: DpqModel; features: FeatureMap; blended: FeatureMap }> {
  const features = read(trainingSample(hashes, options.trainingSample))
  const blended = await blendLibrary(features, poolOf(features, NEIGHBOUR_BLEND.pool), NEIGHBOUR_BLEND, options)
  const model = withBlend(await (options.train ?? trainDpq)([...blended.values()], null, options.trainOptions ?? {}, options))
  return { model, features, blended }
}

/** The active model reads another backbone and this is no switch: it stays, nothing is encoded. */
function otherBackbone(db: Db, backboneId: string, options: EnsureCodesOptions): EnsuredCodes | null {
  const active = activeModelBackbone(db)
  return active && active.backbone !== backboneId && !options.switchFeature ? { modelId: active.id, encoded: 0 } : null
}

/** Every feature has a code under a usable active model (null when there is work to do). */
function alreadyCoded(db: Db, backboneId: string, refit: boolean): EnsuredCodes | null {
  const active = activeModelRecord(db)
  if (!active || active.backbone !== backboneId || (refit && outgrown(db, active, backboneId))) return null
  return hashesWithoutCode(db, backboneId, active.id).length === 0 ? { modelId: active.id, encoded: 0 } : null
}

/**
 * Whether ensureCodes will train a model (long enough to run as a job the user can watch): the
 * library's first one, or a refit of an unsupervised model the library has outgrown. A model on
 * another backbone is replaced by the feature upgrade, not here.
 */
export function pendingTraining(db: Db, backboneId: string): 'first model' | 'library grew' | 'better method' | null {
  const active = activeModelRecord(db)
  if (!active) return 'first model'
  if (active.backbone !== backboneId) return null
  if (!outgrown(db, active, backboneId)) return null
  return olderMethod(active) ? 'better method' : 'library grew'
}

/**
 * An unsupervised model is refitted on the schedule of refit-schedule.ts as the library grows, and
 * at once when it was fitted by an earlier method. Supervised models are the user's and are never
 * replaced behind their back.
 */
function outgrown(db: Db, active: FittedModel, backboneId: string): boolean {
  if (active.kind !== 'unsupervised') return false
  if (olderMethod(active)) return true
  const trainedOn = active.metrics?.trained_on
  return typeof trainedOn === 'number' && refitDue(trainedOn, featureCount(db, backboneId))
}

/** What the refit checks read of a stored model. */
type FittedModel = Pick<StoredModel, 'kind' | 'metrics'> & { params: Record<string, unknown> }

function olderMethod(model: FittedModel): boolean {
  return model.kind === 'unsupervised' && (model.params.method !== UNSUPERVISED_METHOD || !blendsAsNow(model))
}
