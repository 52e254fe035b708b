// The unsupervised model's refit schedule: at every doubling of the library since the last fit, up
// to a model fitted on a million photos; a fit reads a bounded sample and still encodes every photo;
// in the app a refit is an 'encode' job the user sees and can cancel. Real SQLite, real training.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createRng, normal } from '../src/core/dpq/prng.ts'
import { UNSUPERVISED_METHOD } from '../src/core/dpq/unsupervised.ts'
import { ensureCodes, pendingTraining } from '../src/core/modeling/codes.ts'
import { loadActiveModel } from '../src/core/modeling/models.ts'
import { REFIT_LIMIT, refitDue, trainingSample } from '../src/core/modeling/refit-schedule.ts'
import { createService } from '../src/core/service.ts'
import { codesFor } from '../src/core/store/codes.ts'
import { openDb, type Db } from '../src/core/store/db.ts'
import { putFeatures } from '../src/core/store/features.ts'
import { getJob } from '../src/core/store/jobs.ts'
import type { JobProgress } from '../src/shared/types.ts'
import { call, waitFor } from './fixtures/service.ts'

const BACKBONE = 'test-backbone'
const trainOptions = { M: 4, K: 16, D: 16 }

describe('refitDue', () => {
  it('is due at every doubling since the fit, not a photo before', () => {
    expect(refitDue(1000, 1999)).toBe(false)
    expect(refitDue(1000, 2000)).toBe(true)
    expect(refitDue(2000, 3999)).toBe(false)
    expect(refitDue(2000, 4000)).toBe(true)
    // 1.99× is not a doubling, whatever the size.
    expect(refitDue(100_000, 199_000)).toBe(false)
    expect(refitDue(100_000, 200_000)).toBe(true)
    // Odd sizes: twice 7 is 14.
    expect(refitDue(7, 13)).toBe(false)
    expect(refitDue(7, 14)).toBe(true)
  })

  it('a first model fitted on a few photos is refitted as soon as they double; one fitted on nothing at the first photo', () => {
    expect(refitDue(1, 1)).toBe(false)
    expect(refitDue(1, 2)).toBe(true)
    expect(refitDue(12, 23)).toBe(false)
    expect(refitDue(12, 24)).toBe(true)
    expect(refitDue(0, 0)).toBe(false)
    expect(refitDue(0, 1)).toBe(true)
  })

  it('a fit on a million photos or more is kept however the library grows', () => {
    expect(REFIT_LIMIT).toBe(1_000_000)
    expect(refitDue(REFIT_LIMIT - 1, 2 * (REFIT_LIMIT - 1))).toBe(true)
    expect(refitDue(REFIT_LIMIT - 1, 2 * (REFIT_LIMIT - 1) - 1)).toBe(false)
    expect(refitDue(REFIT_LIMIT, 2 * REFIT_LIMIT)).toBe(false)
    expect(refitDue(REFIT_LIMIT, 100 * REFIT_LIMIT)).toBe(false)
    expect(refitDue(3 * REFIT_LIMIT, 10 * REFIT_LIMIT)).toBe(false)
    // The last doubling below the limit: fitted on 600k, refitted at 1.2M, then kept.
    expect(refitDue(600_000, 1_200_000)).toBe(true)
    expect(refitDue(1_200_000, 2_400_000)).toBe(false)
  })
})

describe('trainingSample', () => {
  it('keeps everything up to the bound, and an evenly spread, repeatable sample beyond it', () => {
    const items = Array.from({ length: 10 }, (_, i) => i)
    expect(trainingSample(items, 10)).toEqual(items)
    expect(trainingSample(items, 50)).toEqual(items)
    expect(trainingSample(items, 5)).toEqual([0, 2, 4, 6, 8])
    expect(trainingSample(items, 3)).toEqual([0, 3, 6])
    expect(trainingSample(items, 1)).toEqual([0])
    const many = Array.from({ length: 250_001 }, (_, i) => i)
    const sample = trainingSample(many)
    expect(sample).toHaveLength(100_000)
    expect(new Set(sample).size).toBe(100_000)
    expect(sample[sample.length - 1]).toBeGreaterThan(249_990)
    expect(trainingSample(many)).toEqual(sample)
    expect(() => trainingSample(items, 0)).toThrow(/at least one/)
  })
})

