// DPQ models and codes in the library file. A model is written, every photo is encoded under
// it, and only then does it become active, in one transaction: search never sees a half-encoded
// model, and a crash at any point leaves the previous model active and intact.
import { dropActivations } from '../store/activations.ts'
import { albumLabels } from '../store/albums.ts'
import type { Db } from '../store/db.ts'
import { featureHashes, featuresFor } from '../store/features.ts'
import type { ProgressEvent } from '../types.ts'
import type { Finetune } from './finetune.ts'
import { modelInputs, prepareActivations, type ActivationSource, type PreparedActivations } from './inputs.ts'
import { labelSets, meanAveragePrecision, type LabelSet } from './metrics.ts'
import { DpqModel, type DpqParams } from './model.ts'
import { createRng, sampleIndices } from './prng.ts'
import { CODE_LENGTHS } from './protocol.ts'
import { lookupTable, quantize } from './quantize.ts'
import { trainDpq, TrainingCancelled, type TrainOptions } from './train.ts'

export type ModelKind = 'unsupervised' | 'supervised'

export interface ModelMetrics {
  /** mAP@all on held-out album photos per code length ('8' … '64') and for float embeddings ('exact'). */
  map?: Record<string, number>
  train_seconds?: number
  queries?: number
  [key: string]: unknown
}

export interface StoredModel {
  id: number
  model: DpqModel
  kind: ModelKind
  backbone: string
  params: DpqParams
  metrics: ModelMetrics | null
}

export interface StoreHooks {
  onProgress?(event: ProgressEvent): void
  signal?: AbortSignal
}

/** Writes a new, inactive model; returns its id. */
export function createModel(db: Db, model: DpqModel, backbone: string, metrics: ModelMetrics | null = null): number {
  const result = db
    .prepare('INSERT INTO models (created_at, kind, backbone, status, active, params, weights, metrics) VALUES (?, ?, ?, ?, 0, ?, ?, ?)')
    .run(Date.now(), model.params.kind, backbone, 'encoding', JSON.stringify(model.params), model.serialize(), metrics ? JSON.stringify(metrics) : null)
  return Number(result.lastInsertRowid)
}

/** Stores codes (n × M bytes, row-major, in `hashes` order), one transaction per batch. */
export function writeCodes(db: Db, modelId: number, hashes: readonly string[], codes: Uint8Array, batch = 2000): void {
  const m = hashes.length ? codes.length / hashes.length : 0
  const insert = db.prepare('INSERT OR REPLACE INTO codes (model_id, hash, code) VALUES (?, ?, ?)')
  const write = db.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) insert.run(modelId, hashes[i], Buffer.from(codes.subarray(i * m, (i + 1) * m)))
  })
  for (let from = 0; from < hashes.length; from += batch) write(from, Math.min(hashes.length, from + batch))
}

/** Makes the model the active one (and records its metrics) in one transaction. */
export function activateModel(db: Db, modelId: number, metrics?: ModelMetrics | null): void {
  db.transaction(() => {
    db.prepare('UPDATE models SET active = 0 WHERE active = 1').run()
    const changed = db
      .prepare("UPDATE models SET active = 1, status = 'ready', metrics = COALESCE(?, metrics) WHERE id = ?")
      .run(metrics ? JSON.stringify(metrics) : null, modelId).changes
    if (changed !== 1) throw new Error(`No model ${modelId} to activate`)
  })()
  // Codes of replaced models are derivable and large: drop them (the model rows stay as history).
  db.prepare('DELETE FROM codes WHERE model_id IN (SELECT id FROM models WHERE active = 0)').run()
  // So are the weights of all but the last replaced model (4–10 MB each): without them a library
  // that is retrained every week would grow by hundreds of MB a year.
  db.prepare(
    `UPDATE models SET weights = NULL WHERE active = 0 AND weights IS NOT NULL
     AND id NOT IN (SELECT id FROM models WHERE active = 0 AND weights IS NOT NULL ORDER BY id DESC LIMIT 1)`,
  ).run()
}

