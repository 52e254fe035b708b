// The service's running jobs: each one a row in the jobs table (jobs/run.ts's runJob), an AbortController
// for cancelJob, and a 'job' event for every progress step and for how it ended.
import type { JobProgress } from '../../shared/types.ts'
import { runJob, type JobContext } from '../jobs/run.ts'
import type { Db } from '../store/db.ts'
import { cancelJob, getJob, jobProgress, startJob, type JobKind } from '../store/jobs.ts'
import type { EventHub } from '../events.ts'

export interface JobTracker {
  /** Starts `work` as a job now (or as the job row `resume`, one a dead process left); returns its id at once. */
  start<T>(
    kind: JobKind,
    params: Record<string, unknown>,
    work: (job: JobContext, signal: AbortSignal) => Promise<T>,
    resume?: number,
  ): { jobId: number; done: Promise<T | undefined> }
  /**
   * Follows work that records its own job row (the indexer's indexRoot): its progress, which carries the
   * job id, becomes job events; cancelJob aborts it through `signal`.
   */
  adopt<T>(kind: JobKind, work: (signal: AbortSignal, onProgress: (p: ForeignProgress) => void) => Promise<T>): Promise<T | undefined>
  cancel(jobId: number): void
  /** Jobs running in this process, as the UI shows them. */
  running(): JobProgress[]
  /** Resolves when every job started so far has ended. */
  idle(): Promise<void>
  cancelAll(): Promise<void>
}

export interface ForeignProgress {
  jobId: number | null
  done: number
  total: number
  current?: string | null
  rate?: number | null
  eta?: number | null
}

export function createJobTracker(db: Db, events: EventHub): JobTracker {
  const active = new Map<number, { controller: AbortController; last: JobProgress; done: Promise<unknown> }>()

  /** Adopted work that has not reported a job id yet still has to be waited for and aborted. */
  const pending = new Set<Promise<unknown>>()
  const aborts = new Set<AbortController>()
  const emit = (job: JobProgress) => events.emit({ type: 'job', job })
  /**
   * How a job ended, as stored; when the row could not be written (a full disk) it still says
   * 'running', and the window hears the failure it would have recorded.
   */
  const announceEnd = (jobId: number, kind: JobKind, failure: unknown) => {
    let stored: JobProgress | null = null
    try {
      stored = jobProgress(getJob(db, jobId))
    } catch {
      // unreadable row: announced from what this process knows
    }
    const error = failure === undefined ? undefined : failure instanceof Error ? failure.message : String(failure)
    if (stored && (stored.state !== 'running' || error === undefined)) emit(stored)
    else if (error !== undefined) emit({ ...(stored ?? { jobId, kind, done: 0, total: 0, rate: null, eta: null, current: null }), state: 'failed', error })
  }

  return {
    start(kind, params, work, resume) {
      const jobId = resume ?? startJob(db, kind, params)
      const controller = new AbortController()
      const first: JobProgress = { jobId, kind, state: 'running', done: 0, total: 0, rate: null, eta: null, current: null }
      const entry = { controller, last: first, done: Promise.resolve() as Promise<unknown> }
      active.set(jobId, entry)
      emit(first)
      let failure: unknown
      const done = runJob(db, kind, params, (job) => work(job, controller.signal), {
        resume: jobId,
        signal: controller.signal,
        onProgress: (p) => {
          entry.last = { ...first, ...p, current: p.current ?? null, rate: p.rate ?? null, eta: p.eta ?? null }
          emit(entry.last)
        },
      }).then(
        (value) => value,
        // The ending is recorded in the row and announced below; the error is not lost.
        (err: unknown) => void (failure = err),
      )
      const settled = done.finally(() => {
        active.delete(jobId)
        announceEnd(jobId, kind, failure)
      })
      entry.done = settled
      return { jobId, done: settled }
    },
    adopt(kind, work) {
      const controller = new AbortController()
      aborts.add(controller)
      let jobId: number | null = null
      const entry = { controller, last: null as unknown as JobProgress, done: Promise.resolve() as Promise<unknown> }
      const done = work(controller.signal, (p) => {
        if (p.jobId === null) return
        if (jobId === null) {
          jobId = p.jobId
          active.set(jobId, entry)
        }
        entry.last = { jobId, kind, state: 'running', done: p.done, total: p.total, current: p.current ?? null, rate: p.rate ?? null, eta: p.eta ?? null }
        emit(entry.last)
      })
      let failure: unknown
      const settled = done.then(
        (value) => value,
        (err: unknown) => {
          failure = err
          console.error(`lookalike: ${kind} job failed: ${err instanceof Error ? err.message : String(err)}`)
          return undefined
        },
      )
      entry.done = settled.finally(() => {
        aborts.delete(controller)
        if (jobId === null) return
        active.delete(jobId)
        announceEnd(jobId, kind, failure)
      })
      pending.add(entry.done)
      void entry.done.finally(() => pending.delete(entry.done))
      return entry.done as Promise<Awaited<ReturnType<typeof work>> | undefined>
    },
    cancel(jobId) {
      const entry = active.get(jobId)
      if (entry) {
        entry.controller.abort()
        cancelJob(db, jobId)
        return
      }
      // Another process's job (the CLI's) stops when it sees its row cancelled; cancelling a job
      // that just ended is a harmless race with the Cancel button, not an error.
      cancelJob(db, jobId)
    },
    running() {
      return [...active.values()].map((e) => e.last)
    },
    async idle() {
      while (active.size > 0 || pending.size > 0) await Promise.all([...active.values()].map((e) => e.done).concat([...pending]))
    },
    async cancelAll() {
      for (const [jobId, entry] of active) {
        entry.controller.abort()
        cancelJob(db, jobId)
      }
      for (const abort of aborts) abort.abort()
      await this.idle()
    },
  }
}
