// The thumbnail cache heals itself: deleted thumbnails (or the whole folder) come back on the next
// index, watcher pass or image request, and temporary files left by a crash are removed.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createService } from '../src/core/service.ts'
import { indexRoot } from '../src/core/library/indexer.ts'
import { thumbnailPath } from '../src/core/library/thumbnails.ts'
import { watchLibrary } from '../src/core/library/watcher.ts'
import { openDb, type Db } from '../src/core/store/db.ts'
import { makePhotos } from './fixtures/photos.ts'

const cleanup: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

async function library(count = 6) {
  const base = mkdtempSync(join(tmpdir(), 'lookalike-caches-'))
  cleanup.push(() => rmSync(base, { recursive: true, force: true }))
  const photos = join(base, 'photos')
  const dbFile = join(base, 'lib.sqlite')
  const thumbnailDir = `${dbFile}.thumbnails`
  await makePhotos(photos, { groups: 2, perGroup: count / 2 })
  const db = openDb(dbFile)
  cleanup.push(() => void (db.open && db.close()))
  await indexRoot(db, photos, { thumbnailDir })
  return { base, photos, dbFile, thumbnailDir, db }
}

const hashes = (db: Db) => db.prepare<[], { id: number; hash: string }>("SELECT id, hash FROM photos WHERE status = 'ok' ORDER BY id").all()
const allThumbnails = (db: Db, dir: string) => hashes(db).every((p) => existsSync(thumbnailPath(dir, p.hash)))

async function until(what: string, check: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe('the thumbnail cache heals itself', () => {
  it('the next index rebuilds a deleted folder and single deleted thumbnails', async () => {
    const { photos, thumbnailDir, db } = await library()
    const [first] = hashes(db)
    unlinkSync(thumbnailPath(thumbnailDir, first.hash))
    let summary = await indexRoot(db, photos, { thumbnailDir })
    expect(summary.failed).toBe(0)
    expect(existsSync(thumbnailPath(thumbnailDir, first.hash))).toBe(true)

    rmSync(thumbnailDir, { recursive: true })
    summary = await indexRoot(db, photos, { thumbnailDir })
    expect(summary.failed).toBe(0)
    expect(allThumbnails(db, thumbnailDir)).toBe(true)
    // Nothing left to do afterwards.
    expect((await indexRoot(db, photos, { thumbnailDir })).skipped).toBe(6)
  })

  it('a watcher pass rebuilds them', async () => {
    const { thumbnailDir, db } = await library()
    rmSync(thumbnailDir, { recursive: true })
    const watcher = watchLibrary(db, { thumbnailDir, stabilityMs: 200, reconcileMs: 300 })
    cleanup.push(() => watcher.close())
    await watcher.ready
    await until('thumbnails rebuilt by the reconcile pass', () => allThumbnails(db, thumbnailDir))
  })

  it('an image request rebuilds a missing thumbnail from the photo', async () => {
    const { dbFile, thumbnailDir, db } = await library()
    db.close()
    const service = await createService({ dbFile, embedder: null, watch: false })
    cleanup.push(() => service.close())
    const ids = (await service.listPhotos({ sort: 'name', offset: 0, limit: 100 })).photos.map((p) => p.id)
    rmSync(thumbnailDir, { recursive: true })
    const files = await Promise.all(ids.map((id) => service.imageFile(id, 'thumb')))
    for (const file of files) expect(existsSync(file)).toBe(true)
    expect(files.every((f) => f.startsWith(thumbnailDir))).toBe(true)
  })

  it('temporary files of a writer that is gone are removed; a live writer\'s are kept', async () => {
    const { photos, thumbnailDir, db } = await library()
    const [first] = hashes(db)
    const folder = join(thumbnailDir, first.hash.slice(0, 2))
    mkdirSync(folder, { recursive: true })
    const dead = join(folder, `${first.hash}.jpg.999999999.tmp`)
    const live = join(folder, `${first.hash}.jpg.${process.ppid}.tmp`)
    writeFileSync(dead, 'half a jpeg')
    writeFileSync(live, 'being written')
    await indexRoot(db, photos, { thumbnailDir })
    expect(existsSync(dead)).toBe(false)
    expect(existsSync(live)).toBe(true)
    expect(readdirSync(folder).filter((n) => n.endsWith('.tmp'))).toEqual([`${first.hash}.jpg.${process.ppid}.tmp`])
  })
})