interface ModelRow {
  id: number
  created_at: number
  kind: ModelKind
  backbone: string
  params: string
  /** NULL once pruned (activateModel keeps the active and the previous model's). */
  weights: Buffer | null
  metrics: string | null
}

// Deserializing a model costs a few ms per MB of weights: keep the last one. Keyed by id and
// creation time, since SQLite may reuse the id of a deleted (unfinished) model row.
let cached: { db: Db; key: string; model: DpqModel } | null = null

function toStored(db: Db, row: ModelRow): StoredModel {
  if (!row.weights) throw new Error(`Model ${row.id} is history only: its weights were dropped when newer models replaced it`)
  const key = `${row.id}:${row.created_at}:${row.weights.length}`
  if (!cached || cached.db !== db || cached.key !== key) cached = { db, key, model: DpqModel.deserialize(row.weights) }
  const hit = cached
  return {
    id: row.id,
    model: hit.model,
    kind: row.kind,
    backbone: row.backbone,
    params: JSON.parse(row.params) as DpqParams,
    metrics: row.metrics ? (JSON.parse(row.metrics) as ModelMetrics) : null,
  }
}

export function activeModel(db: Db): StoredModel | null {
  const row = db.prepare<[], ModelRow>('SELECT id, created_at, kind, backbone, params, weights, metrics FROM models WHERE active = 1').get()
  return row ? toStored(db, row) : null
}

export function getModel(db: Db, modelId: number): StoredModel | null {
  const row = db.prepare<[number], ModelRow>('SELECT id, created_at, kind, backbone, params, weights, metrics FROM models WHERE id = ?').get(modelId)
  return row ? toStored(db, row) : null
}

/** Every code of a model: hashes in order and their codes as one n × M matrix. */
export function codesFor(db: Db, modelId: number): { hashes: string[]; codes: Uint8Array } {
  const rows = db.prepare<[number], { hash: string; code: Buffer }>('SELECT hash, code FROM codes WHERE model_id = ? ORDER BY hash').all(modelId)
  const m = rows.length ? rows[0].code.length : 0
  const codes = new Uint8Array(rows.length * m)
  rows.forEach((r, i) => codes.set(r.code, i * m))
  return { hashes: rows.map((r) => r.hash), codes }
}

/** Codes by content hash (only the given hashes when passed). */
export function codesByHash(db: Db, modelId: number, hashes?: readonly string[]): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>()
  if (hashes) {
    const get = db.prepare<[number, string], { code: Buffer }>('SELECT code FROM codes WHERE model_id = ? AND hash = ?')
    for (const h of hashes) {
      const row = get.get(modelId, h)
      if (row) out.set(h, new Uint8Array(row.code))
    }
    return out
  }
  for (const row of db.prepare<[number], { hash: string; code: Buffer }>('SELECT hash, code FROM codes WHERE model_id = ?').iterate(modelId)) {
    out.set(row.hash, new Uint8Array(row.code))
  }
  return out
}

/** mAP per code length the model measured on held-out album photos (empty when unknown). */
export function mapByLength(db: Db, modelId: number | null): Record<string, number | null> {
  if (modelId === null) return {}
  const row = db.prepare<[number], { metrics: string | null }>('SELECT metrics FROM models WHERE id = ?').get(modelId)
  const metrics = row?.metrics ? (JSON.parse(row.metrics) as ModelMetrics) : null
  return metrics?.map ?? {}
}

/** The backbone most features were computed with (the one the library is embedded with). */
export function libraryBackbone(db: Db): string | null {
  const row = db.prepare<[], { backbone: string }>('SELECT backbone FROM features GROUP BY backbone ORDER BY COUNT(*) DESC, backbone LIMIT 1').get()
  return row?.backbone ?? null
}

/**
 * Every photo feature gets a code. No active model for this backbone yet: train an unsupervised
 * one on all cached features and activate it. Otherwise: encode the features that have no code
 * (under a fine-tuned model, after computing their activation maps from `activations`).
 * Returns the active model id (null when the library has no features yet) and how many were encoded.
 */
