// Indexing a root: scan, skip what did not change, then decode → embed → write in batches, with
// the next batch decoding while the current one embeds. Each batch's rows (and features) land in
// one transaction, after its thumbnails are on disk, so a kill at any moment leaves a consistent
// library and a rerun simply carries on with the files that have no row yet.
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { requireFreeSpace } from '../disk-full.ts'
import { framingOf } from '../embed/backbone.ts'
import type { Embedder, ModelInput } from '../types.ts'
import type { Db } from '../store/db.ts'
import { hashesWithoutFeature, hasFeature, putFeatures } from '../store/features.ts'
import { hasPerceptualHash, putPerceptualHashes } from '../store/perceptual-hashes.ts'
import { unfinishedJobs } from '../store/jobs.ts'
import { activeReadsOther } from '../store/models.ts'
import { deletePhotos, knownFile, knownFiles, movePhoto, photoLocation, photosWithHash, writePhoto, type PhotoFacts } from '../store/photos.ts'
import { addRoot, getRoot, listRoots } from '../store/roots.ts'
import { processAlive } from '../jobs/alive.ts'
import { JobCancelled, runJob, type JobContext } from '../jobs/run.ts'
import { ProgressMeter } from '../jobs/progress.ts'
import { decodePhoto } from './decode.ts'
import { collectGarbage } from './garbage.ts'
import { readExif } from './exif.ts'
import { decodeFailure, readFailure } from './failures.ts'
import { scanFolder, type ScannedFile } from './scan.ts'
import { thumbnailHash } from './thumbnail-hash.ts'
import { hasThumbnail, removeLeftoverTemporaries, saveThumbnail, thumbnailInventory, thumbnailsCommitted } from './thumbnails.ts'

export interface IndexSummary {
  indexed: number
  skipped: number
  failed: number
  failures: { path: string; reason: string }[]
  seconds: number
  /** Photos removed because their files are gone. */
  removed?: number
  /** Set when the run was cancelled before it finished; what was written stays. */
  cancelled?: boolean
}

export interface IndexProgress {
  done: number
  total: number
  current: string | null
  rate: number | null
  eta: number | null
  jobId: number | null
}

export interface IndexOptions {
  thumbnailDir: string
  /** When given, photos without a feature for its backbone are embedded (once per content hash). */
  embedder?: Embedder
  signal?: AbortSignal
  onProgress?: (progress: IndexProgress) => void
  /** Called after each batch's transaction, with the ok photos it wrote (new, changed or moved). */
  onPhotosWritten?: (photos: { id: number; hash: string }[]) => void
  /** Record the run in the jobs table (default true; the watcher's quiet reconcile passes false). */
  recordJob?: boolean
  batchSize?: number
}

/** One file, read and understood, waiting to be written. */
interface Prepared {
  relPath: string
  facts: PhotoFacts
  thumbnail?: Buffer
  /** The duplicate finder's perceptual hash of the thumbnail, for a content that has none yet. */
  perceptualHash?: Uint32Array
  modelInput?: ModelInput
}

const DECODE_CONCURRENCY = 4
/** Files are read whole (one read serves hash, EXIF and decode); nothing this big is a photo. */
const MAX_FILE_BYTES = 1024 * 2 ** 20

/** Runs in flight per library and root: a second run of the same root waits for the first. */
const inFlight = new WeakMap<Db, Map<number, Promise<unknown>>>()

/**
 * Indexes one root (a root id, or a folder that becomes a root if it is not one yet). Runs on the
 * same root in one process (a job and the watcher's reconcile, say) take turns; the later one
 * then finds little left to do.
 */
export async function indexRoot(db: Db, root: string | number, options: IndexOptions): Promise<IndexSummary> {
  const { id: rootId, path: rootPath } = typeof root === 'number' ? getRoot(db, root) : addRoot(db, root)
  const runs = inFlight.get(db) ?? new Map<number, Promise<unknown>>()
  inFlight.set(db, runs)
  const before = runs.get(rootId) ?? Promise.resolve()
  const run = before.catch(() => {}).then(() => indexRootNow(db, rootId, rootPath, options))
  runs.set(rootId, run)
  try {
    return await run
  } finally {
    if (runs.get(rootId) === run) runs.delete(rootId)
  }
}

