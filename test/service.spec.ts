// The service end to end on a small fixture folder: a real SQLite file, JPEGs written by sharp,
// the real MobileNetV2 backbone (wasm) and real DPQ training.
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createService, type LookalikeService } from '../src/core/service.ts'
import type { JobProgress, LibraryEvent } from '../src/shared/types.ts'
import { openDb } from '../src/core/store/db.ts'
import { startJob } from '../src/core/store/jobs.ts'
import { addRoot } from '../src/core/store/roots.ts'
import { makePhotos, type MadePhoto } from './fixtures/photos.ts'
import { call, waitFor } from './fixtures/service.ts'

function nextJobEnd(events: LibraryEvent[], kind: JobProgress['kind'], after = 0, ms = 120_000): Promise<JobProgress> {
  const end = Date.now() + ms
  return new Promise((resolve, reject) => {
    const tick = () => {
      const found = events.slice(after).find((e) => e.type === 'job' && e.job.kind === kind && e.job.state !== 'running' && e.job.state !== 'queued')
      if (found && found.type === 'job') return resolve(found.job)
      if (Date.now() > end) return reject(new Error(`no end of a ${kind} job within ${ms} ms`))
      setTimeout(tick, 25)
    }
    tick()
  })
}

describe('service', () => {
  let dir: string
  let photosDir: string
  let made: MadePhoto[]
  let service: LookalikeService
  const events: LibraryEvent[] = []

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lookalike-service-'))
    photosDir = join(dir, 'photos')
    made = await makePhotos(photosDir, { groups: 3, perGroup: 6, size: 96 })
    service = await createService({ dbFile: join(dir, 'lib.sqlite'), watch: false, trainOptions: { epochs: 4, seed: 7 } })
    service.onEvent((e) => events.push(e))
  })

  afterAll(async () => {
    await service?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('adds a folder: an index job reports progress, then every photo is listed with its thumbnail', async () => {
    const root = await call(service, 'addRoot', { path: photosDir })
    expect(root.path).toBe(photosDir)
    const job = await nextJobEnd(events, 'index')
    expect(job).toMatchObject({ state: 'done', done: made.length, total: made.length })
    const progress = events.filter((e) => e.type === 'job' && e.job.kind === 'index' && e.job.state === 'running')
    expect(progress.length).toBeGreaterThan(1)
    expect(events.some((e) => e.type === 'library-changed')).toBe(true)

    const listed = await call(service, 'listPhotos', { sort: 'name' })
    expect(listed.total).toBe(made.length)
    expect(listed.photos.map((p) => p.relPath)).toEqual(made.map((m) => m.relPath).sort())
    const status = await call(service, 'status', {})
    expect(status).toMatchObject({ photos: made.length, failed: 0, roots: [{ path: photosDir, photos: made.length }] })
    expect(status.backend).toBe('wasm')

    const first = listed.photos[0]
    const thumb = await service.imageFile(first.id, 'thumb')
    expect(thumb.startsWith(join(dir, 'lib.sqlite.thumbnails'))).toBe(true)
    expect(await service.imageFile(first.id, 'full')).toBe(join(photosDir, first.relPath))
    await expect(service.imageFile(99_999, 'full')).rejects.toMatchObject({ code: 'not-found' })
    // Nothing is ever written into the photo folders.
    expect(readdirSync(photosDir).sort()).toEqual(['group-0', 'group-1', 'group-2'])
  })

  it('refuses bad folders with a clear error', async () => {
    await expect(call(service, 'addRoot', { path: join(dir, 'nope') })).rejects.toMatchObject({ code: 'bad-request', message: expect.stringMatching(/does not exist/) })
    await expect(call(service, 'addRoot', { path: join(photosDir, 'group-0') })).rejects.toMatchObject({ code: 'conflict' })
  })

  it('albums: create, rename, add and remove photos, delete', async () => {
    const { photos } = await call(service, 'listPhotos', { sort: 'name' })
    const album = await call(service, 'createAlbum', { name: ' Red things ' })
    expect(album).toMatchObject({ name: 'Red things', photos: 0 })
    await expect(call(service, 'createAlbum', { name: 'Red things' })).rejects.toMatchObject({ code: 'conflict', message: expect.stringMatching(/already exists/) })
    const renamed = await call(service, 'renameAlbum', { id: album.id, name: 'Reds' })
    expect(renamed.name).toBe('Reds')
    const added = await call(service, 'addToAlbum', { albumId: album.id, photoIds: [photos[0].id, photos[1].id] })
    expect(added.photos).toBe(2)
    expect((await call(service, 'getPhoto', { id: photos[0].id })).albums).toEqual([album.id])
    expect((await call(service, 'listPhotos', { albumId: album.id })).total).toBe(2)
    const removed = await call(service, 'removeFromAlbum', { albumId: album.id, photoIds: [photos[0].id] })
    expect(removed.photos).toBe(1)
    await expect(call(service, 'addToAlbum', { albumId: album.id, photoIds: [424242] })).rejects.toMatchObject({ code: 'not-found' })
    await call(service, 'deleteAlbum', { id: album.id })
    expect(await call(service, 'listAlbums', {})).toEqual([])
    await expect(call(service, 'deleteAlbum', { id: album.id })).rejects.toMatchObject({ code: 'not-found' })
  })
})