export async function ensureCodes(
  db: Db,
  backboneId: string,
  hooks: StoreHooks & {
    trainOptions?: TrainOptions
    /** refit an outgrown unsupervised model (default true) */
    refit?: boolean
    /** Loads what computes the activation maps a fine-tuned active model needs for new photos (only called then). */
    activations?: () => Promise<ActivationSource>
  } = {},
): Promise<{ modelId: number | null; encoded: number; failed?: PreparedActivations['failed'] }> {
  const active = activeModel(db)
  if (active && active.backbone === backboneId && !(hooks.refit !== false && outgrown(db, active, backboneId))) {
    const missing = db
      .prepare<[string, number], { hash: string }>(
        `SELECT f.hash FROM features f WHERE f.backbone = ?
         AND NOT EXISTS (SELECT 1 FROM codes c WHERE c.model_id = ? AND c.hash = f.hash) ORDER BY f.hash`,
      )
      .all(backboneId, active.id)
      .map((r) => r.hash)
    // Without a source of maps, new photos wait (uncoded) until one is given.
    const prepared = active.model.finetuned && missing.length && hooks.activations ? await prepareActivations(db, backboneId, missing, await hooks.activations(), hooks) : null
    const { present } = await embedLibrary(db, active.model, backboneId, missing, { ...hooks, writeTo: active.id })
    return { modelId: active.id, encoded: present.filter(Boolean).length, ...(prepared ? { failed: prepared.failed } : {}) }
  }
  const features = featuresFor(db, backboneId)
  if (features.size === 0) return { modelId: null, encoded: 0 }
  removeUnfinishedModels(db)
  const model = await trainDpq([...features.values()], null, hooks.trainOptions ?? {}, hooks)
  const modelId = createModel(db, model, backboneId, { trained_on: features.size })
  // The features are in memory already: encode from them rather than reading each one again.
  const read = (part: readonly string[]) => new Map(part.map((h) => [h, features.get(h)!]))
  await embedLibrary(db, model, backboneId, [...features.keys()], { ...hooks, writeTo: modelId, read })
  checkCancelled(hooks.signal)
  activate(db, modelId, model)
  return { modelId, encoded: features.size }
}

/** Past this many photos an unsupervised model has seen enough of the library to keep. */
const UNSUPERVISED_SETTLED = 20_000

/**
 * An unsupervised model trained on a library's first few photos (a first folder, a first watcher
 * batch) describes it poorly once it has doubled: such a model is retrained on everything.
 * Supervised models are the user's and are never replaced behind their back.
 */
export function needsRefit(db: Db, backboneId: string): boolean {
  const active = activeModel(db)
  return active !== null && active.backbone === backboneId && outgrown(db, active, backboneId)
}

function outgrown(db: Db, active: StoredModel, backboneId: string): boolean {
  const trainedOn = active.metrics?.trained_on
  if (active.kind !== 'unsupervised' || typeof trainedOn !== 'number' || trainedOn >= UNSUPERVISED_SETTLED) return false
  const { n } = db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM features WHERE backbone = ?').get(backboneId)!
  return n >= 2 * trainedOn
}

/** Photos outside albums a fine-tuned training reads (each costs a 31 KB row and a pass through the tail). */
const FINETUNE_UNLABELLED = 2000

export interface RetrainOptions extends StoreHooks {
  epochs?: number
  trainOptions?: TrainOptions
  /** 'late': also fine-tune MobileNetV2's last blocks (needs `activations`); default 'off'. */
  finetune?: Finetune
  /** Computes the activation maps fine-tuning reads (finetune-activations.ts). */
  activations?: ActivationSource
  /** Share of each album's photos held out to measure mAP (at least one per album of 3 or more). */
  holdOut?: number
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
}

