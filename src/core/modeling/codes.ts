// Every photo feature gets a code under the active model. The first model of a library (and the
// refit of an unsupervised one the library has outgrown) is trained here, without labels. A
// library whose active model reads another backbone is left as it is: replacing that model is the
// feature upgrade's step (service/upgrade.ts), taken once every readable photo has the new feature.
import { trainDpq, type TrainOptions } from '../dpq/train.ts'
import { hashesWithoutCode } from '../store/codes.ts'
import type { Db } from '../store/db.ts'
import { featureCount, featuresFor } from '../store/features.ts'
import { activeModelBackbone, activeModelRecord, insertModel, removeUnfinishedModels } from '../store/models.ts'
import { ensureBackend } from './backend.ts'
import { checkCancelled, encodeLibrary, type ModelingHooks } from './encode.ts'
import { prepareActivations, type ActivationSource, type PreparedActivations } from './inputs.ts'
import { withModelsLock } from './lock.ts'
import { activate, loadActiveModel, type StoredModel } from './models.ts'

export interface EnsureCodesOptions extends ModelingHooks {
  trainOptions?: TrainOptions
  /** Refit an outgrown unsupervised model (default true). */
  refit?: boolean
  /** Loads what computes the activation maps a fine-tuned active model needs for new photos (only called then). */
  activations?: () => Promise<ActivationSource>
  /**
   * Replace an active model that reads another backbone by one trained on this backbone's features
   * (the feature upgrade's switch). Without it such a library keeps its model and codes untouched.
   */
  switchFeature?: boolean
}

/**
 * No active model for this backbone yet: train an unsupervised one on all cached features and
 * activate it. Otherwise: encode the features that have no code (under a fine-tuned model, after
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
      active.model.finetuned && missing.length && options.activations ? await prepareActivations(db, backboneId, missing, await options.activations(), options) : null
    const { present } = await encodeLibrary(db, active.model, backboneId, missing, { ...options, writeTo: active.id })
    return { modelId: active.id, encoded: present.filter(Boolean).length, ...(prepared ? { failed: prepared.failed } : {}) }
  }
  const features = featuresFor(db, backboneId)
  if (features.size === 0) return { modelId: null, encoded: 0 }
  removeUnfinishedModels(db)
  const model = await trainDpq([...features.values()], null, options.trainOptions ?? {}, options)
  const modelId = insertModel(db, { kind: model.params.kind, backbone: backboneId, params: model.params, weights: model.serialize(), metrics: { trained_on: features.size } })
  // The features are in memory already: encode from them rather than reading each one again.
  const read = (part: readonly string[]) => new Map(part.map((h) => [h, features.get(h)!]))
  await encodeLibrary(db, model, backboneId, [...features.keys()], { ...options, writeTo: modelId, read })
  checkCancelled(options.signal)
  activate(db, modelId, model)
  return { modelId, encoded: features.size }
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

/** Past this many photos an unsupervised model has seen enough of the library to keep. */
const UNSUPERVISED_SETTLED = 20_000

/**
 * Whether ensureCodes will train a model (long enough to run as a job the user can watch): the
 * library's first one, or a refit of an unsupervised model the library has outgrown. A model on
 * another backbone is replaced by the feature upgrade, not here.
 */
export function pendingTraining(db: Db, backboneId: string): 'first model' | 'library grew' | null {
  const active = activeModelRecord(db)
  if (!active) return 'first model'
  if (active.backbone !== backboneId) return null
  return outgrown(db, active, backboneId) ? 'library grew' : null
}

/**
 * An unsupervised model trained on a library's first few photos (a first folder, a first watcher
 * batch) describes it poorly once it has doubled: such a model is retrained on everything.
 * Supervised models are the user's and are never replaced behind their back.
 */
function outgrown(db: Db, active: Pick<StoredModel, 'kind' | 'metrics'>, backboneId: string): boolean {
  const trainedOn = active.metrics?.trained_on
  if (active.kind !== 'unsupervised' || typeof trainedOn !== 'number' || trainedOn >= UNSUPERVISED_SETTLED) return false
  return featureCount(db, backboneId) >= 2 * trainedOn
}
