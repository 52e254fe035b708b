// Job records: one row per long-running piece of work (index, train, encode). The row is what
// survives a crash: a job left 'running' by a dead process is found again by unfinishedJobs.
import { StoreError } from './errors.ts'
import type { JobProgress, ModelStage } from '../../shared/types.ts'
import type { Db } from './db.ts'

export type JobKind = JobProgress['kind']
export type JobState = JobProgress['state']

/** The last progress event of a job, as stored. */
export interface JobProgressEvent {
  done: number
  total: number
  current?: string | null
  stage?: ModelStage
  rate?: number | null
  eta?: number | null
  epoch?: number
  loss?: Record<string, number>
}

export interface JobRecord {
  id: number
  kind: JobKind
  state: JobState
  params: Record<string, unknown>
  progress: JobProgressEvent | null
  error: string | null
  createdAt: number
  updatedAt: number
}

interface JobRow {
  id: number
  kind: JobKind
  state: JobState
  params: string
  progress: string | null
  error: string | null
  created_at: number
  updated_at: number
}

function toRecord(row: JobRow): JobRecord {
  return {
    id: row.id,
    kind: row.kind,
    state: row.state,
    params: JSON.parse(row.params) as Record<string, unknown>,
    progress: row.progress ? (JSON.parse(row.progress) as JobProgressEvent) : null,
    error: row.error,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}

export function startJob(db: Db, kind: JobKind, params: Record<string, unknown> = {}): number {
  const now = Date.now()
  const { lastInsertRowid } = db
    .prepare("INSERT INTO jobs (kind, state, params, created_at, updated_at) VALUES (?, 'running', ?, ?, ?)")
    .run(kind, JSON.stringify(params), now, now)
  return Number(lastInsertRowid)
}

export function getJob(db: Db, id: number): JobRecord {
  const row = db.prepare<[number], JobRow>('SELECT * FROM jobs WHERE id = ?').get(id)
  if (!row) throw new StoreError('not-found', `No job with id ${id}`)
  return toRecord(row)
}

export function recordProgress(db: Db, id: number, progress: JobProgressEvent): void {
  db.prepare("UPDATE jobs SET progress = ?, updated_at = ? WHERE id = ? AND state = 'running'").run(JSON.stringify(progress), Date.now(), id)
}

/** Marks a job running again (resumed after a crash), keeping its last progress. */
export function resumeJob(db: Db, id: number, params?: Record<string, unknown>): void {
  db.prepare("UPDATE jobs SET state = 'running', error = NULL, params = COALESCE(?, params), updated_at = ? WHERE id = ?").run(
    params ? JSON.stringify(params) : null,
    Date.now(),
    id,
  )
}

function settle(db: Db, id: number, state: JobState, error: string | null, progress?: JobProgressEvent): void {
  db.prepare('UPDATE jobs SET state = ?, error = ?, progress = COALESCE(?, progress), updated_at = ? WHERE id = ?').run(
    state,
    error,
    progress ? JSON.stringify(progress) : null,
    Date.now(),
    id,
  )
}

export function finishJob(db: Db, id: number, progress?: JobProgressEvent): void {
  settle(db, id, 'done', null, progress)
}

export function failJob(db: Db, id: number, error: string): void {
  settle(db, id, 'failed', error)
}

/** Asks a job to stop: a queued or running job becomes 'cancelled'; its worker notices and stops. */
export function cancelJob(db: Db, id: number): boolean {
  getJob(db, id)
  const { changes } = db.prepare("UPDATE jobs SET state = 'cancelled', updated_at = ? WHERE id = ? AND state IN ('queued', 'running')").run(Date.now(), id)
  return changes > 0
}

export function isCancelled(db: Db, id: number): boolean {
  return db.prepare<[number], { state: JobState }>('SELECT state FROM jobs WHERE id = ?').get(id)?.state === 'cancelled'
}

/** Jobs that never reached an end state (queued, or running when their process died). */
export function unfinishedJobs(db: Db, kind?: JobKind): JobRecord[] {
  const rows = kind
    ? db.prepare<[string], JobRow>("SELECT * FROM jobs WHERE state IN ('queued', 'running') AND kind = ? ORDER BY id").all(kind)
    : db.prepare<[], JobRow>("SELECT * FROM jobs WHERE state IN ('queued', 'running') ORDER BY id").all()
  return rows.map(toRecord)
}

export function recentJobs(db: Db, limit = 10): JobRecord[] {
  return db.prepare<[number], JobRow>('SELECT * FROM jobs ORDER BY updated_at DESC, id DESC LIMIT ?').all(limit).map(toRecord)
}

/** A job as the UI and the CLI see it. */
export function jobProgress(job: JobRecord): JobProgress {
  const p = job.progress
  return {
    jobId: job.id,
    kind: job.kind,
    state: job.state,
    done: p?.done ?? 0,
    total: p?.total ?? 0,
    rate: p?.rate ?? null,
    eta: p?.eta ?? null,
    current: p?.current ?? null,
    ...(p?.stage ? { stage: p.stage } : {}),
    ...(p?.epoch !== undefined ? { epoch: p.epoch } : {}),
    ...(p?.loss ? { loss: p.loss } : {}),
    ...(job.error ? { error: job.error } : {}),
  }
}
