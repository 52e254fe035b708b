// "Photos like this one": the active model's codes of every photo in one CodeMatrix, the query's
// float embedding from its cached feature (DpqModel.embed; blended with its neighbours in the
// library first when the model's codes were, modeling/neighbours.ts), a lookup table per query,
// and either the code scan at l = bits / 8 blocks or the exact re-rank by cosine of float
// embeddings. Those are computed from cached features only for the photos a query shortlists
// (a whole 100k library's features would be ~750 MB and seconds of matMul) and kept, bounded.
import { ApiError } from '../../shared/contract.ts'
import type { Precision, SimilarAnswer, SimilarResult } from '../../shared/types.ts'
import { modelInputs, modelTail } from '../modeling/inputs.ts'
import { embeddingMixer, encodeBlend, storesEmbeddings, type EmbeddingMixer, type FeatureMap } from '../modeling/neighbours.ts'
import type { DpqModel } from '../dpq/model.ts'
import { reconstruct } from '../dpq/quantize.ts'
import { CodeMatrix, type CodeRow } from '../search/code-matrix.ts'
import { exactSearch } from '../search/exact.ts'
import type { SearchFilter } from '../search/filter.ts'
import { lookupTable } from '../search/lookup-table.ts'
import { searchCodes } from '../search/scan.ts'
import type { Db } from '../store/db.ts'
import { getAlbum } from '../store/albums.ts'
import { getPhoto, listPhotos, okPhotoHashes, photoHash } from '../store/photos.ts'

/** The active model as search needs it. */
export interface SearchModel {
  id: number
  model: DpqModel
  /** Backbone id its input features come from. */
  backbone: string
}

/** How the search reads the models and codes tables. */
export interface CodeSource {
  loadActiveModel(db: Db): SearchModel | null
  /** Codes by content hash under a model (only the given hashes when passed). */
  codesByHash(db: Db, modelId: number, hashes?: readonly string[]): Map<string, Uint8Array>
  /** The embeddings stored with codes, by content hash (a model that blends neighbours stores them). */
  embeddingsByHash(db: Db, modelId: number, hashes: Iterable<string>): Map<string, Float32Array>
}

export interface ContractFilter {
  albumId?: number
  rootId?: number
  from?: number
  to?: number
}

/** One precision setting as measured on the library (see measureSettings). */
export interface SettingMeasure {
  /** Median warm ranking time, ms. */
  ms: number
  /** Mean share of exact mode's top 20 also in this setting's top 20, 0 … 1. */
  recall: number
}

/** Float embeddings kept for exact mode (256 floats each: 100k ≈ 100 MB). */
const EMBEDDING_CACHE = 100_000

export class LibrarySearch {
  private active: SearchModel | null = null
  private matrix: CodeMatrix | null = null
  /** Photo id → float embedding x, for exact mode: filled per shortlist, bounded by EMBEDDING_CACHE. */
  private embeddings = new Map<number, Float32Array>()
  /** Content hash of each photo in the matrix: exact mode reads features by hash. */
  private hashes = new Map<number, string>()
  /** The active model's neighbour blending of features, as its codes were made (none for most models). */
  private blend: ((inputs: FeatureMap) => FeatureMap) | undefined
  /** The active model's blending of embeddings, as its codes were made (none for most models). */
  private mix: EmbeddingMixer | undefined

  constructor(
    private readonly db: Db,
    private readonly codes: CodeSource,
  ) {}

  get model(): SearchModel | null {
    return this.active
  }

  get size(): number {
    return this.matrix?.size ?? 0
  }

  /** Content hash of every photo the matrix holds, by photo id. */
  get photoHashes(): ReadonlyMap<number, string> {
    return this.hashes
  }

  /** (Re)loads the active model and the codes of every photo: at start and after a retrain. */
  reload(): void {
    this.active = this.codes.loadActiveModel(this.db)
    this.embeddings.clear()
    this.blend = this.active ? encodeBlend(this.db, this.active.backbone, this.active.model) : undefined
    this.mix = this.active ? embeddingMixer(this.db, this.active.backbone, this.active.model) : undefined
    if (!this.active) {
      this.matrix = null
      return
    }
    const byHash = this.codes.codesByHash(this.db, this.active.id)
    const rows: CodeRow[] = []
    this.hashes.clear()
    for (const photo of this.photoRows()) {
      const code = byHash.get(photo.hash)
      if (!code) continue
      rows.push({ photoId: photo.id, code, rootId: photo.rootId, takenAt: photo.takenAt })
      this.hashes.set(photo.id, photo.hash)
    }
    this.matrix = CodeMatrix.from(rows, this.active.model.M)
  }

