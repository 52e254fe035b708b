// Models and codes in a real SQLite library file: codes from the first index, retraining on
// albums, and a crash or cancel at any point leaving the previous model active and intact.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ensureCodes } from '../src/core/modeling/codes.ts'
import { loadActiveModel, loadModel } from '../src/core/modeling/models.ts'
import { holdOutQueries, MAX_HELD_OUT } from '../src/core/modeling/evaluation.ts'
import { retrain } from '../src/core/modeling/retrain.ts'
import { codesFor } from '../src/core/store/codes.ts'
import { modelMetrics } from '../src/core/store/models.ts'
import { createRng, normal } from '../src/core/dpq/prng.ts'
import { TrainingCancelled } from '../src/core/dpq/train.ts'
import { NOISE_ALLOWANCE } from '../src/core/dpq/checked-codebooks.ts'
import { LIBRARY_DEFAULTS } from '../src/core/dpq/library-model.ts'
import { openDb, type Db } from '../src/core/store/db.ts'
import { putFeatures } from '../src/core/store/features.ts'

const BACKBONE = 'test-backbone'
const options = { M: 4, K: 16, D: 16, hidden: 32, batchSize: 32, epochs: 6 }

/** A library of `n` photos in 4 kinds; the first `albums` kinds each have an album of their photos. */
function seedLibrary(db: Db, n: number, albums: number): string[] {
  const rng = createRng(3)
  const now = Date.now()
  db.prepare('INSERT INTO roots (id, path, added_at) VALUES (1, ?, ?)').run('/photos', now)
  for (let a = 0; a < albums; a++) db.prepare('INSERT INTO albums (id, name, created_at) VALUES (?, ?, ?)').run(a + 1, `kind ${a}`, now)
  const hashes: string[] = []
  const rows: { hash: string; vector: Float32Array }[] = []
  for (let i = 0; i < n; i++) {
    const kind = i % 4
    const hash = `h${String(i).padStart(5, '0')}`
    hashes.push(hash)
    db.prepare("INSERT INTO photos (id, root_id, rel_path, size, mtime_ms, hash, status) VALUES (?, 1, ?, 1, 1, ?, 'ok')").run(i + 1, `${kind}/${i}.jpg`, hash)
    if (kind < albums) db.prepare('INSERT INTO album_photos (album_id, photo_id, added_at) VALUES (?, ?, ?)').run(kind + 1, i + 1, now)
    const v = new Float32Array(24)
    for (let j = 0; j < v.length; j++) v[j] = normal(rng) + (j % 4 === kind ? 2 : 0)
    rows.push({ hash, vector: v })
  }
  putFeatures(db, BACKBONE, rows)
  return hashes
}

/** Two albums, one on each of the first two kinds seedLibrary makes, of `perAlbum` photos each. */
function albumsOfTwoKinds(db: Db, perAlbum: number): void {
  const now = Date.now()
  for (const a of [1, 2]) db.prepare('INSERT INTO albums (id, name, created_at) VALUES (?, ?, ?)').run(a, `kind ${a - 1}`, now)
  for (let i = 0; i < 4 * perAlbum; i++) if (i % 4 < 2) db.prepare('INSERT INTO album_photos (album_id, photo_id, added_at) VALUES (?, ?, ?)').run((i % 4) + 1, i + 1, now)
}

