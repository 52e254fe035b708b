// One rule for symlinked photos, wherever a file is looked at: a file symlink leading to a file
// inside the same library folder is followed; one leading outside, looping or dangling is listed
// as a failure with its reason, by the scan and by the watcher alike; nothing outside is served.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createService } from '../src/core/service.ts'
import { indexRoot } from '../src/core/library/indexer.ts'
import { OUTSIDE_LINK } from '../src/core/library/scan.ts'
import { watchLibrary } from '../src/core/library/watcher.ts'
import { openDb, type Db } from '../src/core/store/db.ts'
import { photoBytes } from './fixtures/photos.ts'

const cleanup: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

type Row = { id: number; relPath: string; status: string; error: string | null }
const rows = (db: Db) => db.prepare<[], Row>('SELECT id, rel_path AS relPath, status, error FROM photos ORDER BY rel_path').all()
const byPath = (db: Db) => Object.fromEntries(rows(db).map((r) => [r.relPath, r.status === 'ok' ? 'ok' : r.error]))

/** Links of every kind, named with a prefix so the watcher's batch can be told from the scan's. */
async function links(photos: string, outside: string, prefix: string): Promise<void> {
  writeFileSync(join(photos, `${prefix}real.jpg`), await photoBytes(1, { seed: prefix.length + 1 }))
  symlinkSync(join(photos, `${prefix}real.jpg`), join(photos, `${prefix}link-inside.jpg`))
  symlinkSync(join(outside, 'secret.jpg'), join(photos, `${prefix}link-outside.jpg`))
  symlinkSync(join(photos, 'no-such-file.jpg'), join(photos, `${prefix}dangling.jpg`))
  symlinkSync(`${prefix}loop-b.jpg`, join(photos, `${prefix}loop-a.jpg`))
  symlinkSync(`${prefix}loop-a.jpg`, join(photos, `${prefix}loop-b.jpg`))
}

const expected = (prefix: string) => ({
  [`${prefix}real.jpg`]: 'ok',
  [`${prefix}link-inside.jpg`]: 'ok',
  [`${prefix}link-outside.jpg`]: OUTSIDE_LINK,
  [`${prefix}dangling.jpg`]: 'broken symbolic link',
  [`${prefix}loop-a.jpg`]: 'symbolic link loop',
  [`${prefix}loop-b.jpg`]: 'symbolic link loop',
})

async function library() {
  const base = mkdtempSync(join(tmpdir(), 'lookalike-links-'))
  cleanup.push(() => rmSync(base, { recursive: true, force: true }))
  const photos = join(base, 'photos')
  const outside = join(base, 'elsewhere')
  mkdirSync(photos)
  mkdirSync(outside)
  writeFileSync(join(outside, 'secret.jpg'), await photoBytes(2, { seed: 99 }))
  symlinkSync(outside, join(photos, 'linked-folder')) // a folder link: never followed
  const dbFile = join(base, 'lib.sqlite')
  return { base, photos, outside, dbFile, thumbnailDir: `${dbFile}.thumbnails` }
}

describe('symlinked photos', () => {
  it('the scan follows links inside the root and lists the others with a reason; nothing outside is served', async () => {
    const { photos, outside, dbFile, thumbnailDir } = await library()
    await links(photos, outside, '')
    const db = openDb(dbFile)
    await indexRoot(db, photos, { thumbnailDir })
    expect(byPath(db)).toEqual(expected(''))
    const outsideId = rows(db).find((r) => r.relPath === 'link-outside.jpg')!.id
    const insideId = rows(db).find((r) => r.relPath === 'link-inside.jpg')!.id
    db.close()

    const service = await createService({ dbFile, embedder: null, watch: false })
    cleanup.push(() => service.close())
    expect((await service.listPhotos({ sort: 'name', offset: 0, limit: 100 })).photos.map((p) => p.relPath)).toEqual(['link-inside.jpg', 'real.jpg'])
    await expect(service.imageFile(insideId, 'thumb')).resolves.toMatch(/\.jpg$/)
    await expect(service.imageFile(insideId, 'full')).resolves.toBe(join(photos, 'real.jpg'))
    await expect(service.imageFile(outsideId, 'thumb')).rejects.toMatchObject({ code: 'not-found' })
    await expect(service.imageFile(outsideId, 'full')).rejects.toMatchObject({ code: 'not-found' })
    expect((await service.listFailures({ limit: 100 })).map((f) => f.reason)).toContain(OUTSIDE_LINK)
  })

  it('the watcher records links arriving later exactly as the scan does', async () => {
    const { photos, outside, dbFile, thumbnailDir } = await library()
    const db = openDb(dbFile)
    cleanup.push(() => void db.close())
    await indexRoot(db, photos, { thumbnailDir })
    const watcher = watchLibrary(db, { thumbnailDir, stabilityMs: 200, reconcileMs: 60_000 })
    cleanup.push(() => watcher.close())
    await watcher.ready
    await links(photos, outside, 'later-')
    const want = expected('later-')
    const deadline = Date.now() + 15_000
    const sorted = (o: Record<string, unknown>) => JSON.stringify(Object.entries(o).sort())
    while (sorted(byPath(db)) !== sorted(want) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
    expect(byPath(db)).toEqual(want)
  })
})
