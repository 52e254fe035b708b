// Upgrading a library in place to a new image feature: a library made the way Lookalike made it
// with the feature it stored before (block 13 of the first MobileNetV2, averaged; index, first
// model, two albums, a supervised retrain) opened with the region feature Lookalike stores now. A real
// SQLite file, JPEGs written by sharp, real tfjs embedders and real DPQ training.
import { createHash } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FEATURE, LEGACY_FEATURE } from '../src/core/embed/backbone.ts'
import { createInProcessEmbedder } from '../src/core/embed/in-process.ts'
import { thumbnailPath } from '../src/core/library/thumbnails.ts'
import { createService, type LookalikeService } from '../src/core/service.ts'
import { openDb } from '../src/core/store/db.ts'
import { featureCounts } from '../src/core/store/features.ts'
import { activeModelBackbone } from '../src/core/store/models.ts'
import type { Embedder } from '../src/core/types.ts'
import type { JobProgress, LibraryEvent } from '../src/shared/types.ts'
import { runCli } from './fixtures/cli.ts'
import { makePhotos, type MadePhoto } from './fixtures/photos.ts'
import { call, waitFor } from './fixtures/service.ts'

const small = { epochs: 3, seed: 7, batchSize: 16 }

/** The first job event of this kind after `from` that matches. */
function jobEvent(events: LibraryEvent[], from: number, kind: JobProgress['kind'], match: (job: JobProgress) => boolean): JobProgress | undefined {
  for (const e of events.slice(from)) if (e.type === 'job' && e.job.kind === kind && match(e.job)) return e.job
  return undefined
}

const ended = (job: JobProgress) => job.state !== 'running' && job.state !== 'queued'

