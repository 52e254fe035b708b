// The thumbnail cache heals itself: deleted thumbnails (or the whole folder) come back on the next
// index, watcher pass or image request, and temporary files left by a crash are removed.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createService } from '../src/core/service.ts'
import { indexRoot } from '../src/core/library/indexer.ts'
import { thumbnailPath } from '../src/core/library/thumbnails.ts'
import { watchLibrary } from '../src/core/library/watcher.ts'
import { openDb, type Db } from '../src/core/store/db.ts'
import { putActivations } from '../src/core/store/activations.ts'
import { putFeatures } from '../src/core/store/features.ts'
import { countOrphans } from '../src/core/library/garbage.ts'
import type { Embedder } from '../src/core/types.ts'
import { runCli } from './fixtures/cli.ts'
import { makePhotos, photoBytes } from './fixtures/photos.ts'

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

/** A stand-in backbone (mean colour): features without loading MobileNet. */
const meanColour: Embedder = {
  backboneId: 'test-mean-colour',
  backend: 'cpu',
  dim: 3,
  async embed(inputs) {
    return inputs.map((pixels) => {
      const sum = [0, 0, 0]
      for (let i = 0; i < pixels.length; i++) sum[i % 3] += pixels[i]
      return new Float32Array(sum.map((v) => v / (pixels.length / 3)))
    })
  },
  async close() {},
}

/** Every photo's content also has a code under a model and an activation map, as after a fine-tuned retrain. */
function addCodesAndMaps(db: Db): void {
  // A model row only to hang the codes on (not active: the service would try to load it).
  const modelId = Number(db.prepare("INSERT INTO models (created_at, kind, backbone, status, active, params) VALUES (0, 'unsupervised', 'test-mean-colour', 'ready', 0, '{}')").run().lastInsertRowid)
  const insert = db.prepare('INSERT OR REPLACE INTO codes (model_id, hash, code) VALUES (?, ?, ?)')
  const all = hashes(db)
  for (const { hash } of all) insert.run(modelId, hash, Buffer.from([1, 2, 3, 4]))
  putActivations(db, 'test-layer', all.map(({ hash }) => ({ hash, values: new Float32Array([0, 1, 2]) })))
}

async function thumbnailCount(dir: string): Promise<number> {
  let n = 0
  for (const folder of await readdir(dir).catch(() => [] as string[])) n += (await readdir(join(dir, folder)).catch(() => [] as string[])).filter((f) => f.endsWith('.jpg')).length
  return n
}

