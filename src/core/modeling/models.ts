// DPQ models as the engine uses them: the stored row with its weights loaded into a DpqModel,
// and activation (which also drops what no active model reads any more).
import { DpqModel, type DpqParams } from '../dpq/model.ts'
import { mapKey } from '../dpq/tail-spec.ts'
import { dropActivations, dropOtherActivations } from '../store/activations.ts'
import type { Db } from '../store/db.ts'
import { activateModel, activeModelRecord, modelRecord, type ModelKind, type ModelMetrics, type ModelRecord } from '../store/models.ts'

export interface StoredModel {
  id: number
  model: DpqModel
  kind: ModelKind
  backbone: string
  params: DpqParams
  metrics: ModelMetrics | null
}

// Deserializing a model costs a few ms per MB of weights: keep the last one. Keyed by id and
// creation time, since SQLite may reuse the id of a deleted (unfinished) model row.
let cached: { db: Db; key: string; model: DpqModel } | null = null

function loaded(db: Db, record: ModelRecord): StoredModel {
  if (!record.weights) throw new Error(`Model ${record.id} is history only: its weights were dropped when newer models replaced it`)
  const key = `${record.id}:${record.createdAt}:${record.weights.length}`
  if (!cached || cached.db !== db || cached.key !== key) cached = { db, key, model: DpqModel.deserialize(record.weights) }
  return {
    id: record.id,
    model: cached.model,
    kind: record.kind,
    backbone: record.backbone,
    params: record.params as DpqParams,
    metrics: record.metrics,
  }
}

/** The active model, loaded; null until one is trained. */
export function loadActiveModel(db: Db): StoredModel | null {
  const record = activeModelRecord(db)
  return record ? loaded(db, record) : null
}

export function loadModel(db: Db, modelId: number): StoredModel | null {
  const record = modelRecord(db, modelId)
  return record ? loaded(db, record) : null
}

/**
 * Activates a model; activation maps are dropped once no active model reads them (31 KB → 7.7 KB
 * each, derivable): all of them for a plain model, another tail's or feature's for a fine-tuned one.
 */
export function activate(db: Db, modelId: number, model: DpqModel, metrics?: ModelMetrics | null): void {
  activateModel(db, modelId, metrics)
  const tail = model.head.tail?.spec
  const backbone = tail ? modelRecord(db, modelId)?.backbone : undefined
  if (!tail) dropActivations(db)
  else if (backbone) dropOtherActivations(db, mapKey(backbone, tail))
}
