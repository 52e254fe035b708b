// What a model reads per photo. A plain model reads the cached pooled backbone feature. A
// fine-tuned one (finetune 'late') reads [its tail's activation map | pooled feature]; the map is
// cached per file content in `activations`, under the feature and the tail it feeds, computed from the photo file the first time a fine-tuned
// model needs it (training, encoding a new photo), so a library that never fine-tunes pays nothing.
import { activationsFor, putActivations, withoutActivation } from '../store/activations.ts'
import type { Db } from '../store/db.ts'
import { featuresFor } from '../store/features.ts'
import { photosWithHash } from '../store/photos.ts'
import type { ProgressEvent } from '../types.ts'
import { featureById } from '../embed/backbone.ts'
import { finetuneInputs, type Tail } from '../dpq/finetune.ts'
import { LEGACY_TAIL, mapKey, mapSize, tailSpecFor, type TailSpec } from '../dpq/tail-spec.ts'
import type { DpqModel } from '../dpq/model.ts'
import { TrainingCancelled } from '../dpq/train.ts'

/** Computes [map | pooled feature] rows of photo files (activations.ts's extractor). */
export interface ActivationSource {
  /** The pretrained tail, where fine-tuning starts; its spec says which maps the source computes. */
  tail: Tail
  fromPhotos(paths: readonly string[]): Promise<Float32Array[]>
}

/** The tail a library fine-tunes: that of the network its feature comes from. */
export function libraryTail(backboneId: string): TailSpec {
  const feature = featureById(backboneId)
  return feature ? tailSpecFor(feature) : LEGACY_TAIL
}

/** The tail a model reads maps for (null: it reads the pooled feature alone). */
export function modelTail(model: Pick<DpqModel, 'head'>): TailSpec | null {
  return model.head.tail?.spec ?? null
}

/** What a model with this tail (null: none) reads for each hash (hashes without a feature, or without a map, left out). */
export function modelInputs(db: Db, tail: TailSpec | null, backboneId: string, hashes: Iterable<string>): Map<string, Float32Array> {
  const features = featuresFor(db, backboneId, hashes)
  if (!tail) return features
  const maps = activationsFor(db, mapKey(backboneId, tail), features.keys())
  const keys = [...maps.keys()]
  const rows = finetuneInputs(
    tail,
    keys.map((h) => maps.get(h)!),
    keys.map((h) => features.get(h)!),
  )
  return new Map(keys.map((h, i) => [h, rows[i]]))
}

export interface PreparedActivations {
  /** Maps computed now (the others were cached). */
  computed: number
  /** Photos whose file could not be read again: they get no code under a fine-tuned model. */
  failed: { hash: string; file: string | null; error: string }[]
}

/**
 * Computes and stores the map of every hash that has none, from the photo's file. A file that
 * is gone or no longer decodes is reported, not fatal: the rest carries on.
 */
export async function prepareActivations(
  db: Db,
  backboneId: string,
  hashes: Iterable<string>,
  source: ActivationSource,
  hooks: { onProgress?(event: ProgressEvent): void; signal?: AbortSignal } = {},
): Promise<PreparedActivations> {
  const layer = mapKey(backboneId, source.tail.spec)
  const todo = withoutActivation(db, layer, hashes)
  const failed: PreparedActivations['failed'] = []
  const chunk = 32
  for (let s = 0; s < todo.length; s += chunk) {
    if (hooks.signal?.aborted) throw new TrainingCancelled()
    const part = todo.slice(s, s + chunk).map((hash) => ({ hash, file: photosWithHash(db, hash)[0]?.file ?? null }))
    const readable = part.filter((p) => {
      if (p.file === null) failed.push({ hash: p.hash, file: null, error: 'no photo in the library has this content any more' })
      return p.file !== null
    })
    const rows = await mapsOf(readable, source, failed)
    putActivations(db, layer, rows)
    hooks.onProgress?.({ done: Math.min(todo.length, s + chunk), total: todo.length, stage: 'reading activations' })
  }
  return { computed: todo.length - failed.length, failed }
}

/** Maps of a chunk in one batch; when one file fails, each alone, to name it and keep the rest. */
async function mapsOf(
  part: { hash: string; file: string | null }[],
  source: ActivationSource,
  failed: PreparedActivations['failed'],
): Promise<{ hash: string; values: Float32Array }[]> {
  const size = mapSize(source.tail.spec)
  const mapOf = (row: Float32Array) => row.subarray(0, size)
  try {
    const rows = await source.fromPhotos(part.map((p) => p.file!))
    return part.map((p, i) => ({ hash: p.hash, values: mapOf(rows[i]) }))
  } catch {
    const out: { hash: string; values: Float32Array }[] = []
    for (const p of part) {
      try {
        const [row] = await source.fromPhotos([p.file!])
        out.push({ hash: p.hash, values: mapOf(row) })
      } catch (err) {
        failed.push({ hash: p.hash, file: p.file, error: err instanceof Error ? err.message : String(err) })
      }
    }
    return out
  }
}