  /**
   * A copy of every photo's code with the active model, for long work that must not see the matrix
   * change under it (the duplicate pass yields to searches between chunks).
   */
  snapshot(): { model: SearchModel; matrix: CodeMatrix; hashes: Map<number, string> } | null {
    if (!this.active || !this.matrix) return null
    const m = this.matrix
    const M = m.blocks
    const rows: CodeRow[] = []
    for (let row = 0; row < m.size; row++) {
      rows.push({ photoId: m.ids[row], code: m.codes.slice(row * M, row * M + M), rootId: m.roots[row], takenAt: m.takenAt[row] })
    }
    return { model: this.active, matrix: CodeMatrix.from(rows, M), hashes: new Map(this.hashes) }
  }

  /** Brings the given photos into the matrix in place (new, changed or moved photos with codes). */
  update(photos: readonly { id: number; hash: string }[]): number {
    if (!this.active || !this.matrix || photos.length === 0) return 0
    const codes = this.codes.codesByHash(this.db, this.active.id, [...new Set(photos.map((p) => p.hash))])
    let changed = 0
    for (const { id, hash } of photos) {
      const code = codes.get(hash)
      const photo = code ? photoAttrs(this.db, id) : null
      if (!code || !photo) continue
      this.matrix.set(id, code, photo)
      this.hashes.set(id, hash)
      this.embeddings.delete(id)
      changed++
    }
    return changed
  }

  /** Makes the matrix match the library: adds coded photos it lacks, drops photos that left. */
  catchUp(): void {
    if (!this.matrix) return
    const matrix = this.matrix
    this.update(okPhotoHashes(this.db).filter((p) => !matrix.has(p.id)))
    this.prune()
  }

  /** Drops rows whose photo left the library (deleted, failed, root removed). */
  prune(): number {
    if (!this.matrix) return 0
    const ok = new Set(okPhotoHashes(this.db).map((p) => p.id))
    const gone = [...this.matrix.ids.subarray(0, this.matrix.size)].filter((id) => !ok.has(id))
    for (const id of gone) {
      this.matrix.remove(id)
      this.hashes.delete(id)
      this.embeddings.delete(id)
    }
    return gone.length
  }

  /** Similar photos to a library photo (itself excluded). */
  similarToPhoto(photoId: number, precision: Precision, k: number, filter?: ContractFilter): SimilarAnswer {
    const { model } = this.ready()
    const hash = photoHash(this.db, photoId)
    if (hash === null) throw new ApiError('not-found', `No photo with id ${photoId}`)
    const query = this.embedHashes([hash]).get(hash)
    if (!query) {
      const why = model.finetuned ? 'its activation map for the fine-tuned model is still being computed' : 'still indexing, or it could not be read'
      throw new ApiError('unavailable', `Photo ${photoId} has no image feature yet (${why})`)
    }
    return this.rank(query, precision, k, this.searchFilter(filter), photoId)
  }

  /** Similar photos to any model input (an outside image: its backbone feature, or [map | feature] for a fine-tuned model). */
  similarToFeature(feature: Float32Array, precision: Precision, k: number): SimilarAnswer {
    const { model } = this.ready()
    // '' is no photo's content hash: the image is nobody's neighbour of itself.
    const input = this.blend ? this.blend(new Map([['', feature]])).get('')! : feature
    const [own] = model.embed([input])
    const query = this.mix ? this.mix([''], own) : own
    return this.rank(query, precision, k, undefined, undefined)
  }

