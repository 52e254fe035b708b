// DPQ models in the library file. A model row is written inactive ('encoding'), every photo is
// encoded under it, and only then does it become active in one transaction: search never sees a
// half-encoded model, and a crash at any point leaves the previous model active and intact.
import type { ModelInfo } from '../../shared/types.ts'
import type { Db } from './db.ts'

export type ModelKind = 'unsupervised' | 'supervised'

export interface ModelMetrics {
  /** mAP@all on held-out album photos per code length ('8' … '64') and for float embeddings ('exact'). */
  map?: Record<string, number>
  train_seconds?: number
  queries?: number
  [key: string]: unknown
}

/** A model row as stored: the weights stay serialized bytes (the modeling layer loads them). */
export interface ModelRecord {
  id: number
  createdAt: number
  kind: ModelKind
  backbone: string
  params: Record<string, unknown>
  /** null once pruned (activateModel keeps the active and the previous model's). */
  weights: Uint8Array | null
  metrics: ModelMetrics | null
}

interface ModelRow {
  id: number
  created_at: number
  kind: ModelKind
  backbone: string
  params: string
  weights: Buffer | null
  metrics: string | null
}

const COLUMNS = 'id, created_at, kind, backbone, params, weights, metrics'

function toRecord(row: ModelRow): ModelRecord {
  return {
    id: row.id,
    createdAt: row.created_at,
    kind: row.kind,
    backbone: row.backbone,
    params: JSON.parse(row.params) as Record<string, unknown>,
    weights: row.weights,
    metrics: row.metrics ? (JSON.parse(row.metrics) as ModelMetrics) : null,
  }
}

/** Writes a new, inactive model; returns its id. */
export function insertModel(
  db: Db,
  model: { kind: ModelKind; backbone: string; params: object; weights: Uint8Array; metrics?: ModelMetrics | null },
): number {
  const weights = Buffer.from(model.weights.buffer, model.weights.byteOffset, model.weights.byteLength)
  const result = db
    .prepare("INSERT INTO models (created_at, kind, backbone, status, active, params, weights, metrics) VALUES (?, ?, ?, 'encoding', 0, ?, ?, ?)")
    .run(Date.now(), model.kind, model.backbone, JSON.stringify(model.params), weights, model.metrics ? JSON.stringify(model.metrics) : null)
  return Number(result.lastInsertRowid)
}

/** Makes the model the active one (and records its metrics) in one transaction. */
export function activateModel(db: Db, modelId: number, metrics?: ModelMetrics | null): void {
  db.transaction(() => {
    db.prepare('UPDATE models SET active = 0 WHERE active = 1').run()
    const changed = db
      .prepare("UPDATE models SET active = 1, status = 'ready', metrics = COALESCE(?, metrics) WHERE id = ?")
      .run(metrics ? JSON.stringify(metrics) : null, modelId).changes
    if (changed !== 1) throw new Error(`No model ${modelId} to activate`)
  }).immediate()
  // Codes of replaced models are derivable and large: drop them (the model rows stay as history).
  db.prepare('DELETE FROM codes WHERE model_id IN (SELECT id FROM models WHERE active = 0)').run()
  // So are the weights of all but the last replaced model (4–10 MB each): without them a library
  // that is retrained every week would grow by hundreds of MB a year.
  db.prepare(
    `UPDATE models SET weights = NULL WHERE active = 0 AND weights IS NOT NULL
     AND id NOT IN (SELECT id FROM models WHERE active = 0 AND weights IS NOT NULL ORDER BY id DESC LIMIT 1)`,
  ).run()
}

export function activeModelRecord(db: Db): ModelRecord | null {
  const row = db.prepare<[], ModelRow>(`SELECT ${COLUMNS} FROM models WHERE active = 1`).get()
  return row ? toRecord(row) : null
}

/** The active model's backbone and kind without its weights (cheap enough for every status call). */
export function activeModelBackbone(db: Db): { id: number; backbone: string; kind: ModelKind } | null {
  return db.prepare<[], { id: number; backbone: string; kind: ModelKind }>('SELECT id, backbone, kind FROM models WHERE active = 1').get() ?? null
}

/** The active model reads another backbone than this one: a feature upgrade is under way, or due. */
export function activeReadsOther(db: Db, backboneId: string): boolean {
  const active = activeModelBackbone(db)
  return active !== null && active.backbone !== backboneId
}

export function modelRecord(db: Db, modelId: number): ModelRecord | null {
  const row = db.prepare<[number], ModelRow>(`SELECT ${COLUMNS} FROM models WHERE id = ?`).get(modelId)
  return row ? toRecord(row) : null
}

/** What the model measured when it was trained (null when unknown). */
export function modelMetrics(db: Db, modelId: number): ModelMetrics | null {
  const row = db.prepare<[number], { metrics: string | null }>('SELECT metrics FROM models WHERE id = ?').get(modelId)
  return row?.metrics ? (JSON.parse(row.metrics) as ModelMetrics) : null
}

/** Deletes models a crash or a cancel left behind (never active, never finished), and their codes. */
export function removeUnfinishedModels(db: Db): number {
  return db.prepare("DELETE FROM models WHERE active = 0 AND status != 'ready'").run().changes
}

/** The active DPQ model as the UI shows it; null until one is trained. */
export function activeModelInfo(db: Db): ModelInfo | null {
  const row = db
    .prepare<[], { id: number; kind: ModelInfo['kind']; created_at: number; params: string }>('SELECT id, kind, created_at, params FROM models WHERE active = 1')
    .get()
  if (!row) return null
  let albums = 0
  let finetune: ModelInfo['finetune'] = 'off'
  try {
    const params = JSON.parse(row.params) as { albums?: unknown; classes?: unknown; finetune?: unknown }
    const value = params.albums ?? params.classes
    albums = Array.isArray(value) ? value.length : typeof value === 'number' ? value : 0
    if (params.finetune === 'late') finetune = 'late'
  } catch {
    // params written by another version: the count is cosmetic
  }
  return { id: row.id, kind: row.kind, createdAt: row.created_at, albums, finetune }
}