/**
 * Trains a model on album labels (photos in no album shape the preservation term; without any
 * album it trains an unsupervised model), encodes every cached feature, measures mAP per code
 * length on held-out album photos for the previous and the new model, then activates the new
 * one in one transaction.
 */
export async function retrain(db: Db, backboneId: string, options: RetrainOptions = {}): Promise<RetrainResult> {
  const finetune = options.finetune ?? 'off'
  const hashes = featureHashes(db, backboneId)
  if (hashes.length === 0) throw new Error('No photo features yet: index a folder before training')
  removeUnfinishedModels(db)
  const albums = albumLabels(db)
  const albumIds = [...new Set([...albums.values()].flat())].sort((a, b) => a - b)
  const classOf = new Map(albumIds.map((id, i) => [id, i]))
  const labels = hashes.map((h) => (albums.get(h) ?? []).map((a) => classOf.get(a)!))
  const heldOut = holdOutQueries(hashes, labels, options.holdOut ?? 0.2)
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
  const inputs = modelInputs(db, { finetuned: finetune === 'late' }, backboneId, trainRows.map((i) => hashes[i]))
  trainRows = trainRows.filter((i) => inputs.has(hashes[i]))
  const model = await trainDpq(
    trainRows.map((i) => inputs.get(hashes[i])!),
    hasLabels ? trainRows.map((i) => labels[i]) : null,
    trainOptions,
    { onProgress: options.onProgress, signal: options.signal },
  )
  inputs.clear()
  const trainSeconds = (performance.now() - started) / 1000

  const modelId = createModel(db, model, backboneId)
  const after = await embedLibrary(db, model, backboneId, hashes, { ...options, writeTo: modelId })
  const previous = activeModel(db)
  const queries = [...heldOut].sort((a, b) => a - b)
  let before: Record<string, number> = {}
  if (queries.length && previous && previous.backbone === backboneId) {
    before = heldOutMap(previous.model, await embedLibrary(db, previous.model, backboneId, hashes, { signal: options.signal }), labels, queries)
  }
  const afterMap = queries.length ? heldOutMap(model, after, labels, queries) : {}
  checkCancelled(options.signal)
  options.beforeActivate?.(modelId)
  activate(db, modelId, model, { map: afterMap, train_seconds: Math.round(trainSeconds * 100) / 100, queries: queries.length, albums: albumIds.length, finetune })
  return { modelId, before, after: afterMap, finetune, ...(unreadable ? { unreadable } : {}) }
}

/** Activates a model; activation maps are dropped once no active model reads them (31 KB → 7.7 KB each, derivable). */
function activate(db: Db, modelId: number, model: DpqModel, metrics?: ModelMetrics | null): void {
  activateModel(db, modelId, metrics)
  if (!model.finetuned) dropActivations(db)
}

/** Embeddings (n × D) and codes (n × M) of the given photos, in order; `present` is false where a photo has no input. */
interface LibraryEmbedding {
  x: Float32Array
  codes: Uint8Array
  present: boolean[]
}

/**
 * Embeds and encodes photos in chunks (inputs read from the library file per chunk, so a
 * fine-tuned model's 31 KB rows never all sit in memory), writing codes when `writeTo` is given.
 */
async function embedLibrary(
  db: Db,
  model: DpqModel,
  backboneId: string,
  hashes: readonly string[],
  hooks: StoreHooks & { writeTo?: number; /** inputs of a chunk (default: modelInputs from the file) */ read?: (part: readonly string[]) => Map<string, Float32Array> },
): Promise<LibraryEmbedding> {
  const { M, D } = model
  const x = new Float32Array(hashes.length * D)
  const codes = new Uint8Array(hashes.length * M)
  const present = new Array<boolean>(hashes.length).fill(false)
  const chunk = model.finetuned ? 256 : 1000
  for (let from = 0; from < hashes.length; from += chunk) {
    checkCancelled(hooks.signal)
    const part = hashes.slice(from, from + chunk)
    const inputs = hooks.read ? hooks.read(part) : modelInputs(db, model, backboneId, part)
    const rows = part.map((h, i) => ({ h, i: from + i })).filter((r) => inputs.has(r.h))
    const px = model.embedFlat(rows.map((r) => inputs.get(r.h)!))
    const pc = quantize(model, px)
    rows.forEach((r, j) => {
      x.set(px.subarray(j * D, (j + 1) * D), r.i * D)
      codes.set(pc.subarray(j * M, (j + 1) * M), r.i * M)
      present[r.i] = true
    })
    if (hooks.writeTo !== undefined) writeCodes(db, hooks.writeTo, rows.map((r) => r.h), pc)
    hooks.onProgress?.({ done: Math.min(hashes.length, from + chunk), total: hashes.length, current: 'encoding' })
    await new Promise((r) => setImmediate(r))
  }
  return { x, codes, present }
}

