// Recomputing the stored feature of indexed photos for a new backbone (the feature upgrade): each
// content is read from one of its files, checked against its hash, decoded as the indexer decodes
// it, embedded in batches, and written batch by batch, so a run cut short carries on with the
// photos still missing the feature. The next batch is read and decoded while one embeds.
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import type { Db } from '../store/db.ts'
import { featureCoverage, hashesWithoutFeature, putFeatures } from '../store/features.ts'
import { markContentFailed, photosWithHash } from '../store/photos.ts'
import { JobCancelled } from '../jobs/run.ts'
import { framingOf } from '../embed/backbone.ts'
import type { Embedder, Framing, ModelInput } from '../types.ts'
import { decodePhoto } from './decode.ts'
import { decodeFailure, readFailure } from './failures.ts'
import { mapLimit } from './indexer.ts'

export interface RefeatureOptions {
  embedder: Embedder
  signal?: AbortSignal
  /** Photos per embedded and written batch (default 32). */
  batchSize?: number
  /** After each written batch: photos dealt with (the run's and earlier runs'), of all, and the last file read. */
  onProgress?(done: number, total: number, current: string | null): void
  /**
   * A photo that gets no feature now. `failed`: its file no longer decodes, and the photo is marked
   * failed with the reason (not tried again until its file changes); otherwise no file with its
   * content could be read (a folder offline, a file changed or removed): the index takes it up
   * when its folder is back or changed.
   */
  onSkipped?(skipped: { file: string | null; reason: string; failed: boolean }): void
}

export interface RefeatureSummary {
  embedded: number
  failed: number
  unreadable: number
}

/** One content as read and decoded, or why it could not be. */
interface Read {
  hash: string
  file: string | null
  input?: ModelInput
  problem?: { reason: string; failed: boolean }
}

const DECODE_CONCURRENCY = 4

export async function recomputeFeatures(db: Db, options: RefeatureOptions): Promise<RefeatureSummary> {
  const backbone = options.embedder.backboneId
  const framing = framingOf(backbone)
  const todo = hashesWithoutFeature(db, backbone)
  const { total } = featureCoverage(db, backbone)
  const summary: RefeatureSummary = { embedded: 0, failed: 0, unreadable: 0 }
  let done = total - todo.length
  const size = options.batchSize ?? 32
  const batches: string[][] = []
  for (let i = 0; i < todo.length; i += size) batches.push(todo.slice(i, i + size))
  const readBatch = (batch: string[]) => {
    const reads = mapLimit(batch, DECODE_CONCURRENCY, (hash) => readContent(db, hash, framing))
    reads.catch(() => {}) // awaited below; a failure must not count as unhandled meanwhile
    return reads
  }
  options.onProgress?.(done, total, null)
  let next = batches.length ? readBatch(batches[0]) : null
  for (let i = 0; i < batches.length; i++) {
    if (options.signal?.aborted) throw new JobCancelled(summary)
    const reads = await next!
    next = i + 1 < batches.length ? readBatch(batches[i + 1]) : null
    try {
      const ready = reads.filter((r) => r.input)
      const vectors = ready.length ? await options.embedder.embed(ready.map((r) => r.input!)) : []
      putFeatures(db, backbone, ready.map((r, j) => ({ hash: r.hash, vector: vectors[j] })))
      summary.embedded += ready.length
      for (const r of reads) if (r.problem) skip(db, r, options, summary)
      done += reads.length
      options.onProgress?.(done, total, reads.at(-1)?.file ?? null)
    } catch (err) {
      await next?.catch(() => {}) // let the batch being read settle before giving up
      throw err
    }
  }
  return summary
}

function skip(db: Db, read: Read, options: RefeatureOptions, summary: RefeatureSummary): void {
  const { reason, failed } = read.problem!
  if (failed) {
    markContentFailed(db, read.hash, reason)
    summary.failed++
  } else summary.unreadable++
  options.onSkipped?.({ file: read.file, reason, failed })
}

/** The model input of one content, from the first of its files that still holds it. */
async function readContent(db: Db, hash: string, framing: Framing): Promise<Read> {
  const photos = photosWithHash(db, hash)
  let problem = 'no photo has this content any more'
  for (const { file } of photos) {
    let bytes: Buffer
    try {
      bytes = await readFile(file)
    } catch (err) {
      problem = readFailure(err)
      continue
    }
    if (createHash('sha256').update(bytes).digest('hex') !== hash) {
      problem = 'the file changed since it was indexed'
      continue
    }
    try {
      return { hash, file, input: (await decodePhoto(bytes, framing)).modelInput }
    } catch (err) {
      return { hash, file, problem: { reason: await decodeFailure(err, bytes), failed: true } }
    }
  }
  return { hash, file: photos[0]?.file ?? null, problem: { reason: problem, failed: false } }
}
