// Whether Retrain fine-tunes MobileNetV2's last blocks by default: on the GPU backend, and on CPU
// when it pays for itself. On CIFAR-10 it is worth +0.04–0.10 mAP (docs/dpq.md), so on CPU it pays
// when it keeps Retrain within the 60 s retraining budget; past that the plain head's seconds win
// and fine-tuning stays one click away.
import type { Finetune } from '../dpq/finetune.ts'
import { LEGACY_TAIL, mapKey, tailWork, type TailSpec } from '../dpq/tail-spec.ts'
import { selectBackend, type BackendKind } from '../embed/backend.ts'
import { mappedFeatureCount } from '../store/activations.ts'
import { albumPhotoCount } from '../store/albums.ts'
import type { Db } from '../store/db.ts'
import { featureCount } from '../store/features.ts'
import { tailSpeedFactor } from './finetune-speed.ts'
import { libraryTail } from './inputs.ts'

export type { BackendKind }

/** What Retrain would do by default, and what fine-tuning would cost here. */
export interface FinetunePlan {
  finetune: Finetune
  /** Estimated seconds of a Retrain with finetune 'late' (maps still to read, training, encoding). */
  lateSeconds: number
  /** One sentence for the user: why this default. */
  reason: string
}

/** A 5,000-photo library retrains in at most this long. */
export const RETRAIN_BUDGET_SECONDS = 60

/**
 * Seconds per unit on wasm, measured on the 2-core development box with the legacy tail (docs/dpq.md):
 * one album photo through one epoch of tail + head training, one activation map decoded and computed
 * from its file, one photo pushed through the tail to its code. Scaled by this machine's measured
 * speed, and by another tail's multiply-adds (training, codes) and map reading (below).
 */
const CPU_COST = { trainPerPhotoEpoch: 0.015, mapPerPhoto: 0.035, encodePerPhoto: 0.004 }

/**
 * A map's cost against the legacy tail's, whose extractor runs the first MobileNetV2 and then the
 * stored feature's network: the region tail's map comes out of the feature's own pass (measured 0.86×).
 */
const MAP_COST: Record<TailSpec['network'], number> = { mobilenet_v2: 1, mobilenet_v2_mid: 0.86 }

export interface PlanInput {
  backendKind: BackendKind
  /** Photos with a feature (all of them get encoded). */
  photos: number
  /** Distinct album photos with a feature (about 80% train; retrain holds out the rest). */
  albumPhotos: number
  /** Photos whose activation map is not cached yet. */
  missingMaps: number
  epochs: number
  /** The tail that would train (default the legacy one, whose costs were measured). */
  tail?: TailSpec
  /** This machine's speed against the reference box (finetune-speed.ts; 1 = the same). */
  speed?: number
  /**
   * The speed of the backend that trains, when that is not this process's (the desktop's compute
   * page); maps and codes are still computed here, at `speed`.
   */
  trainSpeed?: number
}

export function planFinetune(p: PlanInput): FinetunePlan {
  const trained = Math.ceil(p.albumPhotos * 0.8)
  const speed = p.speed ?? 1
  const tail = p.tail ?? LEGACY_TAIL
  const work = tailWork(tail) / tailWork(LEGACY_TAIL)
  const here = (p.missingMaps * CPU_COST.mapPerPhoto * MAP_COST[tail.network] + p.photos * CPU_COST.encodePerPhoto * work) * speed
  const training = trained * p.epochs * CPU_COST.trainPerPhotoEpoch * work * (p.trainSpeed ?? speed)
  const lateSeconds = round(here + training)
  if (p.backendKind === 'gpu') return { finetune: 'late', lateSeconds, reason: 'The GPU trains the network’s last layers in seconds.' }
  if (lateSeconds <= RETRAIN_BUDGET_SECONDS) {
    return { finetune: 'late', lateSeconds, reason: `That fits within the ${RETRAIN_BUDGET_SECONDS} s a retrain may take.` }
  }
  // The estimate itself travels in lateSeconds: the reason says why, not how long.
  return {
    finetune: 'off',
    lateSeconds,
    reason: `Without a GPU, ${p.albumPhotos} album photos take well over the ${RETRAIN_BUDGET_SECONDS} s a retrain may take, so it is off unless you switch it on.`,
  }
}

/** What a retrain has to do, whatever the machine. */
export type PlanWork = Omit<PlanInput, 'backendKind' | 'speed'>

/** The work of retraining this library (counts read from the library file). */
export function libraryWork(db: Db, backboneId: string, epochs: number): PlanWork {
  const photos = featureCount(db, backboneId)
  const albumPhotos = albumPhotoCount(db, backboneId)
  const tail = libraryTail(backboneId)
  const mapped = mappedFeatureCount(db, backboneId, mapKey(backboneId, tail))
  return { photos, albumPhotos, missingMaps: photos - mapped, epochs, tail }
}

/** The plan for this library on a given backend kind and speed. */
export function libraryFinetunePlan(db: Db, backboneId: string, backendKind: BackendKind, epochs: number, speed = 1): FinetunePlan {
  return planFinetune({ ...libraryWork(db, backboneId, epochs), backendKind, speed })
}

/**
 * The plan on this machine: the backend it trains on (or the one asked for) at its measured speed,
 * GPU included. `elsewhere`: training runs on another backend (the desktop's compute page), whose
 * measured speed scales the training part of the estimate.
 */
export async function finetunePlanHere(work: PlanWork, backend?: string, elsewhere?: { backend: string; kind: BackendKind; speed: number }): Promise<FinetunePlan & { backend: string }> {
  const choice = await selectBackend(backend ? { backend } : {})
  const speed = await tailSpeedFactor()
  if (elsewhere) return { ...planFinetune({ ...work, backendKind: elsewhere.kind, speed, trainSpeed: elsewhere.speed }), backend: elsewhere.backend }
  return { ...planFinetune({ ...work, backendKind: choice.kind, speed }), backend: choice.name }
}

function round(seconds: number): number {
  return seconds < 10 ? Math.round(seconds * 10) / 10 : Math.round(seconds)
}