describe('service search and retrain', () => {
  let dir: string
  let photosDir: string
  let made: MadePhoto[]
  let service: LookalikeService
  const events: LibraryEvent[] = []
  let groupOf: Map<number, number>

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lookalike-search-'))
    photosDir = join(dir, 'photos')
    made = await makePhotos(photosDir, { groups: 3, perGroup: 8, size: 96, seed: 3 })
    service = await createService({ dbFile: join(dir, 'lib.sqlite'), watch: true, trainOptions: { epochs: 3, seed: 7, batchSize: 16 } })
    service.onEvent((e) => events.push(e))
    await call(service, 'addRoot', { path: photosDir })
    await waitFor(() => events.some((e) => e.type === 'model-changed'), 'the first model')
    const { photos } = await call(service, 'listPhotos', { sort: 'name', limit: 1000 })
    const groupByPath = new Map(made.map((m) => [m.relPath, m.group]))
    groupOf = new Map(photos.map((p) => [p.id, groupByPath.get(p.relPath)!]))
  })

  afterAll(async () => {
    await service?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('gets a first (unsupervised) model once indexing settles, without any album', async () => {
    const status = await call(service, 'status', {})
    expect(status.model).toMatchObject({ kind: 'unsupervised' })
    expect(status.jobs.some((j) => j.kind === 'encode' && j.state === 'done')).toBe(true)
  })

  it('similar: ranks the library at every precision, never returns the query, reports the time', async () => {
    const [query] = groupOf.keys()
    for (const precision of [8, 32, 64, 'exact'] as const) {
      const answer = await call(service, 'similar', { photoId: query, precision, k: 10 })
      expect(answer.precision).toBe(precision)
      expect(answer.results).toHaveLength(10)
      expect(answer.results.map((r) => r.id)).not.toContain(query)
      expect(answer.ms).toBeGreaterThanOrEqual(0)
      const scores = answer.results.map((r) => r.score)
      expect(scores).toEqual([...scores].sort((a, b) => b - a))
    }
    // The fixture's groups look alike: most of the 7 nearest photos share the query's group.
    const exact = await call(service, 'similar', { photoId: query, precision: 'exact', k: 7 })
    const same = exact.results.filter((r) => groupOf.get(r.id) === groupOf.get(query)).length
    expect(same).toBeGreaterThanOrEqual(5)

    const inRoot = await call(service, 'similar', { photoId: query, k: 5, filter: { rootId: 999 } })
    expect(inRoot.results).toEqual([])
    await expect(call(service, 'similar', { photoId: 99_999 })).rejects.toMatchObject({ code: 'not-found' })
  })

  it('similarToImage: an outside image finds its look-alikes; garbage gets a clear error', async () => {
    const bytes = readFileSync(made.find((m) => m.group === 1)!.path)
    const answer = await call(service, 'similarToImage', { data: bytes.toString('base64'), precision: 'exact', k: 5 })
    expect(answer.results).toHaveLength(5)
    expect(groupOf.get(answer.results[0].id)).toBe(1)
    await expect(call(service, 'similarToImage', { data: Buffer.from('not an image at all').toString('base64') })).rejects.toMatchObject({
      code: 'bad-request',
      message: expect.stringMatching(/Not an image/),
    })
    await expect(call(service, 'similarToImage', { data: '***' })).rejects.toMatchObject({ code: 'bad-request', message: expect.stringMatching(/base64/) })
    // Within the contract's 90 M characters of base64, but over 64 MB of file.
    await expect(call(service, 'similarToImage', { data: 'A'.repeat(89_600_000) })).rejects.toMatchObject({ code: 'bad-request', message: expect.stringMatching(/too large.*64 MB/) })
  })

  it('precisionInfo: measured latency for every setting', async () => {
    const info = await call(service, 'precisionInfo', {})
    expect(info.map((i) => i.precision)).toEqual([8, 16, 24, 32, 40, 48, 56, 64, 'exact'])
    for (const row of info) expect(row.ms).toBeGreaterThanOrEqual(0)
  })

  it('train: refused without albums, then a job with epochs and losses that hands over a new model', async () => {
    await expect(call(service, 'train', {})).rejects.toMatchObject({ code: 'bad-request', message: 'Retrain needs 2 more albums with at least 5 photos' })
    const before = (await call(service, 'status', {})).model!
    for (const group of [0, 1]) {
      const album = await call(service, 'createAlbum', { name: `group ${group}` })
      const ids = [...groupOf].filter(([, g]) => g === group).map(([id]) => id)
      await call(service, 'addToAlbum', { albumId: album.id, photoIds: ids })
    }
    const from = events.length
    const { jobId } = await call(service, 'train', {})
    await expect(call(service, 'train', {})).rejects.toMatchObject({ code: 'conflict' })
    const job = await nextJobEnd(events, 'train', from)
    expect(job).toMatchObject({ jobId, state: 'done' })
    const progress = events.slice(from).flatMap((e) => (e.type === 'job' && e.job.jobId === jobId && e.job.state === 'running' ? [e.job] : []))
    expect(progress.some((p) => p.epoch !== undefined && p.loss && Object.keys(p.loss).length > 0)).toBe(true)
    const changed = events.slice(from).find((e) => e.type === 'model-changed')
    expect(changed).toMatchObject({ model: { kind: 'supervised' } })
    const finished = events.slice(from).find((e) => e.type === 'train-finished')
    expect(finished).toBeDefined()
    if (finished?.type === 'train-finished') expect(Object.keys(finished.summary.after)).toContain('8')

    const after = (await call(service, 'status', {})).model!
    expect(after.id).not.toBe(before.id)
    const [query] = groupOf.keys()
    const answer = await call(service, 'similar', { photoId: query, precision: 16, k: 5 })
    expect(answer.results).toHaveLength(5)
    const info = await call(service, 'precisionInfo', {})
    expect(info.some((i) => i.map !== null)).toBe(true)

    // Restricted to an album: only its photos come back.
    const [album] = await call(service, 'listAlbums', {})
    const members = new Set((await call(service, 'listPhotos', { albumId: album.id })).photos.map((p) => p.id))
    const inAlbum = await call(service, 'similar', { photoId: query, precision: 'exact', k: 20, filter: { albumId: album.id } })
    expect(inAlbum.results.length).toBeGreaterThan(0)
    expect(inAlbum.results.every((r) => members.has(r.id))).toBe(true)
    await expect(call(service, 'similar', { photoId: query, filter: { albumId: 4242 } })).rejects.toMatchObject({ code: 'not-found' })
  })

  it('a photo dropped into a watched folder is indexed, encoded and found without a reload', async () => {
    const twin = made.find((m) => m.group === 2)!
    copyFileSync(twin.path, join(photosDir, 'group-2', 'new-twin.jpg'))
    let newId: number | undefined
    await waitFor(() => {
      void call(service, 'listPhotos', { sort: 'name', limit: 1000 }).then(({ photos }) => (newId = photos.find((p) => p.relPath === 'group-2/new-twin.jpg')?.id))
      return newId !== undefined
    }, 'the new photo to be listed', 60_000)
    const twinId = [...groupOf.keys()].find((id) => groupOf.get(id) === 2)!
    let hit = false
    await waitFor(() => {
      void call(service, 'similar', { photoId: twinId, precision: 64, k: 30 }).then((a) => (hit = a.results.some((r) => r.id === newId)))
      return hit
    }, 'the new photo to be searchable', 30_000)

    // Deleted from disk: it leaves the library and the search results.
    rmSync(join(photosDir, 'group-2', 'new-twin.jpg'))
    await waitFor(() => {
      void call(service, 'similar', { photoId: twinId, precision: 64, k: 30 }).then((a) => (hit = a.results.some((r) => r.id === newId)))
      return !hit
    }, 'the deleted photo to leave the results', 30_000)
    await expect(call(service, 'getPhoto', { id: newId! })).rejects.toMatchObject({ code: 'not-found' })
  })

  it('train can be cancelled and leaves the active model in place', async () => {
    const before = (await call(service, 'status', {})).model!
    const from = events.length
    const { jobId } = await call(service, 'train', {})
    await call(service, 'cancelJob', { jobId })
    const job = await nextJobEnd(events, 'train', from)
    expect(job.state).toBe('cancelled')
    expect((await call(service, 'status', {})).model!.id).toBe(before.id)
  })
})

