// The library side of neighbour blending (dpq/neighbour-blend.ts): the pool of library features
// neighbours are searched among, and the step that blends a chunk of model inputs before encoding.
import { DpqModel } from '../dpq/model.ts'
import { blendWithPool, NEIGHBOUR_BLEND, readyPool, type NeighbourBlend, type ReadyPool } from '../dpq/neighbour-blend.ts'
import { codesByHash, embeddingsByHash } from '../store/codes.ts'
import type { Db } from '../store/db.ts'
import { featureHashes, featuresFor } from '../store/features.ts'
import { TrainingCancelled } from '../dpq/train.ts'
import type { LibraryEmbedding, ModelingHooks } from './encode.ts'
import { trainingSample } from './refit-schedule.ts'

/** Features by content hash. */
export type FeatureMap = Map<string, Float32Array>

export interface NeighbourPool {
  hashes: string[]
  features: Float32Array[]
  position: Map<string, number>
  /** Made ready on first use and kept: a search by an outside image blends one photo against it. */
  ready?: ReadyPool
}

/** The pool from features at hand: a deterministic sample of at most `size` of them. */
export function poolOf(features: FeatureMap, size: number): NeighbourPool {
  const hashes = trainingSample([...features.keys()].sort(), size)
  return { hashes, features: hashes.map((h) => features.get(h)!), position: new Map(hashes.map((h, i) => [h, i])) }
}

/** The pool from the library file: its features, a sample of at most `size` of them. */
export function libraryPool(db: Db, backboneId: string, size: number): NeighbourPool {
  const features = featuresFor(db, backboneId, trainingSample(featureHashes(db, backboneId).sort(), size))
  return poolOf(features, size)
}

/** Each input blended with its neighbours in the pool, by hash. */
export function blendInputs(inputs: FeatureMap, pool: NeighbourPool, blend: NeighbourBlend): FeatureMap {
  const hashes = [...inputs.keys()]
  const centring = blend.centring ?? 0
  if (pool.ready?.centring !== centring) pool.ready = readyPool(pool.features, centring)
  const blended = blendWithPool(
    hashes.map((h) => inputs.get(h)!),
    pool.ready,
    hashes.map((h) => pool.position.get(h) ?? -1),
    blend,
  )
  return new Map(hashes.map((h, i) => [h, blended[i]]))
}

/** Photos blended per step of blendLibrary (about half a second each against a full pool). */
const STEP = 512

/**
 * blendInputs for a whole library (up to 100,000 photos: minutes): step by step, reporting progress
 * as stage 'neighbours', stopping when cancelled and letting other work (searches) run in between.
 */
export async function blendLibrary(inputs: FeatureMap, pool: NeighbourPool, blend: NeighbourBlend, hooks: ModelingHooks = {}): Promise<FeatureMap> {
  const entries = [...inputs]
  const out: FeatureMap = new Map()
  for (let from = 0; from < entries.length; from += STEP) {
    if (hooks.signal?.aborted) throw new TrainingCancelled()
    for (const entry of blendInputs(new Map(entries.slice(from, from + STEP)), pool, blend)) out.set(...entry)
    hooks.onProgress?.({ done: out.size, total: entries.length, stage: 'neighbours' })
    await new Promise((r) => setImmediate(r))
  }
  return out
}

/** The neighbour blending a model's stored codes were made with (null: none, inputs are encoded as they are). */
export function modelBlend(model: { params: Record<string, unknown> }): NeighbourBlend | null {
  const recorded = model.params.neighbours as NeighbourBlend | undefined
  return recorded && recorded.k > 0 ? recorded : null
}

/** The model, recording that it reads features blended as `blend` says. */
export function withBlend(model: DpqModel, blend: NeighbourBlend = NEIGHBOUR_BLEND): DpqModel {
  return new DpqModel({ ...model.params, neighbours: blend }, model.head, model.codebooks)
}

/** The blending of embeddings a model's stored codes were made with (null: none). */
export function modelEmbeddingBlend(model: { params: Record<string, unknown> }): NeighbourBlend | null {
  const recorded = model.params.embeddingNeighbours as NeighbourBlend | undefined
  return recorded && recorded.k > 0 ? recorded : null
}

/** Whether a photo's embedding under the model depends on other photos: then it is stored with its code, as it cannot be had from its feature alone. */
export function storesEmbeddings(model: { params: Record<string, unknown> }): boolean {
  return modelBlend(model) !== null || modelEmbeddingBlend(model) !== null
}

/** Embeddings (flat [n, D]) of photos by hash ('' for an outside image), blended with their neighbours. */
export type EmbeddingMixer = (hashes: readonly string[], x: Float32Array) => Float32Array