  /**
   * What the slider shows beside each setting, measured on a sample of library photos as queries:
   * needing no album, how much of exact mode's top `overlapK` the setting also returns in its top
   * `overlapK` (recall@20 against exact), and the warm ranking time (after those runs, the median
   * of `runs` more runs of the first `timed` queries). It blocks the service for a few hundred
   * searches, so the sample stays small.
   */
  measureSettings(queries = 12, timed = 5, runs = 3, k = 60, overlapK = 20): Map<Precision, SettingMeasure> {
    const out = new Map<Precision, SettingMeasure>()
    if (!this.active || !this.matrix || this.matrix.size === 0) return out
    const { model } = this.active
    const ids = this.matrix.ids
    const step = Math.max(1, Math.floor(this.matrix.size / queries))
    const picked: { id: number; query: Float32Array }[] = []
    const hashes = new Map<number, string>()
    for (let row = 0; row < this.matrix.size && hashes.size < queries; row += step) {
      const hash = this.hashes.get(ids[row])
      if (hash) hashes.set(ids[row], hash)
    }
    const embedded = this.embedHashes(hashes.values())
    for (const [id, hash] of hashes) {
      const query = embedded.get(hash)
      if (query) picked.push({ id, query })
    }
    if (picked.length === 0) return out
    const top = (answer: SimilarAnswer) => answer.results.slice(0, overlapK).map((r) => r.id)
    const exactTop = picked.map(({ id, query }) => top(this.rank(query, 'exact', k, undefined, id)))
    const settings: Precision[] = [...Array.from({ length: model.M }, (_, m) => ((m + 1) * 8) as Precision), 'exact']
    for (const precision of settings) {
      const recalls = picked.map(({ id, query }, i) => {
        const wanted = new Set(exactTop[i])
        const found = top(this.rank(query, precision, k, undefined, id))
        return wanted.size ? found.filter((f) => wanted.has(f)).length / wanted.size : 1
      })
      const times: number[] = []
      for (let run = 0; run < runs; run++) for (const { id, query } of picked.slice(0, timed)) times.push(this.rank(query, precision, k, undefined, id).ms)
      out.set(precision, { ms: median(times), recall: recalls.reduce((a, b) => a + b, 0) / recalls.length })
    }
    return out
  }

  private ready(): SearchModel & { matrix: CodeMatrix } {
    if (!this.active || !this.matrix) throw new ApiError('unavailable', 'No search model yet: add a folder and let indexing finish')
    return { ...this.active, matrix: this.matrix }
  }

  private rank(query: Float32Array, precision: Precision, k: number, filter: SearchFilter | undefined, excludeId: number | undefined): SimilarAnswer {
    const { model, matrix } = this.ready()
    const blocks = precision === 'exact' ? model.M : precision / 8
    if (blocks > model.M) throw new ApiError('bad-request', `The active model has ${model.M * 8}-bit codes; ${precision} bits is more than it has`)
    const started = performance.now()
    const table = lookupTable(query, model.codebooks, model.M, model.K, model.D)
    let found
    if (precision !== 'exact') found = searchCodes(matrix, table, { blocks, k, filter, excludeId })
    else {
      // Each shortlist is embedded in one batch (prefetch); a photo missing after that is embedded alone.
      const prefetch = (ids: Int32Array) => this.embedPhotos(ids)
      found = exactSearch(matrix, table, query, (id) => this.embeddings.get(id) ?? (this.embedPhotos([id]), this.embeddings.get(id)!), { k, filter, excludeId, model, prefetch })
    }
    const raw = Array.from(found.ids, (id, i) => ({ id, raw: found.scores[i] }))
    const results = precision === 'exact' ? raw.map((r) => ({ ...r, score: r.raw })) : estimatedCosines(model, matrix, query, blocks, raw)
    const ms = performance.now() - started
    return { precision, results, ms }
  }