describe('refits in a library file', () => {
  let dir: string
  let dbFile: string
  let db: Db
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'refit-'))
    dbFile = join(dir, 'library.sqlite')
    db = openDb(dbFile)
    db.prepare('INSERT INTO roots (id, path, added_at) VALUES (1, ?, ?)').run('/photos', Date.now())
  })
  afterEach(() => {
    if (db.open) db.close()
    rmSync(dir, { recursive: true, force: true })
  })

  let next = 0
  /** `n` more photos with features, in two kinds. */
  function addPhotos(n: number): string[] {
    const rng = createRng(7 + next)
    const rows = Array.from({ length: n }, () => {
      const i = next++
      const hash = `h${String(i).padStart(6, '0')}`
      db.prepare("INSERT INTO photos (id, root_id, rel_path, size, mtime_ms, hash, status) VALUES (?, 1, ?, 1, 1, ?, 'ok')").run(i + 1, `${i}.jpg`, hash)
      const vector = Float32Array.from({ length: 24 }, (_, j) => normal(rng) + (j % 2 === i % 2 ? 2 : 0))
      return { hash, vector }
    })
    putFeatures(db, BACKBONE, rows)
    return rows.map((r) => r.hash)
  }

  it('refits at 2× the photos of the last fit, not at 1.99×; a library larger than the sample trains on the sample and encodes every photo', async () => {
    expect(pendingTraining(db, BACKBONE)).toBe('first model')
    addPhotos(100)
    const first = await ensureCodes(db, BACKBONE, { trainOptions })
    expect(loadActiveModel(db)).toMatchObject({ id: first.modelId, kind: 'unsupervised', metrics: { trained_on: 100, sampled: 100 } })
    expect(pendingTraining(db, BACKBONE)).toBeNull()

    addPhotos(99) // 199 photos: 1.99×
    expect(pendingTraining(db, BACKBONE)).toBeNull()
    expect(await ensureCodes(db, BACKBONE, { trainOptions })).toEqual({ modelId: first.modelId, encoded: 99 })

    const all = [...addPhotos(1)] // 200 photos: 2×
    expect(pendingTraining(db, BACKBONE)).toBe('library grew')
    const refit = await ensureCodes(db, BACKBONE, { trainOptions, trainingSample: 50 })
    expect(refit.modelId).not.toBe(first.modelId)
    expect(refit.encoded).toBe(200)
    const active = loadActiveModel(db)!
    // The schedule counts the library, not the sample.
    expect(active).toMatchObject({ id: refit.modelId, metrics: { trained_on: 200, sampled: 50 } })
    const coded = codesFor(db, active.id)
    expect(coded.hashes).toHaveLength(200)
    expect(coded.hashes).toContain(all[0])
    expect(pendingTraining(db, BACKBONE)).toBeNull()
  })

  it('an unsupervised model fitted by an earlier method is refitted at once, whatever the library size', async () => {
    addPhotos(60)
    const { modelId: old } = await ensureCodes(db, BACKBONE, { trainOptions })
    expect(loadActiveModel(db)?.params.method).toBe(UNSUPERVISED_METHOD)
    // As a library file from before: the same model, recorded under the method it was fitted by then.
    const params = JSON.parse(db.prepare<[number], { params: string }>('SELECT params FROM models WHERE id = ?').get(old!)!.params)
    db.prepare('UPDATE models SET params = ? WHERE id = ?').run(JSON.stringify({ ...params, method: 'pca+residual-kmeans' }), old)
    expect(pendingTraining(db, BACKBONE)).toBe('better method')
    const refit = await ensureCodes(db, BACKBONE, { trainOptions })
    expect(refit).toMatchObject({ encoded: 60 })
    expect(refit.modelId).not.toBe(old)
    expect(loadActiveModel(db)).toMatchObject({ id: refit.modelId, params: { method: UNSUPERVISED_METHOD }, metrics: { trained_on: 60 } })
    expect(pendingTraining(db, BACKBONE)).toBeNull()
  })

  it('a supervised model is never refitted', async () => {
    addPhotos(10)
    const { modelId } = await ensureCodes(db, BACKBONE, { trainOptions })
    db.prepare("UPDATE models SET kind = 'supervised' WHERE id = ?").run(modelId)
    addPhotos(30)
    expect(pendingTraining(db, BACKBONE)).toBeNull()
  })

  it('in the app a refit is an encode job for "library grew" that the user can cancel; the fitted model stays until a refit ends', async () => {
    addPhotos(40)
    const { modelId: fitted } = await ensureCodes(db, BACKBONE, { trainOptions })
    addPhotos(40)
    db.close()

    const service = await createService({ dbFile, embedder: null, watch: false, catchUp: false, trainOptions })
    try {
      const encodeJobs: JobProgress[] = []
      service.onEvent((e) => {
        if (e.type !== 'job' || e.job.kind !== 'encode') return
        encodeJobs.push(e.job)
        // Cancelled the moment it shows up.
        if (encodeJobs.length === 1) void call(service, 'cancelJob', { jobId: e.job.jobId })
      })
      // An index job that ends settles the library, which checks the schedule.
      const empty = join(dir, 'empty')
      mkdirSync(empty)
      await call(service, 'addRoot', { path: empty })
      await waitFor(() => encodeJobs.some((j) => j.state === 'cancelled'), 'the refit job to be cancelled')
      const jobId = encodeJobs[0].jobId
      expect(encodeJobs[0].state).toBe('running')
      const status = await call(service, 'status', {})
      expect(status.jobs.find((j) => j.jobId === jobId)).toMatchObject({ kind: 'encode', state: 'cancelled' })
      expect(status.model).toMatchObject({ id: fitted })
      const check = openDb(dbFile)
      try {
        expect(getJob(check, jobId).params).toEqual({ reason: 'library grew' })
        expect(loadActiveModel(check)?.id).toBe(fitted)
      } finally {
        check.close()
      }
    } finally {
      await service.close()
    }
  }, 120_000)
})