describe('DPQ model store', () => {
  let dir: string
  let db: Db
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'dpq-store-'))
    db = openDb(join(dir, 'library.sqlite'))
  })
  afterEach(() => {
    db.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('codes an empty, a tiny and a growing library with an unsupervised model', async () => {
    expect(await ensureCodes(db, BACKBONE, { trainOptions: options })).toEqual({ modelId: null, encoded: 0 })
    expect(loadActiveModel(db)).toBeNull()

    const hashes = seedLibrary(db, 12, 0)
    const first = await ensureCodes(db, BACKBONE, { trainOptions: options })
    expect(first.encoded).toBe(12)
    const active = loadActiveModel(db)!
    expect(active).toMatchObject({ id: first.modelId, kind: 'unsupervised', backbone: BACKBONE })
    const { hashes: coded, codes } = codesFor(db, active.id)
    expect(coded).toEqual(hashes)
    expect(codes.length).toBe(12 * options.M)

    // New photos arrive: encoded by the active model, nothing retrained.
    putFeatures(db, BACKBONE, [{ hash: 'new-photo', vector: new Float32Array(24).fill(0.5) }])
    expect(await ensureCodes(db, BACKBONE)).toEqual({ modelId: active.id, encoded: 1 })
    expect(codesFor(db, active.id).hashes).toContain('new-photo')
    expect(await ensureCodes(db, BACKBONE)).toEqual({ modelId: active.id, encoded: 0 })

    // The library doubles: a model fitted to its first 12 photos is refitted on all of them.
    const more = Array.from({ length: 12 }, (_, i) => ({ hash: `later-${i}`, vector: new Float32Array(24).fill(i / 12) }))
    putFeatures(db, BACKBONE, more)
    const refit = await ensureCodes(db, BACKBONE, { trainOptions: options })
    expect(refit.modelId).not.toBe(active.id)
    expect(refit.encoded).toBe(25)
    expect(loadActiveModel(db)).toMatchObject({ id: refit.modelId, kind: 'unsupervised', metrics: { trained_on: 25 } })
    expect(codesFor(db, refit.modelId!).hashes).toHaveLength(25)
  })

  it('with a handful of photos per album: codebooks from the whole library, mAP per length within 0.005 of shorter codes on held-out album photos', async () => {
    // 400 photos, albums of 10 photos on two of the four kinds; everything else in no album.
    seedLibrary(db, 400, 0)
    albumsOfTwoKinds(db, 10)
    const result = await retrain(db, BACKBONE, { trainOptions: { ...options, M: 8 } })
    const active = loadActiveModel(db)!
    // Codebooks saw all 400 photos, not only the 16 trained album photos (K = 16 codewords would then memorise them).
    expect(active.params.codebookPhotos).toBeGreaterThan(300)
    const lengths = ['8', '16', '24', '32', '40', '48', '56', '64']
    expect(Object.keys(result.after)).toEqual([...lengths, 'exact'])
    let best = 0
    for (const bits of lengths) {
      // The block check tolerates a fall only as large as the noise of ten held-out photos, and never more than 0.005.
      expect(result.after[bits]!).toBeGreaterThanOrEqual(best - NOISE_ALLOWANCE - 1e-9)
      best = Math.max(best, result.after[bits]!)
    }
    // The model keeps the unsupervised embedding beside the learned one (at a weight chosen on the held-out photos), and survives a reload.
    expect(LIBRARY_DEFAULTS.blendCandidates).toContain(active.model.head.blend?.weight)
    expect(result.smallAlbums).toBeUndefined()
    const reloaded = loadModel(db, active.id)!.model
    expect(Array.from(reloaded.embedFlat([new Float32Array(24).fill(0.3)]))).toEqual(Array.from(active.model.embedFlat([new Float32Array(24).fill(0.3)])))
  })

  it('with albums under 10 photos: the head weighs little beside the unsupervised embedding, and the result says why', async () => {
    // Albums of 5 on two of the four kinds: one held-out photo each, none with an album mate to judge the head by.
    seedLibrary(db, 400, 0)
    albumsOfTwoKinds(db, 5)
    const result = await retrain(db, BACKBONE, { trainOptions: { ...options, M: 8 } })
    expect(result.smallAlbums).toBe(true)
    expect(loadActiveModel(db)!.model.head.blend?.weight).toBe(LIBRARY_DEFAULTS.unjudgedBlend)
    expect(Object.keys(result.after).length).toBeGreaterThan(0)
  })

  it('retrains on albums, measures mAP per code length before and after, and activates the new model', async () => {
    const hashes = seedLibrary(db, 200, 2)
    const { modelId: before } = await ensureCodes(db, BACKBONE, { trainOptions: options })
    const epochs: number[] = []
    const result = await retrain(db, BACKBONE, { trainOptions: options, onProgress: (e) => e.epoch && epochs.push(e.epoch) })
    // Trained without the held-out photos, then again with them: one run of epochs.
    expect(epochs).toEqual(Array.from({ length: 12 }, (_, i) => i + 1))
    expect(result.modelId).not.toBe(before)
    const active = loadActiveModel(db)!
    expect(active).toMatchObject({ id: result.modelId, kind: 'supervised' })
    expect(Object.keys(result.after)).toEqual(['8', '16', '24', '32', 'exact'])
    expect(Object.keys(result.before)).toEqual(['8', '16', '24', '32', 'exact'])
    expect(modelMetrics(db, result.modelId)).toMatchObject({ map: result.after, learned_held_out: true })
    // Album kinds are easy here: the trained codes should find them well.
    expect(result.after['32']).toBeGreaterThan(0.6)
    expect(codesFor(db, result.modelId).hashes).toEqual(hashes)
    // The replaced model's codes are gone; its row stays as history.
    expect(codesFor(db, before!).hashes).toEqual([])

    // Two retrains later only the active and the previous model keep their weights; every row stays.
    const second = await retrain(db, BACKBONE, { trainOptions: { ...options, epochs: 1 } })
    // The previous model learned from these held-out photos: its own measurement on them stands as before.
    expect(second.before).toEqual(result.after)
    expect(second.beforeSeen).toBeUndefined()
    // With another album photo the held-out photos are others, some of which it learned from: no fair before.
    db.prepare('INSERT INTO album_photos (album_id, photo_id, added_at) VALUES (1, 3, ?)').run(Date.now())
    const third = await retrain(db, BACKBONE, { trainOptions: { ...options, epochs: 1 } })
    expect(third.before).toEqual({})
    expect(third.beforeSeen).toBe(true)
    const rows = db.prepare<[], { id: number; kept: number }>('SELECT id, weights IS NOT NULL AS kept FROM models ORDER BY id').all()
    expect(rows).toEqual([
      { id: before, kept: 0 },
      { id: result.modelId, kept: 0 },
      { id: second.modelId, kept: 1 },
      { id: third.modelId, kept: 1 },
    ])
    expect(loadModel(db, second.modelId)!.id).toBe(second.modelId)
    expect(() => loadModel(db, before!)).toThrow(/history only/)
  })

  it('keeps the previous model active and intact when retraining crashes before activation or is cancelled', async () => {
    const hashes = seedLibrary(db, 120, 2)
    const { modelId } = await ensureCodes(db, BACKBONE, { trainOptions: options })
    const saved = codesFor(db, modelId!)

    await expect(
      retrain(db, BACKBONE, {
        trainOptions: options,
        beforeActivate: () => {
          throw new Error('power cut')
        },
      }),
    ).rejects.toThrow('power cut')
    expect(loadActiveModel(db)!.id).toBe(modelId)
    expect(codesFor(db, modelId!)).toEqual(saved)

    const controller = new AbortController()
    const run = retrain(db, BACKBONE, { trainOptions: options, signal: controller.signal, onProgress: (e) => e.epoch === 2 && controller.abort() })
    await expect(run).rejects.toBeInstanceOf(TrainingCancelled)
    expect(loadActiveModel(db)!.id).toBe(modelId)
    expect(codesFor(db, modelId!).hashes).toEqual(hashes)
    // The next retrain clears what the failed attempts left behind.
    const ok = await retrain(db, BACKBONE, { trainOptions: options })
    expect(loadActiveModel(db)!.id).toBe(ok.modelId)
    const models = db.prepare('SELECT id, status, active FROM models ORDER BY id').all()
    expect(models).toEqual([
      { id: modelId, status: 'ready', active: 0 },
      { id: ok.modelId, status: 'ready', active: 1 },
    ])
  })

  it('trains an unsupervised model when only one album has photos', async () => {
    seedLibrary(db, 80, 1)
    const result = await retrain(db, BACKBONE, { trainOptions: options })
    expect(loadActiveModel(db)).toMatchObject({ id: result.modelId, kind: 'unsupervised' })
    expect(Object.keys(result.after)).toContain('32')
  })
})