async function indexRootNow(db: Db, rootId: number, rootPath: string, options: IndexOptions): Promise<IndexSummary> {
  const work = (job: JobContext | null) => indexScan(db, rootId, rootPath, options, job)
  if (options.recordJob === false) return work(null)
  const params = { root: rootPath, pid: process.pid }
  const resume = unfinishedJobs(db, 'index').find((j) => j.params.root === rootPath && !processAlive(j.params.pid))
  try {
    return await runJob(db, 'index', params, work, { signal: options.signal, resume: resume?.id })
  } catch (err) {
    if (err instanceof JobCancelled && err.partial) return err.partial as IndexSummary
    throw err
  }
}

/**
 * Roots whose index job was cut short (crash, kill, power loss): run indexRoot on each at start-up
 * and it resumes that job, skipping every file that was already written.
 */
export function interruptedIndexRoots(db: Db): number[] {
  const roots = listRoots(db)
  return unfinishedJobs(db, 'index')
    .filter((job) => !processAlive(job.params.pid))
    .map((job) => roots.find((r) => r.path === job.params.root)?.id)
    .filter((id, i, all): id is number => id !== undefined && all.indexOf(id) === i)
}

async function indexScan(db: Db, rootId: number, rootPath: string, options: IndexOptions, job: JobContext | null): Promise<IndexSummary> {
  const started = performance.now()
  const summary: IndexSummary = { indexed: 0, skipped: 0, failed: 0, failures: [], seconds: 0 }
  const stopped = () => {
    summary.cancelled = true
    summary.seconds = (performance.now() - started) / 1000
    if (job) throw new JobCancelled(summary) // runJob records the cancellation
    return summary
  }
  let scanned
  try {
    scanned = await scanFolder(rootPath, options.signal)
  } catch (err) {
    if (options.signal?.aborted) return stopped()
    throw err
  }
  const { files, unreadableFolders } = scanned
  for (const folder of unreadableFolders) summary.failures.push({ path: join(rootPath, folder.relPath), reason: `folder not readable: ${folder.reason}` })

  const known = knownFiles(db, rootId)
  // While the active model reads another backbone, the feature upgrade recomputes every photo's
  // feature (refeature.ts): a scan embeds only new and changed files meanwhile.
  const backbone = options.embedder?.backboneId
  const missingFeature = backbone && !activeReadsOther(db, backbone) ? new Set(hashesWithoutFeature(db, backbone)) : new Set<string>()
  // A thumbnail deleted by hand (or the whole cache folder) is made again like a missing feature.
  const thumbnails = await thumbnailInventory(options.thumbnailDir)
  await removeLeftoverTemporaries(thumbnails)
  const todo: ScannedFile[] = []
  for (const file of files) {
    const row = known.get(file.relPath)
    known.delete(file.relPath)
    const unchanged = row && row.status !== 'pending' && row.size === file.size && row.mtimeMs === file.mtimeMs
    const incomplete = row?.status === 'ok' && row.hash !== null && (missingFeature.has(row.hash) || !thumbnails.hashes.has(row.hash))
    if (unchanged && !incomplete) summary.skipped++
    else todo.push(file)
  }
  // Rows left in `known` have no file any more. They stay until the end of the scan so that a
  // file that moved inside this root can take its old row (and albums) over.
  const vanished = [...known.values()].map((r) => r.id)

  const progress = reporter(summary, files.length, options, job)
  progress(null)
  try {
    await processFiles(db, rootId, rootPath, todo, options, summary, (current) => {
      progress(current)
      job?.checkCancelled()
      if (options.signal?.aborted) throw new JobCancelled()
    })
  } catch (err) {
    if (err instanceof JobCancelled) return stopped()
    throw err
  }
  const gone = vanished.filter((id) => stillGone(db, id))
  deletePhotos(db, gone)
  if (gone.length) summary.removed = gone.length
  // Whatever content no photo has any more (deleted, changed, or left by an interrupted run) goes.
  await collectGarbage(db, options.thumbnailDir, backbone ?? null)
  summary.seconds = (performance.now() - started) / 1000
  progress(null)
  return summary
}

