import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { StoreError } from '../src/core/store/errors.ts'
import { openDb, type Db } from '../src/core/store/db.ts'
import { addRoot, findRoot, listRoots, removeRoot } from '../src/core/store/roots.ts'
import { addToAlbum, albumLabels, createAlbum, deleteAlbum, listAlbums, removeFromAlbum, renameAlbum } from '../src/core/store/albums.ts'
import { featuresFor, getFeature, hashesWithoutFeature, putFeatures } from '../src/core/store/features.ts'
import { getPhoto, listFolders, listPhotos, photoFile } from '../src/core/store/photos.ts'
import { cancelJob, getJob, jobProgress, unfinishedJobs } from '../src/core/store/jobs.ts'
import { JobCancelled, runJob } from '../src/core/jobs/run.ts'
import { indexRoot } from '../src/core/library/indexer.ts'
import { importFolderAlbums } from '../src/core/library/folder-albums.ts'
import { makePhotos } from './fixtures/photos.ts'

const dirs: string[] = []
const dbs: Db[] = []
afterEach(() => {
  dbs.splice(0).forEach((db) => db.close())
  dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true }))
})
function setup() {
  const base = mkdtempSync(join(tmpdir(), 'lookalike-store-'))
  dirs.push(base)
  const db = openDb(join(base, 'lib.sqlite'))
  dbs.push(db)
  return { base, db, thumbnailDir: join(base, 'thumbs') }
}

async function expectStoreError(fn: () => unknown, code: string, message: RegExp) {
  let caught: unknown
  try {
    await fn()
  } catch (err) {
    caught = err
  }
  expect(caught).toBeInstanceOf(StoreError)
  expect((caught as StoreError).code).toBe(code)
  expect((caught as StoreError).message).toMatch(message)
}

describe('roots', () => {
  it('stores real absolute paths and refuses missing, non-folder and overlapping roots', async () => {
    const { base, db } = setup()
    mkdirSync(join(base, 'a', 'inner'), { recursive: true })
    symlinkSync(join(base, 'a'), join(base, 'link-to-a'))
    const root = addRoot(db, join(base, 'a', '..', 'a'))
    expect(root).toEqual({ id: root.id, path: join(base, 'a'), photos: 0 })
    expect(addRoot(db, join(base, 'link-to-a')).id).toBe(root.id) // same folder, other spelling
    expect(findRoot(db, join(base, 'link-to-a'))?.id).toBe(root.id)
    await expectStoreError(() => addRoot(db, join(base, 'missing')), 'bad-request', /does not exist/)
    await expectStoreError(() => addRoot(db, join(base, 'lib.sqlite')), 'bad-request', /Not a folder/)
    await expectStoreError(() => addRoot(db, join(base, 'a', 'inner')), 'conflict', /already in the library, inside/)
    await expectStoreError(() => addRoot(db, base), 'conflict', /contains/)
    removeRoot(db, root.id)
    expect(listRoots(db)).toEqual([])
    await expectStoreError(() => removeRoot(db, root.id), 'not-found', /No library folder/)
  })
})