describe('held-out album photos', () => {
  /** `albums` albums of `perAlbum` photos each, interleaved as hash order would mix them. */
  const library = (albums: number, perAlbum: number): number[][] => Array.from({ length: albums * perAlbum }, (_, i) => [i % albums])

  it('holds out every 5th photo of each album of 3 or more, and a smaller share where that would pass MAX_HELD_OUT', () => {
    const few = holdOutQueries(library(10, 20), 0.2)
    expect(few.size).toBe(40)
    expect([...few].filter((i) => i % 10 === 3)).toHaveLength(4)
    expect(holdOutQueries([[0], [0], [1], [1], [1]], 0.2).size).toBe(0) // albums of 2 and 3: too small for a 5th
    const many = holdOutQueries(library(10, 500), 0.2)
    expect(many.size).toBeLessThanOrEqual(MAX_HELD_OUT)
    expect(many.size).toBeGreaterThan(MAX_HELD_OUT * 0.8)
    // Still spread over every album.
    for (let a = 0; a < 10; a++) expect([...many].filter((i) => i % 10 === a).length).toBeGreaterThan(40)
    expect(holdOutQueries(library(10, 500), 0.2, 10_000).size).toBe(1000)
  })

  it('keeps two held-out photos per album as the share shrinks, so each has an album mate to be judged beside', () => {
    // 300 albums of 12: two each would be 600, past MAX_HELD_OUT; one each would judge nothing.
    const labels = library(300, 12)
    const held = holdOutQueries(labels, 0.2)
    expect(held.size).toBe(MAX_HELD_OUT)
    const perAlbum = new Map<number, number>()
    for (const i of held) perAlbum.set(labels[i][0], (perAlbum.get(labels[i][0]) ?? 0) + 1)
    expect([...perAlbum.values()].every((n) => n === 2)).toBe(true)
    expect(perAlbum.size).toBe(MAX_HELD_OUT / 2)
    // Albums of 5–9 hold out one photo each, as before.
    expect(holdOutQueries(library(20, 7), 0.2).size).toBe(20)
  })
})
