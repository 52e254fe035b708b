// How well the library's own unsupervised path finds look-alikes, scored with labels it never sees:
// the model is fitted as a library's first model is (fitUnsupervised: no labels, on every photo), every
// photo is encoded as the library encodes it, and search ranks the database at each precision the app
// offers, beside cosine of the stored backbone feature. Queries: the first photos of each class (by
// file name); the database: every other labelled photo.
import { CODE_BITS } from '../../shared/types.ts'
import { labelSets } from '../dpq/metrics.ts'
import { splitByClass } from '../dpq/protocol.ts'
import { rowsOf } from '../dpq/tf.ts'
import { cosineQuality, searchQuality, type RankingQuality } from '../search/retrieval-quality.ts'
import type { Db } from '../store/db.ts'
import { featuresFor } from '../store/features.ts'
import type { ProgressEvent } from '../types.ts'
import { ensureBackend } from './backend.ts'
import { fitUnsupervised } from './codes.ts'
import { encodeLibrary } from './encode.ts'
import { readFrom } from './neighbours.ts'

export interface LabelledLibraryPhotos {
  /** File names (relative paths): queries are the first of each class in this order. */
  names: string[]
  /** Content hash of each photo (its cached feature and code). */
  hashes: string[]
  /** Class indices per photo; a photo is relevant to a query when they share one. */
  labels: number[][]
  classNames: string[]
}

export interface UnsupervisedEvalOptions {
  /** Every photo the model is fitted on (labelled or not), by content hash. */
  library: readonly string[]
  queriesPerClass: number
  /** Precision@k (default 20). */
  k?: number
  onProgress?(event: ProgressEvent): void
}

export interface UnsupervisedEvalReport {
  photos: number
  classes: number
  queries: number
  database: number
  /** Distinct photo contents the model was fitted on. */
  trained_on: number
  train_seconds: number
  k: number
  /** Search at each code length ('8' … '64') and exact mode ('exact'). */
  search: Record<string, RankingQuality>
  /** Cosine of the stored backbone feature. */
  float: RankingQuality
}

export async function evaluateUnsupervised(db: Db, backboneId: string, photos: LabelledLibraryPhotos, options: UnsupervisedEvalOptions): Promise<UnsupervisedEvalReport> {
  const k = options.k ?? 20
  const split = splitByClass(photos.names, photos.labels, 0, options.queriesPerClass)
  if (split.queries.length === 0) throw new Error('No queries: every class needs at least one photo')
  if (split.database.length === 0) throw new Error('Every photo is a query, so there is nothing to search: lower --queries-per-class')

  const features = featuresFor(db, backboneId, new Set([...options.library, ...photos.hashes]))
  await ensureBackend()
  const started = performance.now()
  const { model, blended } = await fitUnsupervised(options.library, readFrom(features), { onProgress: options.onProgress })
  const trainSeconds = (performance.now() - started) / 1000

  // Every photo as the library encodes and queries it: blended with its neighbours.
  const { x, codes, present } = await encodeLibrary(db, model, backboneId, photos.hashes, { read: readFrom(blended), onProgress: options.onProgress })
  const missing = photos.hashes.filter((_, i) => !present[i])
  if (missing.length) throw new Error(`${missing.length} photos have no stored feature (first: ${missing[0]})`)
  const embeddings = rowsOf(x, model.D)
  const { M } = model
  const databaseCodes = new Uint8Array(split.database.length * M)
  split.database.forEach((i, j) => databaseCodes.set(codes.subarray(i * M, (i + 1) * M), j * M))

  const sets = labelSets(photos.labels)
  const relevance = { queryLabels: split.queries.map((i) => sets[i]), databaseLabels: split.database.map((i) => sets[i]) }
  const bits = CODE_BITS.filter((b) => b <= 8 * M)
  const search = searchQuality(
    { quantizer: model, queries: split.queries.map((i) => embeddings[i]), codes: databaseCodes, embeddings: split.database.map((i) => embeddings[i]) },
    bits,
    relevance,
    k,
  )
  const feature = (i: number) => features.get(photos.hashes[i])!
  const float = cosineQuality(split.queries.map(feature), split.database.map(feature), relevance, k)
  return {
    photos: photos.names.length,
    classes: photos.classNames.length,
    queries: split.queries.length,
    database: split.database.length,
    trained_on: options.library.length,
    train_seconds: trainSeconds,
    k,
    search,
    float,
  }
}