describe('service start-up', () => {
  it('carries on an index job whose process died', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lookalike-resume-'))
    try {
      const photosDir = join(dir, 'photos')
      const made = await makePhotos(photosDir, { groups: 2, perGroup: 3, size: 64 })
      const dbFile = join(dir, 'lib.sqlite')
      const db = openDb(dbFile)
      const root = addRoot(db, photosDir)
      // What a killed indexer leaves: a 'running' job row of a process that no longer exists.
      const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString()
      startJob(db, 'index', { root: root.path, pid: Number(dead) })
      db.close()

      const service = await createService({ dbFile, embedder: null, watch: false })
      const events: LibraryEvent[] = []
      service.onEvent((e) => events.push(e))
      try {
        await nextJobEnd(events, 'index', 0, 60_000)
        expect((await call(service, 'listPhotos', {})).total).toBe(made.length)
      } finally {
        await service.close()
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('cancelJob stops an index job; the photos written so far stay, cancelling an ended job changes nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lookalike-cancel-'))
    const service = await createService({ dbFile: join(dir, 'lib.sqlite'), embedder: null, watch: false })
    try {
      const made = await makePhotos(join(dir, 'photos'), { groups: 2, perGroup: 20, size: 64 })
      const events: LibraryEvent[] = []
      service.onEvent((e) => {
        events.push(e)
        if (e.type === 'job' && e.job.kind === 'index' && e.job.state === 'running' && events.filter((x) => x.type === 'job').length === 1) {
          void call(service, 'cancelJob', { jobId: e.job.jobId })
        }
      })
      await call(service, 'addRoot', { path: join(dir, 'photos') })
      const job = await nextJobEnd(events, 'index', 0, 60_000)
      expect(job.state).toBe('cancelled')
      expect((await call(service, 'listPhotos', {})).total).toBeLessThan(made.length)
      await call(service, 'cancelJob', { jobId: job.jobId })
      expect((await call(service, 'status', {})).jobs.find((j) => j.jobId === job.jobId)?.state).toBe('cancelled')
      await expect(call(service, 'cancelJob', { jobId: 4242 })).rejects.toMatchObject({ code: 'not-found' })
    } finally {
      await service.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('removing a folder stops its index job and forgets its photos', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lookalike-remove-'))
    const service = await createService({ dbFile: join(dir, 'lib.sqlite'), embedder: null, watch: false })
    try {
      await makePhotos(join(dir, 'photos'), { groups: 2, perGroup: 4, size: 64 })
      const root = await call(service, 'addRoot', { path: join(dir, 'photos') })
      await call(service, 'removeRoot', { id: root.id })
      await expect(call(service, 'removeRoot', { id: root.id })).rejects.toMatchObject({ code: 'not-found' })
      expect(await call(service, 'listRoots', {})).toEqual([])
      expect((await call(service, 'listPhotos', {})).total).toBe(0)
    } finally {
      await service.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
