// Runs a piece of work as a job: a row in the jobs table that carries its progress (with rate and
// ETA), can be cancelled from anywhere that can write the table, and records how it ended.
import type { ModelStage } from '../../shared/types.ts'
import { explainDiskFull, isDiskFull } from '../disk-full.ts'
import type { Db } from '../store/db.ts'
import {
  cancelJob,
  failJob,
  finishJob,
  isCancelled,
  recordProgress,
  resumeJob,
  startJob,
  type JobKind,
  type JobProgressEvent,
} from '../store/jobs.ts'
import { ProgressMeter } from './progress.ts'

/** Thrown inside a job's work when it has been cancelled; runJob records it as 'cancelled'. */
export class JobCancelled extends Error {
  /** What the work had done when it stopped, for callers that report partial results. */
  constructor(readonly partial?: unknown) {
    super('cancelled')
    this.name = 'JobCancelled'
  }
}

export interface JobContext {
  readonly jobId: number
  /** Reports progress; rate and ETA are added here. Stored at most every `storeEveryMs`. */
  report(event: { done: number; total: number; current?: string | null; stage?: ModelStage; epoch?: number; loss?: Record<string, number> }): JobProgressEvent
  /** Throws JobCancelled when the signal fired or someone cancelled the job row. */
  checkCancelled(): void
}

export interface RunJobOptions {
  signal?: AbortSignal
  /** Continue this job id (resume after a crash) instead of starting a new row. */
  resume?: number
  onProgress?: (event: JobProgressEvent & { jobId: number }) => void
  storeEveryMs?: number
}

export async function runJob<T>(
  db: Db,
  kind: JobKind,
  params: Record<string, unknown>,
  work: (job: JobContext) => Promise<T>,
  options: RunJobOptions = {},
): Promise<T> {
  const jobId = options.resume ?? startJob(db, kind, params)
  if (options.resume !== undefined) resumeJob(db, jobId, params)
  const meter = new ProgressMeter()
  const storeEveryMs = options.storeEveryMs ?? 500
  let lastStored = 0
  let last: JobProgressEvent | undefined
  const context: JobContext = {
    jobId,
    report(event) {
      const progress: JobProgressEvent = { ...event, current: event.current ?? null, ...meter.update(event.done, event.total) }
      last = progress
      const now = Date.now()
      if (now - lastStored >= storeEveryMs || event.done === event.total) {
        lastStored = now
        recordProgress(db, jobId, progress)
      }
      options.onProgress?.({ ...progress, jobId })
      return progress
    },
    checkCancelled() {
      if (options.signal?.aborted || isCancelled(db, jobId)) throw new JobCancelled()
    },
  }
  try {
    const result = await work(context)
    finishJob(db, jobId, last)
    return result
  } catch (caught) {
    const err = explainDiskFull(caught, db.name)
    if (err instanceof JobCancelled || options.signal?.aborted) cancelJob(db, jobId)
    else {
      try {
        failJob(db, jobId, err instanceof Error ? err.message : String(err))
      } catch (unrecorded) {
        // The disk is too full even for this row: it stays 'running' with this process's pid, so
        // the next start sees an interrupted job and resumes it. The caller still gets the reason.
        if (!isDiskFull(unrecorded)) throw unrecorded
      }
    }
    throw err
  }
}