  /**
   * Caches the float embeddings of the given photos, from their cached features. A photo without
   * one (its feature is from an older backbone, say) gets its code's reconstruction instead, so
   * exact mode ranks it as its codes do rather than failing.
   */
  private embedPhotos(ids: ArrayLike<number>): void {
    const { model, matrix } = this.ready()
    const wanted = new Map<string, number[]>()
    const missing: number[] = []
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]
      if (this.embeddings.has(id)) continue
      const hash = this.hashes.get(id) ?? photoHash(this.db, id)
      if (!hash) missing.push(id)
      else if (wanted.has(hash)) wanted.get(hash)!.push(id)
      else wanted.set(hash, [id])
    }
    if (wanted.size === 0 && missing.length === 0) return
    if (this.embeddings.size + ids.length > EMBEDDING_CACHE) this.embeddings.clear()
    const embedded = this.embedHashes(wanted.keys())
    for (const [hash, x] of embedded) for (const id of wanted.get(hash)!) this.embeddings.set(id, x)
    for (const [hash, sameContent] of wanted) if (!embedded.has(hash)) missing.push(...sameContent)
    for (const id of missing) {
      const code = matrix.codeOf(id)
      this.embeddings.set(id, code ? reconstruct(model, code) : zero(model.D))
    }
  }

  /**
   * Float embeddings of these photos under the active model, by content hash: from their cached
   * features (or maps); for a model that blends neighbours, as stored with their codes, or blended
   * now for a photo not encoded yet. Photos with neither are left out.
   */
  private embedHashes(hashes: Iterable<string>): Map<string, Float32Array> {
    const { id, model, backbone } = this.ready()
    const wanted = [...hashes]
    const out = storesEmbeddings(model) ? this.codes.embeddingsByHash(this.db, id, wanted) : new Map<string, Float32Array>()
    const inputs = modelInputs(this.db, modelTail(model), backbone, wanted.filter((h) => !out.has(h)))
    const rest = [...(this.blend && inputs.size ? this.blend(inputs) : inputs)]
    const own = model.embedFlat(rest.map(([, input]) => input))
    const x = this.mix && rest.length ? this.mix(rest.map(([hash]) => hash), own) : own
    rest.forEach(([hash], i) => out.set(hash, x.slice(i * model.D, (i + 1) * model.D)))
    return out
  }

  private searchFilter(filter: ContractFilter | undefined): SearchFilter | undefined {
    if (!filter) return undefined
    const out: SearchFilter = { rootId: filter.rootId, from: filter.from, to: filter.to }
    if (filter.albumId !== undefined) {
      getAlbum(this.db, filter.albumId)
      out.album = listPhotos(this.db, { albumId: filter.albumId, limit: 1e9, stacks: 'expand' }).photos.map((p) => p.id)
    }
    return out
  }

  /** Every ok photo with what the matrix and its filters need. */
  private photoRows(): { id: number; hash: string; rootId: number; takenAt: number }[] {
    const hashes = new Map(okPhotoHashes(this.db).map((p) => [p.id, p.hash]))
    return listPhotos(this.db, { limit: 1e9, stacks: 'expand' })
      .photos.filter((p) => hashes.has(p.id))
      .map((p) => ({ id: p.id, hash: hashes.get(p.id)!, rootId: p.rootId, takenAt: p.takenAt }))
  }
}

function photoAttrs(db: Db, id: number): { rootId: number; takenAt: number } | null {
  try {
    const { rootId, takenAt } = getPhoto(db, id)
    return { rootId, takenAt }
  } catch {
    return null // gone or failed since it was written
  }
}

/**
 * The code scan scores ⟨q, x̂_l⟩, the inner product with the first l blocks' reconstruction: its
 * scale depends on l and on norms, so people cannot read it. Divided by ‖q‖·‖x̂_l‖ it estimates the
 * cosine exact mode reports, one scale at every code length. The results are returned best
 * first by that estimate (the order the panel shows next to the number).
 */
export function estimatedCosines(model: Pick<DpqModel, 'codebooks' | 'K' | 'D'>, matrix: CodeMatrix, query: Float32Array, blocks: number, found: { id: number; raw: number }[]): SimilarResult[] {
  const { codebooks, K, D } = model
  let qq = 0
  for (let d = 0; d < query.length; d++) qq += query[d] * query[d]
  const queryNorm = Math.sqrt(qq)
  const x = new Float64Array(D)
  const out = found.map(({ id, raw }) => {
    const code = matrix.codeOf(id)
    if (!code || !(queryNorm > 0)) return { id, score: 0, raw }
    x.fill(0)
    for (let m = 0; m < blocks; m++) {
      const base = (m * K + code[m]) * D
      for (let d = 0; d < D; d++) x[d] += codebooks[base + d]
    }
    let ss = 0
    for (let d = 0; d < D; d++) ss += x[d] * x[d]
    const cosine = ss > 0 ? raw / (queryNorm * Math.sqrt(ss)) : 0
    return { id, score: Math.max(-1, Math.min(1, cosine)), raw }
  })
  return out.sort((a, b) => b.score - a.score || b.raw - a.raw)
}

function zero(d: number): Float32Array {
  return new Float32Array(d)
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}
