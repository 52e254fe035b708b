import { appendFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { openDb, type Db } from '../src/core/store/db.ts'
import { indexRoot } from '../src/core/library/indexer.ts'
import { watchLibrary, type LibraryWatcher } from '../src/core/library/watcher.ts'
import { addToAlbum, createAlbum, getAlbum } from '../src/core/store/albums.ts'
import { addRoot } from '../src/core/store/roots.ts'
import { makePhotos, photoBytes } from './fixtures/photos.ts'

const cleanup: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'lookalike-watch-'))
  cleanup.push(() => rmSync(d, { recursive: true, force: true }))
  return d
}

type Row = { id: number; rel_path: string; status: string; hash: string | null; width: number | null; error: string | null }
const rows = (db: Db) => db.prepare('SELECT id, rel_path, status, hash, width, error FROM photos ORDER BY rel_path').all() as Row[]
const row = (db: Db, relPath: string) => rows(db).find((r) => r.rel_path === relPath)

async function until<T>(what: string, fn: () => T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = fn()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

async function watchedLibrary(options: { reconcileMs?: number } = {}) {
  const base = tmp()
  const photos = join(base, 'photos')
  const db = openDb(join(base, 'lib.sqlite'))
  const thumbnailDir = join(base, 'thumbs')
  const made = await makePhotos(photos, { groups: 2, perGroup: 3 })
  await indexRoot(db, photos, { thumbnailDir })
  const errors: Error[] = []
  let changes = 0
  const watcher: LibraryWatcher = watchLibrary(db, {
    thumbnailDir,
    stabilityMs: 300,
    reconcileMs: options.reconcileMs ?? 60_000,
    onError: (e) => errors.push(e),
    onChange: () => changes++,
  })
  cleanup.push(() => void db.close())
  cleanup.push(() => watcher.close())
  await watcher.ready
  return { base, photos, db, thumbnailDir, made, errors, changes: () => changes }
}

describe('watching the library', () => {
  it('picks up new, changed, renamed and deleted photos within seconds', async () => {
    const { photos, db, made, errors, changes } = await watchedLibrary()

    writeFileSync(join(photos, 'new.jpg'), await photoBytes(3, { seed: 5 }))
    await until('new photo indexed', () => row(db, 'new.jpg')?.status === 'ok')

    const before = row(db, made[0].relPath)!
    writeFileSync(made[0].path, await photoBytes(0, { width: 150, seed: 77 }))
    await until('changed photo re-read', () => row(db, made[0].relPath)?.width === 150)
    expect(row(db, made[0].relPath)!.hash).not.toBe(before.hash)

    const album = createAlbum(db, 'Kept')
    const moved = row(db, made[1].relPath)!
    addToAlbum(db, album.id, [moved.id])
    mkdirSync(join(photos, 'elsewhere'))
    renameSync(made[1].path, join(photos, 'elsewhere', 'moved.jpg'))
    await until('renamed photo keeps its row', () => row(db, 'elsewhere/moved.jpg'))
    expect(row(db, 'elsewhere/moved.jpg')!.id).toBe(moved.id)
    expect(getAlbum(db, album.id).photos).toBe(1)

    unlinkSync(made[2].path)
    await until('deleted photo leaves the library', () => !row(db, made[2].relPath))
    expect(rows(db).filter((r) => r.status === 'ok')).toHaveLength(6)
    expect(changes()).toBeGreaterThanOrEqual(4)
    expect(errors).toEqual([])
  })

  it('indexes a folder copied in all at once', async () => {
    const { base, photos, db, errors } = await watchedLibrary()
    const made = await makePhotos(join(base, 'staging'), { groups: 3, perGroup: 10, seed: 4 })
    renameSync(join(base, 'staging'), join(photos, 'copied'))
    await until('copied folder indexed', () => rows(db).filter((r) => r.rel_path.startsWith('copied/') && r.status === 'ok').length === made.length)
    expect(errors).toEqual([])
  })

  it('does not index a half-written file until it stops growing', async () => {
    const { photos, db, errors } = await watchedLibrary()
    const bytes = await photoBytes(2, { width: 400, seed: 9 })
    const file = join(photos, 'copying.jpg')
    const pieces = 8
    const step = Math.ceil(bytes.length / pieces)
    writeFileSync(file, bytes.subarray(0, step))
    for (let i = 1; i < pieces; i++) {
      await new Promise((r) => setTimeout(r, 120))
      expect(row(db, 'copying.jpg'), `indexed after ${i} of ${pieces} pieces`).toBeUndefined()
      appendFileSync(file, bytes.subarray(i * step, (i + 1) * step))
    }
    const done = await until('finished file indexed', () => row(db, 'copying.jpg'))
    expect(done).toMatchObject({ status: 'ok', width: 400, error: null })
    expect(errors).toEqual([])
  })

  it('reconciles periodically, catching what the watcher missed', async () => {
    const { base, db, errors } = await watchedLibrary({ reconcileMs: 500 })
    // A root added behind the watcher's back, already full of photos: no events will come for them.
    const other = join(base, 'share')
    await makePhotos(other, { groups: 1, perGroup: 4, subfolders: false })
    addRoot(db, other)
    await until('reconcile indexed the new root', () => rows(db).filter((r) => r.status === 'ok').length === 10)
    // …and from then on that root is watched too.
    writeFileSync(join(other, 'later.png'), await photoBytes(1, { format: 'png', seed: 3 }))
    await until('photo in the new root indexed', () => row(db, 'later.png')?.status === 'ok')
    expect(errors).toEqual([])
  })
})