/**
 * For a model that blends embeddings: each embedding blended with its neighbours among the
 * embeddings of the library's pool (read from the file and embedded on first use, blended as the
 * model reads features). A photo in the pool is never its own neighbour.
 */
export function embeddingMixer(db: Db, backboneId: string, model: DpqModel): EmbeddingMixer | undefined {
  const blend = modelEmbeddingBlend(model)
  if (!blend) return undefined
  let pool: { ready: ReadyPool; position: Map<string, number> } | null = null
  const ready = () => {
    if (pool) return pool
    const features = libraryPool(db, backboneId, blend.pool)
    const inputs = new Map(features.hashes.map((h, i) => [h, features.features[i]]))
    const read = encodeBlend(db, backboneId, model)?.(inputs) ?? inputs
    const x = model.embed(features.hashes.map((h) => read.get(h)!))
    pool = { ready: readyPool(x, blend.centring ?? 0), position: features.position }
    return pool
  }
  return (hashes, x) => {
    const { D } = model
    const { ready: readied, position } = ready()
    const rows = hashes.map((_, i) => x.subarray(i * D, (i + 1) * D))
    const out = new Float32Array(x.length)
    blendWithPool(rows, readied, hashes.map((h) => position.get(h) ?? -1), blend).forEach((row, i) => out.set(row, i * D))
    return out
  }
}

/** Whether the model reads features blended exactly as NEIGHBOUR_BLEND says. */
export function blendsAsNow(model: { params: Record<string, unknown> }): boolean {
  const blend = modelBlend(model)
  return blend !== null && (Object.keys(NEIGHBOUR_BLEND) as (keyof NeighbourBlend)[]).every((key) => blend[key] === NEIGHBOUR_BLEND[key])
}

/**
 * The codes and embeddings a model that blends neighbours stored for these photos, as encodeLibrary
 * returns them (null when any photo lacks them: encode instead).
 */
export function storedEmbedding(db: Db, modelId: number, model: Pick<DpqModel, 'M' | 'D'>, hashes: readonly string[]): LibraryEmbedding | null {
  const codes = codesByHash(db, modelId, hashes)
  const embeddings = embeddingsByHash(db, modelId, hashes)
  if (hashes.some((h) => !codes.has(h) || !embeddings.has(h))) return null
  const out: LibraryEmbedding = { x: new Float32Array(hashes.length * model.D), codes: new Uint8Array(hashes.length * model.M), present: hashes.map(() => true) }
  hashes.forEach((h, i) => {
    out.x.set(embeddings.get(h)!, i * model.D)
    out.codes.set(codes.get(h)!, i * model.M)
  })
  return out
}

/** Encodes from features at hand (already blended) rather than reading the library file. */
export function readFrom(features: FeatureMap): (part: readonly string[]) => FeatureMap {
  return (part) => new Map(part.filter((h) => features.has(h)).map((h) => [h, features.get(h)!]))
}

/**
 * encodeLibrary's `read` for a model that blends as NEIGHBOUR_BLEND says, given the photos a fit
 * blended already: those as they are, any other read from the library file and blended against
 * its pool, so no photo is blended twice.
 */
export function readBlended(db: Db, backboneId: string, blended: FeatureMap): (part: readonly string[]) => FeatureMap {
  const known = readFrom(blended)
  const blend = poolBlender(db, backboneId, NEIGHBOUR_BLEND)
  return (part) => {
    const out = known(part)
    const rest = featuresFor(db, backboneId, part.filter((h) => !out.has(h)))
    if (rest.size) for (const entry of blend(rest)) out.set(...entry)
    return out
  }
}

/** The library's features, each blended with its neighbours in the library (NEIGHBOUR_BLEND). */
export function blendedLibrary(db: Db, backboneId: string, hashes: readonly string[], hooks: ModelingHooks = {}): Promise<FeatureMap> {
  return blendLibrary(featuresFor(db, backboneId, hashes), libraryPool(db, backboneId, NEIGHBOUR_BLEND.pool), NEIGHBOUR_BLEND, hooks)
}

/** What encodeLibrary applies to each chunk of inputs for this model: blending against the library's pool, or nothing. */
export function encodeBlend(db: Db, backboneId: string, model: Pick<DpqModel, 'params'>): ((inputs: FeatureMap) => FeatureMap) | undefined {
  const blend = modelBlend(model)
  return blend ? poolBlender(db, backboneId, blend) : undefined
}

/** blendInputs against the library's pool, read from the file the first time it is needed. */
function poolBlender(db: Db, backboneId: string, blend: NeighbourBlend): (inputs: FeatureMap) => FeatureMap {
  let pool: NeighbourPool | null = null
  return (inputs) => blendInputs(inputs, (pool ??= libraryPool(db, backboneId, blend.pool)), blend)
}