/** A vanished row that no moved file took over is removed; one that was re-pointed is kept. */
function stillGone(db: Db, id: number): boolean {
  const row = photoLocation(db, id)
  return row !== null && !existsSync(join(row.root, row.relPath))
}

function reporter(summary: IndexSummary, total: number, options: IndexOptions, job: JobContext | null) {
  const meter = new ProgressMeter()
  return (current: string | null) => {
    const done = summary.indexed + summary.skipped + summary.failed
    const { rate, eta } = job ? job.report({ done, total, current }) : meter.update(done, total)
    options.onProgress?.({ done, total, current, rate: rate ?? null, eta: eta ?? null, jobId: job?.jobId ?? null })
  }
}

/**
 * Decodes, embeds and writes the given files of a root in batches; the next batch is prepared
 * while the current one embeds. `afterBatch` runs after each commit (progress, cancellation).
 */
export async function processFiles(
  db: Db,
  rootId: number,
  rootPath: string,
  files: ScannedFile[],
  options: IndexOptions,
  summary: IndexSummary,
  afterBatch: (current: string | null) => void = () => {},
): Promise<void> {
  const batchSize = options.batchSize ?? 16
  const batches: ScannedFile[][] = []
  for (let i = 0; i < files.length; i += batchSize) batches.push(files.slice(i, i + batchSize))
  const prepareBatch = (batch: ScannedFile[]) => {
    const prepared = mapLimit(batch, DECODE_CONCURRENCY, (file) => preparePhoto(db, rootPath, file, options))
    // Awaited later; until then a failure (say, the library closed under us) must not count as unhandled.
    prepared.catch(() => {})
    return prepared
  }
  let next = batches.length ? prepareBatch(batches[0]) : null
  for (let i = 0; i < batches.length; i++) {
    const items = await next!
    next = i + 1 < batches.length ? prepareBatch(batches[i + 1]) : null
    try {
      const features = await embed(db, items, options.embedder)
      await writeBatch(db, rootId, rootPath, items, features, options, summary)
      afterBatch(items[items.length - 1]?.relPath ?? null)
    } catch (err) {
      await next?.catch(() => {}) // let the prepared batch settle before giving up
      throw err
    }
  }
}

/** `fn` over the items, at most `limit` at a time; results in item order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i])
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return out
}

function failed(file: { size: number; mtimeMs: number }, reason: string, hash: string | null = null): PhotoFacts {
  return { size: file.size, mtimeMs: file.mtimeMs, hash, width: null, height: null, takenAt: null, camera: null, orientation: null, status: 'failed', error: reason }
}

/** Reads one file and turns it into facts; never throws (a bad file becomes a failed row). */
async function preparePhoto(db: Db, rootPath: string, file: ScannedFile, options: IndexOptions): Promise<Prepared> {
  const { relPath } = file
  if (file.error) return { relPath, facts: failed(file, file.error) }
  if (file.size === 0) return { relPath, facts: failed(file, 'empty file (0 bytes)') }
  if (file.size > MAX_FILE_BYTES) return { relPath, facts: failed(file, `file too large for a photo (${Math.round(file.size / 2 ** 20)} MB; limit ${MAX_FILE_BYTES / 2 ** 20} MB)`) }
  let bytes: Buffer
  try {
    bytes = await readFile(join(rootPath, relPath))
  } catch (err) {
    return { relPath, facts: failed(file, readFailure(err)) }
  }
  if (bytes.length === 0) return { relPath, facts: failed(file, 'empty file (0 bytes)') }
  const hash = createHash('sha256').update(bytes).digest('hex')
  const backbone = options.embedder?.backboneId
  // Same content already indexed (a duplicate, or this file before a move): reuse what we know.
  const twin = photosWithHash(db, hash)[0]
  if (twin && hasThumbnail(options.thumbnailDir, hash) && (!backbone || hasFeature(db, hash, backbone))) {
    const { width, height, takenAt, camera, orientation } = twin
    return { relPath, facts: { size: bytes.length, mtimeMs: file.mtimeMs, hash, width, height, takenAt, camera, orientation, status: 'ok', error: null } }
  }
  try {
    const [decoded, exif] = await Promise.all([decodePhoto(bytes, backbone ? framingOf(backbone) : undefined), readExif(bytes)])
    const perceptualHash = hasPerceptualHash(db, hash) ? undefined : await thumbnailHash(decoded.thumbnail)
    return {
      relPath,
      facts: {
        size: bytes.length,
        mtimeMs: file.mtimeMs,
        hash,
        width: decoded.width,
        height: decoded.height,
        takenAt: exif.takenAt,
        camera: exif.camera,
        orientation: decoded.orientation,
        status: 'ok',
        error: null,
      },
      thumbnail: decoded.thumbnail,
      perceptualHash,
      modelInput: backbone && !hasFeature(db, hash, backbone) ? decoded.modelInput : undefined,
    }
  } catch (err) {
    return { relPath, facts: failed({ size: bytes.length, mtimeMs: file.mtimeMs }, await decodeFailure(err, bytes), hash) }
  }
}

