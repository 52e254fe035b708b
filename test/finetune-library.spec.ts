// Deeper fine-tuning in the library: Retrain with finetune 'late' caches each photo's map where the
// tail of the feature's network starts (the region feature: the width-1.4 MobileNetV2's
// expanded_conv_15/add), fine-tunes that network's last blocks with the head, encodes every photo
// through them, and search, new photos and outside images all read the same maps.
// Real JPEGs, the real MobileNetV2 (wasm), a real SQLite file.
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createActivationExtractor, type ActivationExtractor } from '../src/core/modeling/activations.ts'
import { LEGACY_TAIL, mapKey, mapSize, REGION_TAIL, tailWork } from '../src/core/dpq/finetune.ts'
import { libraryFinetunePlan, planFinetune, RETRAIN_BUDGET_SECONDS } from '../src/core/modeling/finetune-plan.ts'
import { tailSpeedFactor } from '../src/core/modeling/finetune-speed.ts'
import { libraryTail, modelInputs, modelTail } from '../src/core/modeling/inputs.ts'
import { ensureCodes } from '../src/core/modeling/codes.ts'
import { loadActiveModel } from '../src/core/modeling/models.ts'
import { retrain } from '../src/core/modeling/retrain.ts'
import { codesFor } from '../src/core/store/codes.ts'
import { createEmbedder } from '../src/core/embed/embedder.ts'
import { indexRoot } from '../src/core/library/indexer.ts'
import { createService, type LookalikeService } from '../src/core/service.ts'
import { activationCount, dequantizeActivation, putActivations, quantizeActivation } from '../src/core/store/activations.ts'
import { addToAlbum, createAlbum } from '../src/core/store/albums.ts'
import { openDb, type Db } from '../src/core/store/db.ts'
import { listPhotos, photoHash } from '../src/core/store/photos.ts'
import type { Embedder } from '../src/core/types.ts'
import type { LibraryEvent } from '../src/shared/types.ts'
import { makePhotos, type MadePhoto } from './fixtures/photos.ts'
import { call, waitFor } from './fixtures/service.ts'

const small = { M: 4, K: 16, D: 16, hidden: 32, batchSize: 16, epochs: 3, seed: 7 }

describe('activation maps as stored', () => {
  it('round-trip through one byte per value within half a step', () => {
    const values = Float32Array.from({ length: mapSize(REGION_TAIL) }, (_, i) => Math.sin(i) * 3 + (i % 7))
    const q = quantizeActivation(values)
    const back = dequantizeActivation(q.lo, q.step, q.data)
    let worst = 0
    for (let i = 0; i < values.length; i++) worst = Math.max(worst, Math.abs(back[i] - values[i]))
    expect(worst).toBeLessThanOrEqual(q.step / 2 + 1e-6)
    expect(() => quantizeActivation(Float32Array.of(Number.NaN))).toThrow(/finite/)
  })
})

describe('the default for deeper fine-tuning', () => {
  const base = { photos: 1000, albumPhotos: 100, missingMaps: 1000, epochs: 30 }
  it('is on with the GPU backend, and on CPU only where it fits the 60 s retraining budget', () => {
    expect(planFinetune({ ...base, backendKind: 'gpu', albumPhotos: 5000 })).toMatchObject({ finetune: 'late', reason: expect.stringMatching(/GPU/) })
    const small = planFinetune({ ...base, backendKind: 'wasm', photos: 200, missingMaps: 200, albumPhotos: 40 })
    expect(small.finetune).toBe('late')
    expect(small.lateSeconds).toBeLessThanOrEqual(RETRAIN_BUDGET_SECONDS)
    const large = planFinetune({ ...base, backendKind: 'cpu', albumPhotos: 2000 })
    expect(large).toMatchObject({ finetune: 'off', reason: expect.stringMatching(/2000 album photos take well over the 60 s/) })
    expect(large.lateSeconds).toBeGreaterThan(RETRAIN_BUDGET_SECONDS)
    // A machine twice as slow as the reference box doubles the estimate.
    expect(planFinetune({ ...base, backendKind: 'wasm', speed: 2 }).lateSeconds).toBeCloseTo(2 * planFinetune({ ...base, backendKind: 'wasm' }).lateSeconds, 0)
    // Maps already cached make it cheaper.
    expect(planFinetune({ ...base, backendKind: 'wasm', missingMaps: 0 }).lateSeconds).toBeLessThan(planFinetune({ ...base, backendKind: 'wasm' }).lateSeconds)
  })
})

describe('the speed of this machine', () => {
  it('is measured once, by the fine-tuned tail itself, as a factor of the reference box', async () => {
    const factor = await tailSpeedFactor()
    expect(factor).toBeGreaterThanOrEqual(0.01)
    expect(factor).toBeLessThanOrEqual(20)
    expect(await tailSpeedFactor()).toBe(factor)
  }, 60_000)
})

