// The service end to end on a small fixture folder: a real SQLite file, JPEGs written by sharp,
// the real MobileNetV2 backbone (wasm) and real DPQ training.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createService, type LookalikeService } from '../src/core/service.ts'
import { parseInput, type Input, type Method, type Output } from '../src/shared/contract.ts'
import type { JobProgress, LibraryEvent } from '../src/shared/types.ts'
import { makePhotos, type MadePhoto } from './fixtures/photos.ts'

/** Calls the service the way every transport does: input parsed by the contract first. */
function call<M extends Method>(service: LookalikeService, method: M, input: Input<M>): Promise<Output<M>> {
  const fn = service[method] as (input: unknown) => Promise<Output<M>>
  return fn.call(service, parseInput(method, input))
}

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