/** Features for the batch's new contents, one per hash. */
async function embed(db: Db, items: Prepared[], embedder: Embedder | undefined): Promise<Map<string, Float32Array>> {
  const features = new Map<string, Float32Array>()
  if (!embedder) return features
  const wanted = new Map<string, ModelInput>()
  for (const item of items) {
    const hash = item.facts.hash
    // Checked again here: a twin in the previous batch may have been embedded since this one was decoded.
    if (item.modelInput && hash && !wanted.has(hash) && !hasFeature(db, hash, embedder.backboneId)) wanted.set(hash, item.modelInput)
  }
  if (wanted.size === 0) return features
  const vectors = await embedder.embed([...wanted.values()])
  ;[...wanted.keys()].forEach((hash, i) => features.set(hash, vectors[i]))
  return features
}

/** A photo whose file is gone while its root is still there: this content has moved. */
function movedAway(photo: { root: string; file: string }): boolean {
  return existsSync(photo.root) && !existsSync(photo.file)
}

async function writeBatch(
  db: Db,
  rootId: number,
  rootPath: string,
  items: Prepared[],
  features: Map<string, Float32Array>,
  options: IndexOptions,
  summary: IndexSummary,
): Promise<void> {
  // Stop before the disk is so full that even the reason could not be written down.
  if (!db.memory) requireFreeSpace([options.thumbnailDir, db.name])
  const saved: string[] = []
  try {
    for (const item of items) {
      if (!item.thumbnail || !item.facts.hash) continue
      saved.push(item.facts.hash)
      await saveThumbnail(options.thumbnailDir, item.facts.hash, item.thumbnail)
    }
    commitBatch(db, rootId, rootPath, items, features, options, summary)
  } finally {
    thumbnailsCommitted(saved)
  }
}

/** The batch's rows and features, in one transaction, once its thumbnails are on disk. */
function commitBatch(
  db: Db,
  rootId: number,
  rootPath: string,
  items: Prepared[],
  features: Map<string, Float32Array>,
  options: IndexOptions,
  summary: IndexSummary,
): void {
  const written: { id: number; hash: string }[] = []
  db.transaction(() => {
    for (const item of items) {
      const { facts, relPath } = item
      if (facts.status === 'ok' && facts.hash) {
        const movedFrom = knownFile(db, rootId, relPath) ? undefined : photosWithHash(db, facts.hash).find(movedAway)
        let id: number
        if (movedFrom) {
          movePhoto(db, movedFrom.id, rootId, relPath, facts)
          id = movedFrom.id
        } else {
          id = writePhoto(db, rootId, relPath, facts)
        }
        written.push({ id, hash: facts.hash })
        summary.indexed++
      } else {
        writePhoto(db, rootId, relPath, facts)
        summary.failed++
        summary.failures.push({ path: join(rootPath, relPath), reason: facts.error ?? 'unknown error' })
      }
    }
    const hashes = items.flatMap((item) => (item.perceptualHash && item.facts.hash && item.facts.status === 'ok' ? [{ hash: item.facts.hash, value: item.perceptualHash }] : []))
    if (hashes.length) putPerceptualHashes(db, hashes)
    if (features.size && options.embedder) {
      putFeatures(db, options.embedder.backboneId, [...features].map(([hash, vector]) => ({ hash, vector })))
    }
  }).immediate()
  if (written.length) options.onPhotosWritten?.(written)
}