/** Per album, in hash order, every ⌈1/share⌉-th photo is held out (albums of 3 or more). */
function holdOutQueries(hashes: string[], labels: number[][], share: number): Set<number> {
  const out = new Set<number>()
  if (share <= 0) return out
  const byAlbum = new Map<number, number[]>()
  labels.forEach((l, i) => {
    if (l.length) byAlbum.set(l[0], [...(byAlbum.get(l[0]) ?? []), i])
  })
  const every = Math.max(2, Math.round(1 / share))
  for (const members of byAlbum.values()) {
    if (members.length < 3) continue
    members.forEach((i, k) => {
      if (k % every === every - 1) out.add(i)
    })
  }
  return out
}

/** mAP@all of held-out album photos against every other photo, per code length and for 'exact'. */
function heldOutMap(model: DpqModel, library: LibraryEmbedding, labels: number[][], heldOut: number[]): Record<string, number> {
  const { x, codes: all, present } = library
  const { M, K, D } = model
  const queries = heldOut.filter((i) => present[i])
  const isQuery = new Set(heldOut)
  const database = labels.map((_, i) => i).filter((i) => !isQuery.has(i) && present[i])
  const sets = labelSets(labels)
  const qs: LabelSet[] = queries.map((i) => sets[i])
  const ds: LabelSet[] = database.map((i) => sets[i])
  const row = (i: number) => x.subarray(i * D, (i + 1) * D)
  const codes = new Uint8Array(database.length * M)
  database.forEach((r, j) => codes.set(all.subarray(r * M, (r + 1) * M), j * M))
  const tables = queries.map((q) => lookupTable(model, row(q)))
  const out: Record<string, number> = {}
  for (const bits of CODE_LENGTHS.filter((b) => b / 8 <= M)) {
    const blocks = bits / 8
    out[bits] = round(
      meanAveragePrecision(qs, ds, (q, s) => {
        const t = tables[q]
        for (let j = 0; j < s.length; j++) {
          let v = 0
          for (let m = 0; m < blocks; m++) v += t[m * K + codes[j * M + m]]
          s[j] = v
        }
      }).all,
    )
  }
  const unit = (v: Float32Array) => {
    const n = Math.hypot(...v) || 1
    return v.map((a) => a / n)
  }
  const qn = queries.map((i) => unit(row(i)))
  const dn = database.map((i) => unit(row(i)))
  out.exact = round(
    meanAveragePrecision(qs, ds, (q, s) => {
      const a = qn[q]
      for (let j = 0; j < s.length; j++) {
        const b = dn[j]
        let v = 0
        for (let k = 0; k < a.length; k++) v += a[k] * b[k]
        s[j] = v
      }
    }).all,
  )
  return out
}

/** Models a crash or a cancel left behind (never active): their rows and codes go. */
function removeUnfinishedModels(db: Db): void {
  db.prepare("DELETE FROM models WHERE active = 0 AND status != 'ready'").run()
}

function checkCancelled(signal?: AbortSignal): void {
  if (signal?.aborted) throw new TrainingCancelled()
}

function round(x: number): number {
  return Math.round(x * 10_000) / 10_000
}