describe('garbage collection', () => {
  it('deleting 10 and changing 5 of 30 photos leaves 20 of everything; status shows 0 orphans; vacuum shrinks the file', async () => {
    const base = mkdtempSync(join(tmpdir(), 'lookalike-gc-'))
    cleanup.push(() => rmSync(base, { recursive: true, force: true }))
    const photos = join(base, 'photos')
    const dbFile = join(base, 'lib.sqlite')
    const thumbnailDir = `${dbFile}.thumbnails`
    const made = await makePhotos(photos, { groups: 3, perGroup: 10, size: 64 })
    const db = openDb(dbFile)
    cleanup.push(() => void (db.open && db.close()))
    await indexRoot(db, photos, { thumbnailDir, embedder: meanColour })
    addCodesAndMaps(db)
    expect(await thumbnailCount(thumbnailDir)).toBe(30)

    for (const photo of made.slice(0, 10)) unlinkSync(photo.path)
    for (const [i, photo] of made.slice(10, 15).entries()) writeFileSync(photo.path, await photoBytes(3, { width: 64, seed: 5000 + i }))
    // Orphans an interrupted run could have left: a thumbnail and a feature of content nobody has.
    const stray = 'f'.repeat(64)
    mkdirSync(join(thumbnailDir, 'ff'), { recursive: true })
    writeFileSync(thumbnailPath(thumbnailDir, stray), 'old thumbnail')
    putFeatures(db, 'test-mean-colour', [{ hash: stray, vector: new Float32Array([1, 2, 3]) }])

    const summary = await indexRoot(db, photos, { thumbnailDir, embedder: meanColour })
    expect(summary).toMatchObject({ indexed: 5, removed: 10, failed: 0 })
    const count = (sql: string) => (db.prepare(sql).get() as { n: number }).n
    expect(count('SELECT COUNT(*) AS n FROM photos')).toBe(20)
    expect(count('SELECT COUNT(DISTINCT hash) AS n FROM photos')).toBe(20)
    expect(count('SELECT COUNT(*) AS n FROM features')).toBe(20)
    expect(count('SELECT COUNT(*) AS n FROM codes')).toBe(15) // the 5 changed photos are encoded by the code keeper, not here
    expect(count('SELECT COUNT(*) AS n FROM activations')).toBe(15)
    expect(await thumbnailCount(thumbnailDir)).toBe(20)
    expect(await countOrphans(db, thumbnailDir)).toEqual({ thumbnails: 0, features: 0, activations: 0, codes: 0 })
    db.close()

    const status = runCli(['status', '--db', dbFile, '--json'])
    expect(status.code, status.stderr).toBe(0)
    const storage = JSON.parse(status.stdout).storage
    expect(storage.orphans).toEqual({ thumbnails: 0, features: 0, activations: 0, codes: 0 })
    expect(storage.fileBytes).toBeGreaterThan(0)

    const vacuum = runCli(['vacuum', '--db', dbFile, '--json'])
    expect(vacuum.code, vacuum.stderr).toBe(0)
    const result = JSON.parse(vacuum.stdout)
    expect(result.bytesAfter).toBeLessThanOrEqual(result.bytesBefore)
    expect(result.removed).toEqual({ thumbnails: 0, features: 0, activations: 0, codes: 0 })
  })

  it('the watcher lets go of a deleted or changed photo\'s thumbnail and feature at once', async () => {
    const { photos, thumbnailDir, db } = await library()
    await indexRoot(db, photos, { thumbnailDir, embedder: meanColour })
    const before = hashes(db)
    const watcher = watchLibrary(db, { thumbnailDir, embedder: meanColour, stabilityMs: 200, reconcileMs: 60_000 })
    cleanup.push(() => watcher.close())
    await watcher.ready
    const files = db.prepare<[], { relPath: string; hash: string }>('SELECT rel_path AS relPath, hash FROM photos ORDER BY id').all()
    unlinkSync(join(photos, files[0].relPath))
    writeFileSync(join(photos, files[1].relPath), await photoBytes(3, { seed: 777 }))
    await until('deleted and changed photos collected', () => !existsSync(thumbnailPath(thumbnailDir, files[0].hash)) && !existsSync(thumbnailPath(thumbnailDir, files[1].hash)))
    await until('orphan features removed', () => (db.prepare('SELECT COUNT(*) AS n FROM features WHERE hash IN (?, ?)').get(files[0].hash, files[1].hash) as { n: number }).n === 0)
    expect(hashes(db)).toHaveLength(before.length - 1)
    expect(await countOrphans(db, thumbnailDir)).toEqual({ thumbnails: 0, features: 0, activations: 0, codes: 0 })
  })

  it('the service reports storage and vacuums', async () => {
    const { dbFile, thumbnailDir, db } = await library()
    db.close()
    // A thumbnail of content no photo has (the code keeper, running in the background, leaves those alone).
    mkdirSync(join(thumbnailDir, 'ee'), { recursive: true })
    writeFileSync(thumbnailPath(thumbnailDir, 'e'.repeat(64)), 'old thumbnail')
    const service = await createService({ dbFile, embedder: null, watch: false })
    cleanup.push(() => service.close())
    const before = await service.status({ storage: true })
    expect(before.storage?.orphans.thumbnails).toBe(1)
    expect((await service.status({})).storage).toBeUndefined() // the plain refresh does not list the cache
    const result = await service.vacuum({})
    expect(result.removed.thumbnails).toBe(1)
    expect(result.bytesAfter).toBeGreaterThan(0)
    expect((await service.status({ storage: true })).storage?.orphans.thumbnails).toBe(0)
  })

})