describe("retrain with finetune 'late' in a library file", () => {
  let dir: string
  let db: Db
  let embedder: Embedder
  let extractor: ActivationExtractor
  let made: MadePhoto[]
  let backbone: string

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lookalike-finetune-lib-'))
    made = await makePhotos(join(dir, 'photos'), { groups: 3, perGroup: 6, seed: 5 })
    db = openDb(join(dir, 'lib.sqlite'))
    embedder = await createEmbedder({ threads: 0 })
    extractor = await createActivationExtractor()
    backbone = embedder.backboneId
    await indexRoot(db, join(dir, 'photos'), { thumbnailDir: join(dir, 'thumbs'), embedder })
    const ids = new Map(listPhotos(db, { limit: 1000 }).photos.map((p) => [p.relPath, p.id]))
    for (const group of [0, 1]) {
      const album = createAlbum(db, `group ${group}`)
      addToAlbum(db, album.id, made.filter((m) => m.group === group).map((m) => ids.get(m.relPath)!))
    }
    await ensureCodes(db, backbone, { trainOptions: small }) // the first, unsupervised model
  }, 120_000)

  afterAll(async () => {
    extractor?.dispose()
    await embedder?.close()
    db?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('encodes every readable photo through the fine-tuned tail and names the unreadable one', async () => {
    // A file that vanished behind the library's back (no watcher here): reported, the rest carries on.
    const gone = made.find((m) => m.group === 2)!
    const bytes = readFileSync(gone.path)
    rmSync(gone.path)
    const before = loadActiveModel(db)!
    // 12 album photos, 18 photos, no map yet: cheap enough to be the default even on wasm.
    const plan = libraryFinetunePlan(db, backbone, 'wasm', small.epochs)
    expect(plan.finetune).toBe('late')
    // The legacy tail's measured costs, the region tail's map read in the feature's pass (0.86×) and its convs' work.
    const work = tailWork(REGION_TAIL) / tailWork(LEGACY_TAIL)
    expect(plan.lateSeconds).toBeCloseTo(18 * 0.035 * 0.86 + 10 * 3 * 0.015 * work + 18 * 0.004 * work, 1)
    // A map another tail read (a model fine-tuned before the region feature had its own tail).
    const someHash = photoHash(db, listPhotos(db, { limit: 1 }).photos[0].id)!
    putActivations(db, mapKey(backbone, LEGACY_TAIL), [{ hash: someHash, values: new Float32Array(mapSize(LEGACY_TAIL)).fill(1) }])
    const stages = new Set<string>()
    const result = await retrain(db, backbone, { finetune: 'late', activations: extractor, trainOptions: small, onProgress: (e) => e.stage && stages.add(e.stage) })
    expect(result.finetune).toBe('late')
    expect(result.unreadable).toEqual([expect.objectContaining({ file: gone.path, error: expect.stringMatching(/cannot decode/) })])
    expect(stages).toContain('reading activations')
    expect(Object.keys(result.after)).toEqual(expect.arrayContaining(['8', '32', 'exact']))

    const active = loadActiveModel(db)!
    expect(active.id).not.toBe(before.id)
    expect(active.model.finetuned).toBe(true)
    expect(active.params).toMatchObject({ finetune: 'late', kind: 'supervised' })
    expect(codesFor(db, active.id).hashes).toHaveLength(made.length - 1)
    // The maps are the region feature's own network's, keyed so that no other tail reads them.
    expect(libraryTail(backbone)).toBe(REGION_TAIL)
    expect(active.model.head.tail!.spec).toBe(REGION_TAIL)
    expect(activationCount(db, mapKey(backbone, REGION_TAIL))).toBe(made.length - 1)
    expect(modelInputs(db, REGION_TAIL, backbone, [someHash]).get(someHash)).toHaveLength(mapSize(REGION_TAIL) + embedder.dim)
    // The other tail's map went when the fine-tuned model was activated: nothing reads it any more.
    expect(activationCount(db, mapKey(backbone, LEGACY_TAIL))).toBe(0)
    expect(modelInputs(db, LEGACY_TAIL, backbone, [someHash]).size).toBe(0)
    expect(libraryFinetunePlan(db, backbone, 'wasm', small.epochs).lateSeconds).toBeLessThan(plan.lateSeconds) // maps are cached now

    // The stored (one byte per value) map gives the embedding the float map gives.
    const photo = made.find((m) => m.group === 0)!
    const [fresh] = await extractor.fromPhotos([photo.path])
    const hash = photoHash(db, listPhotos(db, { limit: 1000 }).photos.find((p) => p.relPath === photo.relPath)!.id)!
    const stored = modelInputs(db, modelTail(active.model), backbone, [hash]).get(hash)!
    expect(stored).toHaveLength(fresh.length)
    const [a, b] = active.model.embed([fresh, stored])
    const cos = a.reduce((s, v, i) => s + v * b[i], 0) / (Math.hypot(...a) * Math.hypot(...b))
    expect(cos).toBeGreaterThan(0.999)
    writeFileSync(gone.path, bytes) // back for the next test
  }, 240_000)

  it('encodes a photo that lacks a code from its own map, and keeps the old model when a retrain crashes', async () => {
    const active = loadActiveModel(db)!
    // The file is back: the active fine-tuned model encodes it as it would a new photo.
    const done = await ensureCodes(db, backbone, { activations: async () => extractor })
    expect(done).toMatchObject({ modelId: active.id, encoded: 1, failed: [] })
    expect(codesFor(db, active.id).hashes).toHaveLength(made.length)
    expect(activationCount(db, mapKey(backbone, REGION_TAIL))).toBe(made.length)

    await expect(
      retrain(db, backbone, {
        finetune: 'late',
        activations: extractor,
        trainOptions: small,
        beforeActivate: () => {
          throw new Error('power cut')
        },
      }),
    ).rejects.toThrow('power cut')
    expect(loadActiveModel(db)!.id).toBe(active.id)
    expect(activationCount(db, mapKey(backbone, REGION_TAIL))).toBeGreaterThan(0)
  }, 240_000)

  it('a retrain without fine-tuning drops the maps no model reads any more; refuses without albums', async () => {
    await retrain(db, backbone, { trainOptions: small })
    expect(loadActiveModel(db)!.model.finetuned).toBe(false)
    expect(activationCount(db, mapKey(backbone, REGION_TAIL))).toBe(0)
    await expect(retrain(db, backbone, { finetune: 'late', trainOptions: small })).rejects.toThrow(/source of activation maps/)
    db.prepare('DELETE FROM album_photos').run()
    await expect(retrain(db, backbone, { finetune: 'late', activations: extractor, trainOptions: small })).rejects.toThrow(/at least two albums/)
  }, 240_000)
})

