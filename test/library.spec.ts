import { existsSync, mkdtempSync, readdirSync, renameSync, rmSync, unlinkSync, utimesSync, writeFileSync, chmodSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp from 'sharp'
import { afterEach, describe, expect, it } from 'vitest'
import { openDb, type Db } from '../src/core/store/db.ts'
import { indexRoot } from '../src/core/library/indexer.ts'
import { thumbnailPath } from '../src/core/library/thumbnails.ts'
import { getPhoto, listFailures, listPhotos, photoCounts } from '../src/core/store/photos.ts'
import { addToAlbum, createAlbum, getAlbum } from '../src/core/store/albums.ts'
import { getJob, recentJobs } from '../src/core/store/jobs.ts'
import { makeBadFiles, makeOddNames, makePhotos, photoBytes } from './fixtures/photos.ts'

const dirs: string[] = []
const dbs: Db[] = []
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'lookalike-library-'))
  dirs.push(d)
  return d
}
afterEach(() => {
  dbs.splice(0).forEach((db) => db.close())
  for (const d of dirs.splice(0)) {
    try {
      chmodSync(join(d, 'photos', 'bad', 'locked.jpg'), 0o644)
    } catch {}
    rmSync(d, { recursive: true, force: true })
  }
})

function library() {
  const base = tmp()
  const photos = join(base, 'photos')
  const db = openDb(join(base, 'lib.sqlite'))
  dbs.push(db)
  return { base, photos, db, thumbnailDir: join(base, 'lib.sqlite.thumbnails') }
}

const idOf = (db: Db, relPath: string) => (db.prepare('SELECT id FROM photos WHERE rel_path = ?').get(relPath) as { id: number } | undefined)?.id