describe('photos, folders and albums', () => {
  it('lists, filters, sorts and resolves photos; albums give training labels by content', async () => {
    const { base, db, thumbnailDir } = setup()
    const photos = join(base, 'photos')
    const made = await makePhotos(photos, { groups: 3, perGroup: 3 })
    const root = addRoot(db, photos)
    await indexRoot(db, root.id, { thumbnailDir })

    const byName = listPhotos(db, { sort: 'name', limit: 4, offset: 2 })
    expect(byName.total).toBe(9)
    expect(byName.photos.map((p) => p.relPath)).toEqual(made.map((m) => m.relPath).sort().slice(2, 6))
    const byDate = listPhotos(db, { sort: 'date' }).photos.map((p) => p.takenAt)
    expect(byDate).toEqual([...byDate].sort((a, b) => b - a))
    expect(listPhotos(db, { rootId: root.id, folder: 'group-1' }).photos.map((p) => p.relPath)).toEqual(made.filter((m) => m.group === 1).map((m) => m.relPath).reverse())
    expect(listFolders(db, root.id)).toEqual([
      { path: 'group-0', photos: 3 },
      { path: 'group-1', photos: 3 },
      { path: 'group-2', photos: 3 },
    ])
    const first = listPhotos(db, { sort: 'name', limit: 1 }).photos[0]
    expect(photoFile(db, first.id)).toBe(join(photos, first.relPath))
    // A row that would resolve outside its root is never served.
    db.prepare('UPDATE photos SET rel_path = ? WHERE id = ?').run('../../etc/passwd', first.id)
    await expectStoreError(() => photoFile(db, first.id), 'not-found', /outside its library folder/)
    db.prepare('UPDATE photos SET rel_path = ? WHERE id = ?').run(first.relPath, first.id)
    await expectStoreError(() => getPhoto(db, 9999), 'not-found', /No photo/)

    const imported = importFolderAlbums(db)
    expect(imported.map((i) => [i.album.name, i.album.photos, i.added])).toEqual([
      ['group-0', 3, 3],
      ['group-1', 3, 3],
      ['group-2', 3, 3],
    ])
    expect(importFolderAlbums(db).every((i) => i.added === 0)).toBe(true)

    const pets = createAlbum(db, '  Pets ')
    expect(pets).toMatchObject({ name: 'Pets', photos: 0 })
    await expectStoreError(() => createAlbum(db, 'Pets'), 'conflict', /already exists/)
    await expectStoreError(() => renameAlbum(db, pets.id, 'group-1'), 'conflict', /already exists/)
    await expectStoreError(() => addToAlbum(db, pets.id, [1, 424242]), 'not-found', /424242/)
    expect(listAlbums(db).find((a) => a.id === pets.id)!.photos).toBe(0) // all or nothing
    const [a, b] = listPhotos(db, { sort: 'name', folder: 'group-2', rootId: root.id }).photos
    expect(addToAlbum(db, pets.id, [a.id, b.id, a.id]).photos).toBe(2)
    expect(getPhoto(db, a.id).albums.sort()).toEqual([imported[2].album.id, pets.id].sort())
    expect(renameAlbum(db, pets.id, 'Animals').name).toBe('Animals')
    expect(removeFromAlbum(db, pets.id, [b.id]).photos).toBe(1)

    const labels = albumLabels(db)
    expect(labels.get(getPhoto(db, a.id).hash!)).toEqual([imported[2].album.id, pets.id].sort((x, y) => x - y))
    expect(labels.get(getPhoto(db, b.id).hash!)).toEqual([imported[2].album.id])
    deleteAlbum(db, pets.id)
    await expectStoreError(() => deleteAlbum(db, pets.id), 'not-found', /No album/)
    await expectStoreError(() => renameAlbum(db, pets.id, 'x'), 'not-found', /No album/)
  })
})

describe('features', () => {
  it('stores one vector per content hash and backbone, and knows which are missing', async () => {
    const { base, db, thumbnailDir } = setup()
    await makePhotos(join(base, 'photos'), { groups: 1, perGroup: 3 })
    await indexRoot(db, join(base, 'photos'), { thumbnailDir })
    const hashes = hashesWithoutFeature(db, 'net@1')
    expect(hashes).toHaveLength(3)
    const vectors = hashes.map((_, i) => Float32Array.from({ length: 5 }, (_, j) => i + j / 10))
    putFeatures(db, 'net@1', [{ hash: hashes[0], vector: vectors[0] }, { hash: hashes[1], vector: vectors[1] }])
    expect(hashesWithoutFeature(db, 'net@1')).toEqual([hashes[2]])
    expect(hashesWithoutFeature(db, 'net@2')).toHaveLength(3) // a new backbone re-embeds
    expect(getFeature(db, hashes[1], 'net@1')).toEqual(vectors[1])
    expect(getFeature(db, hashes[1], 'net@2')).toBeNull()
    const some = featuresFor(db, 'net@1', [hashes[0], hashes[2]])
    expect([...some.keys()]).toEqual([hashes[0]])
    expect(featuresFor(db, 'net@1').size).toBe(2)
  })
})

describe('jobs', () => {
  it('records progress with rate and ETA, completion, failure and cancellation', async () => {
    const { db } = setup()
    const seen: number[] = []
    const result = await runJob(db, 'encode', { model: 3 }, async (job) => {
      for (let i = 1; i <= 5; i++) {
        await new Promise((r) => setTimeout(r, 5))
        seen.push(job.report({ done: i, total: 5, current: `item ${i}` }).rate ?? -1)
      }
      return 'ok'
    })
    expect(result).toBe('ok')
    expect(seen.at(-1)).toBeGreaterThan(0)
    const done = db.prepare('SELECT id FROM jobs ORDER BY id DESC').get() as { id: number }
    expect(jobProgress(getJob(db, done.id))).toMatchObject({ kind: 'encode', state: 'done', done: 5, total: 5, current: 'item 5', eta: 0 })

    await expect(runJob(db, 'train', {}, async () => Promise.reject(new Error('out of memory')))).rejects.toThrow('out of memory')
    expect(unfinishedJobs(db)).toEqual([])
    const failed = db.prepare("SELECT error FROM jobs WHERE kind = 'train'").get()
    expect(failed).toEqual({ error: 'out of memory' })

    // Cancelling the row (as another process or the UI would) stops the work at its next check.
    const cancelled = runJob(db, 'index', {}, async (job) => {
      cancelJob(db, job.jobId)
      job.checkCancelled()
      return 'not reached'
    })
    await expect(cancelled).rejects.toBeInstanceOf(JobCancelled)
    expect(db.prepare("SELECT state FROM jobs WHERE kind = 'index'").get()).toEqual({ state: 'cancelled' })
  })
})