describe('feature upgrade', () => {
  let dir: string
  let dbFile: string
  let made: MadePhoto[]
  let legacy: Embedder
  let next: Embedder
  let service: LookalikeService | null = null
  const events: LibraryEvent[] = []
  /** The old library's model rows, albums and the photo whose content this Lookalike cannot decode. */
  const before = { models: [] as number[], supervised: 0, albums: [] as { name: string; photos: number }[], members: [] as unknown[], undecodable: '' }
  let groupOf: Map<number, number>

  const open = async (embedder: Embedder) => {
    service = await createService({ dbFile, embedder, watch: false, trainOptions: small, upgradeBatch: 4 })
    service.onEvent((e) => events.push(e))
    return service
  }
  const close = async () => {
    await service?.close()
    service = null
  }
  const modelRows = () => {
    const db = openDb(dbFile)
    try {
      return {
        ids: db.prepare<[], { id: number }>('SELECT id FROM models ORDER BY id').all().map((r) => r.id),
        active: activeModelBackbone(db),
        features: featureCounts(db),
        members: db.prepare('SELECT album_id, photo_id FROM album_photos ORDER BY album_id, photo_id').all(),
      }
    } finally {
      db.close()
    }
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lookalike-upgrade-'))
    dbFile = join(dir, 'lib.sqlite')
    const photosDir = join(dir, 'photos')
    made = await makePhotos(photosDir, { groups: 2, perGroup: 6, size: 96, seed: 5 })
    legacy = await createInProcessEmbedder({ feature: LEGACY_FEATURE }) // the feature libraries held before the region feature
    next = await createInProcessEmbedder({ feature: FEATURE })

    // The library as Lookalike made it before the region feature: indexed, a first model, two albums, a retrain on them.
    const old = await open(legacy)
    await call(old, 'addRoot', { path: photosDir })
    await waitFor(() => events.some((e) => e.type === 'model-changed'), 'the first model')
    const { photos } = await call(old, 'listPhotos', { sort: 'name', limit: 100 })
    const groupByPath = new Map(made.map((m) => [m.relPath, m.group]))
    groupOf = new Map(photos.map((p) => [p.id, groupByPath.get(p.relPath)!]))
    for (const group of [0, 1]) {
      const album = await call(old, 'createAlbum', { name: `group ${group}` })
      await call(old, 'addToAlbum', { albumId: album.id, photoIds: [...groupOf].filter(([, g]) => g === group).map(([id]) => id) })
    }
    const from = events.length
    const { jobId } = await call(old, 'train', { finetune: 'off' })
    await waitFor(() => !!jobEvent(events, from, 'train', (j) => j.jobId === jobId && ended(j)), 'the retrain')
    const status = await call(old, 'status', {})
    expect(status.model).toMatchObject({ kind: 'supervised', albums: 2 })
    before.supervised = status.model!.id
    before.albums = (await call(old, 'listAlbums', {})).map(({ name, photos }) => ({ name, photos }))
    await close()
    ;({ ids: before.models, members: before.members } = modelRows())

    // One photo an older decoder read and this one cannot (as when libvips builds differ in the
    // formats they read): its file holds bytes that do not decode, and its row, feature, code and
    // thumbnail were written for exactly those bytes.
    const victim = made.find((m) => m.group === 1)!
    const db = openDb(dbFile)
    try {
      const oldHash = createHash('sha256').update(readFileSync(victim.path)).digest('hex')
      const bytes = Buffer.from('a photo format this build of the decoder does not read')
      writeFileSync(victim.path, bytes)
      const hash = createHash('sha256').update(bytes).digest('hex')
      const { size, mtimeMs } = statSync(victim.path)
      db.prepare('UPDATE photos SET hash = ?, size = ?, mtime_ms = ? WHERE hash = ?').run(hash, size, Math.floor(mtimeMs), oldHash)
      for (const table of ['features', 'codes']) db.prepare(`UPDATE ${table} SET hash = ? WHERE hash = ?`).run(hash, oldHash)
      mkdirSync(dirname(thumbnailPath(`${dbFile}.thumbnails`, hash)), { recursive: true })
      renameSync(thumbnailPath(`${dbFile}.thumbnails`, oldHash), thumbnailPath(`${dbFile}.thumbnails`, hash))
    } finally {
      db.close()
    }
    before.undecodable = victim.path
  })

  afterAll(async () => {
    await close()
    await legacy?.close()
    await next?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('the two embedders compute different features, so the stored ones carry different backbone ids', () => {
    expect(next.backboneId).not.toBe(legacy.backboneId)
    expect(modelRows()).toMatchObject({ active: { backbone: legacy.backboneId, kind: 'supervised' }, features: [{ backbone: legacy.backboneId, count: 12 }] })
    expect(before.models).toHaveLength(2) // the first model and the retrained one
  })

  it('opened with the new feature: an upgrade job with progress; cancelled after a batch, search still answers with the old model', async () => {
    const from = events.length
    const upgraded = await open(next)
    // Cancel as soon as the first batch is written: the job stops before the next one.
    const off = upgraded.onEvent((e) => {
      if (e.type === 'job' && e.job.kind === 'upgrade' && e.job.state === 'running' && e.job.done > 0) void upgraded.cancelJob({ jobId: e.job.jobId })
    })
    await waitFor(() => !!jobEvent(events, from, 'upgrade', ended), 'the upgrade job to stop')
    off()
    const stopped = jobEvent(events, from, 'upgrade', ended)!
    expect(stopped).toMatchObject({ state: 'cancelled', total: 12 })
    expect(jobEvent(events, from, 'upgrade', (j) => j.state === 'running' && j.done === 4 && j.total === 12)).toBeDefined()

    const status = await call(upgraded, 'status', {})
    expect(status.model).toMatchObject({ id: before.supervised, kind: 'supervised' })
    // Photos with the new feature, of all: the one that does not decode leaves the count once its batch marked it failed.
    expect(status.upgrade).toMatchObject({ jobId: null, retrain: true })
    expect(status.upgrade!.total).toBeGreaterThanOrEqual(11)
    expect(status.upgrade!.done).toBeGreaterThanOrEqual(3)
    expect(status.upgrade!.done).toBeLessThan(11)
    expect(status.jobs.find((j) => j.kind === 'upgrade')).toMatchObject({ state: 'cancelled' })

    // By photo, within an album, by an outside image: all with the old model, its codes and features.
    const [query] = groupOf.keys()
    const similar = await call(upgraded, 'similar', { photoId: query, precision: 'exact', k: 5 })
    expect(similar.results).toHaveLength(5)
    expect(similar.results.filter((r) => groupOf.get(r.id) === groupOf.get(query)).length).toBeGreaterThanOrEqual(4)
    const [album] = await call(upgraded, 'listAlbums', {})
    const members = new Set((await call(upgraded, 'listPhotos', { albumId: album.id })).photos.map((p) => p.id))
    const inAlbum = await call(upgraded, 'similar', { photoId: query, precision: 16, k: 20, filter: { albumId: album.id } })
    expect(inAlbum.results.length).toBeGreaterThan(0)
    expect(inAlbum.results.every((r) => members.has(r.id))).toBe(true)
    const image = readFileSync(made.find((m) => m.group === 0)!.path).toString('base64')
    const byImage = await call(upgraded, 'similarToImage', { data: image, precision: 'exact', k: 3 })
    expect(byImage.results.map((r) => groupOf.get(r.id))).toEqual([0, 0, 0])

    // A Retrain meanwhile improves the model search uses, on the feature it reads: here a deeper
    // fine-tuning, whose searches by image read the old feature beside the activation map.
    const trainFrom = events.length
    const { jobId } = await call(upgraded, 'train', { finetune: 'late' })
    await waitFor(() => !!jobEvent(events, trainFrom, 'train', (j) => j.jobId === jobId && ended(j)), 'the retrain during the upgrade', 240_000)
    expect(jobEvent(events, trainFrom, 'train', ended)).toMatchObject({ state: 'done' })
    expect((await call(upgraded, 'status', {})).model).toMatchObject({ kind: 'supervised', finetune: 'late' })
    expect(modelRows().active).toMatchObject({ backbone: legacy.backboneId })
    const fineTuned = await call(upgraded, 'similarToImage', { data: image, precision: 'exact', k: 3 })
    expect(fineTuned.results.map((r) => groupOf.get(r.id))).toEqual([0, 0, 0])
    expect((await call(upgraded, 'similar', { photoId: query, precision: 32, k: 5 })).results).toHaveLength(5)
    await close()
    const models = modelRows().ids
    expect(models).toEqual([...before.models, expect.any(Number)])
    before.models = models
    // `lookalike status` says so too, from a process that computes no feature itself.
    const cli = runCli(['status', '--db', dbFile, '--json'])
    expect(cli.code, cli.stderr).toBe(0)
    expect(JSON.parse(cli.stdout).upgrade).toMatchObject({ done: status.upgrade!.done, jobId: null, retrain: true })
  })

  it('reopened: carries on with the photos still missing the feature, searching meanwhile, then switches and retrains on the albums', async () => {
    const featuresBefore = modelRows().features.find((f) => f.backbone === next.backboneId)!.count
    const from = events.length
    const upgraded = await open(next)
    const [query] = groupOf.keys()
    expect((await call(upgraded, 'similar', { photoId: query, k: 5 })).results).toHaveLength(5)

    await waitFor(() => !!jobEvent(events, from, 'upgrade', ended), 'the upgrade to finish', 240_000)
    const job = jobEvent(events, from, 'upgrade', ended)!
    expect(job.state).toBe('done')
    // It carried on where the last session stopped: its count never went back below what was written then.
    const progress = events.slice(from).flatMap((e) => (e.type === 'job' && e.job.kind === 'upgrade' && e.job.state === 'running' && !e.job.stage ? [e.job] : []))
    expect(progress.length).toBeGreaterThan(0)
    expect(Math.min(...progress.map((p) => p.done))).toBeGreaterThanOrEqual(featuresBefore)
    // The photo that does not decode is reported and skipped; the switch did not wait for it.
    const failures = await call(upgraded, 'listFailures', {})
    expect(failures).toEqual([{ id: expect.any(Number), path: before.undecodable, reason: 'not an image (looks like text)' }])

    const switched = events.slice(from).find((e) => e.type === 'model-changed')
    expect(switched).toMatchObject({ model: { kind: 'unsupervised' } })
    // The replaced model had learned from the albums: a Retrain on them follows by itself.
    await waitFor(() => !!jobEvent(events, from, 'train', ended), 'the retrain on the albums', 240_000)
    expect(jobEvent(events, from, 'train', ended)).toMatchObject({ state: 'done' })
    await waitFor(() => events.slice(from).filter((e) => e.type === 'model-changed').length >= 2, 'the retrained model')

    const status = await call(upgraded, 'status', {})
    expect(status.upgrade).toBeUndefined()
    expect(status.model).toMatchObject({ kind: 'supervised', albums: 2 })
    expect(status.failed).toBe(1)
    const rows = modelRows()
    expect(rows.active).toMatchObject({ backbone: next.backboneId, kind: 'supervised' })
    expect(rows.ids.slice(0, before.models.length)).toEqual(before.models) // the history stays
    expect(rows.ids.length).toBe(before.models.length + 2) // the switch's model and the retrained one
    // Every album keeps every photo (the one that no longer decodes is not shown, so not counted).
    expect(rows.members).toEqual(before.members)
    const albums = (await call(upgraded, 'listAlbums', {})).map(({ name, photos }) => ({ name, photos }))
    expect(albums).toEqual([before.albums[0], { ...before.albums[1], photos: before.albums[1].photos - 1 }])

    // Search answers with the new model, by photo and by image (the new feature now).
    const similar = await call(upgraded, 'similar', { photoId: query, precision: 'exact', k: 4 })
    expect(similar.results.filter((r) => groupOf.get(r.id) === groupOf.get(query)).length).toBeGreaterThanOrEqual(3)
    const image = readFileSync(made.find((m) => m.group === 1 && m.path !== before.undecodable)!.path).toString('base64')
    const byImage = await call(upgraded, 'similarToImage', { data: image, precision: 'exact', k: 3 })
    expect(byImage.results.map((r) => groupOf.get(r.id))).toEqual([1, 1, 1])
  })

  it('after the switch the old feature is garbage: status counts it, vacuum removes it', async () => {
    const upgraded = service!
    const { storage } = await call(upgraded, 'status', { storage: true })
    // Twelve contents had the old feature (the undecodable one too); eleven have the new one.
    expect(storage!.orphans).toEqual({ thumbnails: 0, features: 12, activations: 0, codes: 0 })
    const result = await call(upgraded, 'vacuum', {})
    expect(result.removed).toEqual({ thumbnails: 0, features: 12, activations: 0, codes: 0 })
    expect((await call(upgraded, 'status', { storage: true })).storage!.orphans).toEqual({ thumbnails: 0, features: 0, activations: 0, codes: 0 })
    expect(modelRows().features).toEqual([{ backbone: next.backboneId, count: 11, dim: next.dim }])
  })
})