describe('indexing a folder', () => {
  it('indexes photos with EXIF, size and thumbnails kept out of the photo folder', async () => {
    const { photos, db, thumbnailDir } = library()
    const made = await makePhotos(photos, { groups: 3, perGroup: 5, format: 'mixed' })
    const big = join(photos, 'big-rotated.jpg')
    writeFileSync(big, await photoBytes(2, { width: 640, height: 480, orientation: 6, takenAt: new Date(2019, 6, 14, 9, 30), camera: ['Canon', 'Canon EOS R5'] }))

    const progress: number[] = []
    const summary = await indexRoot(db, photos, { thumbnailDir, onProgress: (p) => progress.push(p.done) })
    expect(summary).toMatchObject({ indexed: 16, skipped: 0, failed: 0, failures: [] })
    expect(summary.seconds).toBeGreaterThan(0)
    expect(progress.at(-1)).toBe(16)

    const { total, photos: listed } = listPhotos(db, { sort: 'name' })
    expect(total).toBe(16)
    expect(listed.map((p) => p.relPath)).toEqual([...made.map((m) => m.relPath), 'big-rotated.jpg'].sort())

    // EXIF: capture date, camera, orientation (width/height as the user sees the photo).
    const detail = getPhoto(db, idOf(db, 'big-rotated.jpg')!)
    expect(detail).toMatchObject({ width: 480, height: 640, orientation: 6, camera: 'Canon EOS R5', takenAt: new Date(2019, 6, 14, 9, 30).getTime() })
    const jpeg = made.find((m) => m.format === 'jpeg')!
    expect(getPhoto(db, idOf(db, jpeg.relPath)!)).toMatchObject({ camera: jpeg.camera, takenAt: jpeg.takenAt!.getTime() })

    // Thumbnails: long side 320 px, orientation applied, in the app-data folder only.
    const thumb = await sharp(thumbnailPath(thumbnailDir, detail.hash!)).metadata()
    expect([thumb.width, thumb.height]).toEqual([240, 320])
    const inPhotoFolder = readdirSync(photos, { recursive: true }).map(String)
    expect(inPhotoFolder.filter((f) => !/\.(jpg|png|webp)$/.test(f) && !f.startsWith('group-'))).toEqual([])
    expect(inPhotoFolder.length).toBe(16 + 3)

    const job = recentJobs(db, 1)[0]
    expect(job).toMatchObject({ kind: 'index', state: 'done', progress: { done: 16, total: 16 } })
  })

  it('indexes JPEG, PNG, WebP, TIFF, GIF and AVIF alike', async () => {
    const { photos, db, thumbnailDir } = library()
    const made = await makePhotos(photos, { groups: 1, perGroup: 6, format: 'every' })
    expect(new Set(made.map((m) => m.format)).size).toBe(6)
    expect(await indexRoot(db, photos, { thumbnailDir })).toMatchObject({ indexed: 6, failed: 0 })
    for (const p of listPhotos(db).photos) {
      expect([p.width, p.height]).toEqual([96, 72])
      expect(existsSync(thumbnailPath(thumbnailDir, getPhoto(db, p.id).hash!))).toBe(true)
    }
  })

  it('skips unchanged files, re-reads changed ones, and removes deleted ones', async () => {
    const { photos, db, thumbnailDir } = library()
    const made = await makePhotos(photos, { groups: 2, perGroup: 4 })
    await indexRoot(db, photos, { thumbnailDir })

    const again = await indexRoot(db, photos, { thumbnailDir })
    expect(again).toMatchObject({ indexed: 0, skipped: 8, failed: 0 })

    const changed = made[0]
    const before = getPhoto(db, idOf(db, changed.relPath)!)
    writeFileSync(changed.path, await photoBytes(1, { width: 120, seed: 42 }))
    utimesSync(changed.path, new Date(), new Date(Date.now() + 5000))
    unlinkSync(made[1].path)
    const third = await indexRoot(db, photos, { thumbnailDir })
    expect(third).toMatchObject({ indexed: 1, skipped: 6, failed: 0 })
    const after = getPhoto(db, before.id)
    expect(after.hash).not.toBe(before.hash)
    expect(after.width).toBe(120)
    expect(idOf(db, made[1].relPath)).toBeUndefined()
    expect(listPhotos(db).total).toBe(7)
  })

  it('keeps the photos of a folder that is unreachable (say, an unmounted share)', async () => {
    const { base, photos, db, thumbnailDir } = library()
    await makePhotos(photos, { groups: 1, perGroup: 3 })
    const root = (await indexRoot(db, photos, { thumbnailDir }), listPhotos(db).photos[0].rootId)
    renameSync(photos, join(base, 'unmounted'))
    await expect(indexRoot(db, root, { thumbnailDir })).rejects.toThrow(/not reachable/)
    expect(listPhotos(db).total).toBe(3)
    renameSync(join(base, 'unmounted'), photos)
    expect(await indexRoot(db, root, { thumbnailDir })).toMatchObject({ indexed: 0, skipped: 3 })
  })

  it('keeps a moved or renamed photo\'s identity, so its albums survive', async () => {
    const { photos, db, thumbnailDir } = library()
    const made = await makePhotos(photos, { groups: 2, perGroup: 3 })
    await indexRoot(db, photos, { thumbnailDir })
    const photo = made[0]
    const id = idOf(db, photo.relPath)!
    const album = createAlbum(db, 'Holidays')
    addToAlbum(db, album.id, [id])

    renameSync(photo.path, join(photos, 'group-1', 'renamed.jpg'))
    const summary = await indexRoot(db, photos, { thumbnailDir })
    expect(summary).toMatchObject({ indexed: 1, skipped: 5, failed: 0 })
    expect(idOf(db, 'group-1/renamed.jpg')).toBe(id)
    expect(getPhoto(db, id).albums).toEqual([album.id])
    expect(getAlbum(db, album.id).photos).toBe(1)
    expect(listPhotos(db).total).toBe(6)
  })

  it('gives every bad file a row with a reason a user understands, and indexes the rest', async () => {
    const { photos, db, thumbnailDir } = library()
    await makePhotos(photos, { groups: 2, perGroup: 3 })
    const odd = await makeOddNames(photos)
    const bad = await makeBadFiles(photos)
    const testable = bad.filter((b) => !b.unavailable)
    for (const b of bad.filter((b) => b.unavailable)) console.log(`skipped bad-file case ${b.relPath}: ${b.unavailable}`)

    const summary = await indexRoot(db, photos, { thumbnailDir })
    const reasons = new Map(summary.failures.map((f) => [f.path.slice(photos.length + 1), f.reason]))
    for (const b of testable) expect(reasons.get(b.relPath), b.relPath).toMatch(b.reason)
    const unavailableOk = bad.length - testable.length // e.g. the chmod 000 file, readable by root
    expect(summary).toMatchObject({ indexed: 6 + odd.length + unavailableOk, failed: testable.length })
    expect(photoCounts(db)).toEqual({ ok: 6 + odd.length + unavailableOk, failed: testable.length, pending: 0 })

    // Odd Unicode names index like any other, byte for byte as on disk.
    const names = new Set(listPhotos(db, { folder: 'odd' }).photos.map((p) => p.relPath))
    expect(names).toEqual(new Set(odd))
    // The failures list the app shows.
    expect(listFailures(db).map((f) => f.reason).sort()).toEqual([...reasons.values()].sort())
  })

  it('records a file that vanishes mid-scan as such, and drops it on the next scan', async () => {
    const { photos, db, thumbnailDir } = library()
    const made = await makePhotos(photos, { groups: 2, perGroup: 20 })
    const last = made.at(-1)!
    let removed = false
    const summary = await indexRoot(db, photos, {
      thumbnailDir,
      batchSize: 4,
      onProgress: () => {
        if (!removed) unlinkSync(last.path)
        removed = true
      },
    })
    expect(summary.failures).toEqual([{ path: last.path, reason: 'file vanished during scan' }])
    expect(summary).toMatchObject({ indexed: 39, failed: 1 })
    const next = await indexRoot(db, photos, { thumbnailDir })
    expect(next).toMatchObject({ indexed: 0, skipped: 39, failed: 0 })
    expect(photoCounts(db)).toEqual({ ok: 39, failed: 0, pending: 0 })
  })

  it('lets two runs on the same root take turns instead of doing the work twice', async () => {
    const { photos, db, thumbnailDir } = library()
    await makePhotos(photos, { groups: 2, perGroup: 10 })
    const [a, b] = await Promise.all([indexRoot(db, photos, { thumbnailDir }), indexRoot(db, photos, { thumbnailDir, recordJob: false })])
    expect(a).toMatchObject({ indexed: 20, skipped: 0 })
    expect(b).toMatchObject({ indexed: 0, skipped: 20 })
  })

  it('can be cancelled, and a later run finishes the job', async () => {
    const { photos, db, thumbnailDir } = library()
    await makePhotos(photos, { groups: 4, perGroup: 10 })
    const never = await indexRoot(db, photos, { thumbnailDir, signal: AbortSignal.abort() })
    expect(never).toMatchObject({ cancelled: true, indexed: 0 })
    expect(recentJobs(db, 1)[0].state).toBe('cancelled')

    const controller = new AbortController()
    const first = await indexRoot(db, photos, {
      thumbnailDir,
      batchSize: 4,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.done >= 8) controller.abort()
      },
    })
    expect(first.cancelled).toBe(true)
    expect(first.indexed).toBeGreaterThanOrEqual(8)
    expect(first.indexed).toBeLessThan(40)
    expect(recentJobs(db, 1)[0].state).toBe('cancelled')

    const second = await indexRoot(db, photos, { thumbnailDir })
    expect(second).toMatchObject({ indexed: 40 - first.indexed, skipped: first.indexed, failed: 0 })
    expect(photoCounts(db).ok).toBe(40)
    expect(getJob(db, recentJobs(db, 1)[0].id).state).toBe('done')
  })
})