describe("the service's Retrain with deeper fine-tuning", () => {
  let dir: string
  let photosDir: string
  let made: MadePhoto[]
  let service: LookalikeService
  const events: LibraryEvent[] = []
  const groupOf = new Map<number, number>()

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lookalike-finetune-service-'))
    photosDir = join(dir, 'photos')
    made = await makePhotos(photosDir, { groups: 3, perGroup: 6, seed: 9 })
    service = await createService({ dbFile: join(dir, 'lib.sqlite'), watch: true, trainOptions: small })
    service.onEvent((e) => events.push(e))
    await call(service, 'addRoot', { path: photosDir })
    await waitFor(() => events.some((e) => e.type === 'model-changed'), 'the first model')
    const group = new Map(made.map((m) => [m.relPath, m.group]))
    for (const p of (await call(service, 'listPhotos', { limit: 1000 })).photos) groupOf.set(p.id, group.get(p.relPath)!)
    for (const g of [0, 1]) {
      const album = await call(service, 'createAlbum', { name: `group ${g}` })
      await call(service, 'addToAlbum', { albumId: album.id, photoIds: [...groupOf].filter(([, x]) => x === g).map(([id]) => id) })
    }
  }, 180_000)

  afterAll(async () => {
    await service?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('plans deeper fine-tuning for this small library on wasm, then trains, reports the mode, and searches by photo, by outside image and for a new photo', async () => {
    expect(await call(service, 'trainPlan', {})).toMatchObject({ finetune: 'late', backend: 'wasm', reason: expect.stringMatching(/fits within the 60 s/) })
    expect(() => call(service, 'train', { finetune: 'deep' as never })).toThrow(/finetune/)
    const from = events.length
    await call(service, 'train', { finetune: 'late' })
    await waitFor(() => events.slice(from).some((e) => e.type === 'train-finished'), 'the fine-tuned model', 240_000)
    const finished = events.slice(from).find((e) => e.type === 'train-finished')
    expect(finished).toMatchObject({ summary: { finetune: 'late' } })
    expect((await call(service, 'status', {})).model).toMatchObject({ kind: 'supervised', finetune: 'late' })

    const [query] = groupOf.keys()
    for (const precision of [8, 32, 'exact'] as const) {
      const answer = await call(service, 'similar', { photoId: query, precision, k: 5 })
      expect(answer.results).toHaveLength(5)
      expect(answer.results.map((r) => r.id)).not.toContain(query)
    }
    const outside = readFileSync(made.find((m) => m.group === 1)!.path).toString('base64')
    const byImage = await call(service, 'similarToImage', { data: outside, precision: 'exact', k: 3 })
    expect(groupOf.get(byImage.results[0].id)).toBe(1)

    // A photo dropped into the watched folder gets its map and a code under the fine-tuned model.
    copyFileSync(made.find((m) => m.group === 2)!.path, join(photosDir, 'group-2', 'new-twin.jpg'))
    let newId: number | undefined
    await waitFor(async () => {
      newId = (await call(service, 'listPhotos', { limit: 1000 })).photos.find((p) => p.relPath === 'group-2/new-twin.jpg')?.id
      return newId !== undefined
    }, 'the new photo to be listed', 60_000)
    await waitFor(async () => {
      const answer = await call(service, 'similar', { photoId: newId!, precision: 32, k: 30 }).catch(() => null)
      return answer !== null && answer.results.length > 0
    }, 'the new photo to be searchable', 60_000)
  }, 360_000)
})
