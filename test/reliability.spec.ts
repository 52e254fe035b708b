// The reliability suite: what a user's machine does to a library (bad files, kill -9 mid-index and
// mid-train, two processes at once, a damaged file, a full disk, a deleted thumbnail folder), each
// followed by the invariant that must hold afterwards.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createService } from '../src/core/service.ts'
import { MIN_FREE_BYTES } from '../src/core/disk-full.ts'
import { countOrphans } from '../src/core/library/garbage.ts'
import { indexRoot } from '../src/core/library/indexer.ts'
import { openDb, type Db } from '../src/core/store/db.ts'
import { integrityProblems } from '../src/core/store/library-file.ts'
import { putFeatures } from '../src/core/store/features.ts'
import { ensureCodes } from '../src/core/modeling/codes.ts'
import { loadActiveModel } from '../src/core/modeling/models.ts'
import { retrain } from '../src/core/modeling/retrain.ts'
import { codesFor } from '../src/core/store/codes.ts'
import { lockHolder } from '../src/core/store/locks.ts'
import type { LibraryEvent } from '../src/shared/types.ts'
import { cliBin, repo, runCli } from './fixtures/cli.ts'
import { makeBadFiles, makePhotos } from './fixtures/photos.ts'

const base = mkdtempSync(join(tmpdir(), 'lookalike-reliability-'))
const cleanups: (() => void)[] = []
afterAll(() => {
  for (const fn of cleanups.reverse()) fn()
  rmSync(base, { recursive: true, force: true })
})
let n = 0
const fresh = (name: string) => {
  const dir = join(base, `${n++}-${name}`)
  mkdirSync(dir, { recursive: true })
  return dir
}

/** Files the scan should see under a folder (photo names, hidden ones left out), counted on disk. */
function photoFilesOnDisk(dir: string): number {
  let count = 0
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.name.startsWith('.')) continue
    if (/\.(jpe?g|png|webp|tiff?|gif|avif|heic|heif)$/i.test(entry.name) && !entry.isDirectory()) count++
  }
  return count
}

const rowCount = (db: Db) => (db.prepare('SELECT COUNT(*) AS n FROM photos').get() as { n: number }).n
const noOrphans = { thumbnails: 0, features: 0, activations: 0, codes: 0 }

/** A tmpfs of `kb` KiB mounted for this test, or the reason this machine cannot have one. */
function smallDisk(kb: number): { dir: string } | { skip: string } {
  const dir = fresh('tmpfs')
  if (process.platform !== 'linux') return { skip: 'full-disk test needs Linux tmpfs' }
  const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${kb}k`, 'tmpfs', dir], { encoding: 'utf8' })
  if (mount.status !== 0) return { skip: `cannot mount a small tmpfs here (${(mount.stderr || mount.error?.message || 'not root').trim()})` }
  cleanups.push(() => void spawnSync('umount', ['-l', dir]))
  return { dir }
}

/** Fills a volume up to `leaveKb` KiB free with one file; deleting it frees the space again. */
function fill(dir: string, leaveKb: number): string {
  const filler = join(dir, 'filler.bin')
  const { bavail, bsize } = require_statfs(dir)
  writeFileSync(filler, Buffer.alloc(Math.max(0, bavail * bsize - leaveKb * 1024)))
  return filler
}
function require_statfs(dir: string) {
  // node:fs statfsSync, typed loosely to stay readable here
  return (process.getBuiltinModule?.('node:fs') as typeof import('node:fs')).statfsSync(dir)
}

describe('reliability', () => {
  it('a bad-file corpus: every bad file is a failure with its reason, every good one indexed, rows = files', async () => {
    const photos = fresh('corpus')
    await makePhotos(photos, { groups: 2, perGroup: 3, format: 'every' })
    const bad = await makeBadFiles(photos)
    const db = openDb(join(fresh('corpus-lib'), 'lib.sqlite'))
    try {
      const thumbnailDir = `${db.name}.thumbnails`
      const summary = await indexRoot(db, photos, { thumbnailDir })
      expect(summary.indexed).toBe(6 + bad.filter((b) => b.unavailable).length) // root reads a chmod 000 file
      for (const file of bad.filter((b) => !b.unavailable)) {
        const row = db.prepare<[string], { status: string; error: string }>('SELECT status, error FROM photos WHERE rel_path = ?').get(file.relPath)
        expect(row?.status, file.relPath).toBe('failed')
        expect(row?.error, file.relPath).toMatch(file.reason)
      }
      expect(rowCount(db)).toBe(photoFilesOnDisk(photos))
      expect(integrityProblems(db)).toEqual([])
      expect(await countOrphans(db, thumbnailDir)).toEqual(noOrphans)
    } finally {
      db.close()
    }
  })

  it('a full disk: the job fails with "disk full: N MB free on <volume>", the window hears it, a rerun after freeing space completes', async (ctx) => {
    const disk = smallDisk(8 * 1024)
    if ('skip' in disk) {
      console.warn(`skipped: ${disk.skip}`)
      ctx.skip()
      return
    }
    const photos = fresh('full-photos')
    await makePhotos(photos, { groups: 4, perGroup: 10, size: 480 })
    const dbFile = join(disk.dir, 'lib.sqlite')
    openDb(dbFile).close()
    // Room for a few batches: indexing starts, then runs into the floor it keeps free.
    const filler = fill(disk.dir, MIN_FREE_BYTES / 1024 + 600)

    // The CLI: one line that says what happened.
    const cli = runCli(['index', photos, '--db', dbFile, '--no-embed', '--json'])
    expect(cli.code).toBe(1)
    expect(cli.stderr.trim().split('\n'), cli.stderr).toHaveLength(1)
    expect(cli.stderr).toMatch(new RegExp(`^lookalike: disk full: \\d+(\\.\\d)? MB free on ${disk.dir}\\n?$`))

    // The service: the job is recorded as failed and the window hears why.
    const service = await createService({ dbFile, embedder: null, watch: false })
    const events: LibraryEvent[] = []
    service.onEvent((e) => events.push(e))
    try {
      const before = (await service.status({})).jobs.find((j) => j.kind === 'index')
      expect(before).toMatchObject({ state: 'failed', error: expect.stringMatching(/^disk full: /) })
      await service.removeRoot({ id: (await service.listRoots({}))[0].id })
      await service.addRoot({ path: photos })
      const deadline = Date.now() + 60_000
      const failed = () => events.find((e) => e.type === 'job' && e.job.state === 'failed')
      while (!failed() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
      const event = failed()
      expect(event?.type === 'job' && event.job.error).toMatch(new RegExp(`^disk full: [\\d.]+ MB free on ${disk.dir}$`))
      expect((await service.status({})).jobs[0]).toMatchObject({ state: 'failed' })
    } finally {
      await service.close()
    }

    // Space freed: the rerun completes, nothing half-written is left behind.
    rmSync(filler)
    const db = openDb(dbFile)
    try {
      const thumbnailDir = `${dbFile}.thumbnails`
      const summary = await indexRoot(db, photos, { thumbnailDir })
      expect(summary.failed).toBe(0)
      expect(rowCount(db)).toBe(40)
      expect(integrityProblems(db)).toEqual([])
      expect(await countOrphans(db, thumbnailDir)).toEqual(noOrphans)
      const leftovers = readdirSync(thumbnailDir, { recursive: true }).filter((f) => String(f).endsWith('.tmp'))
      expect(leftovers).toEqual([])
    } finally {
      db.close()
    }
  })

  it('kill -9 during index: the rerun completes; rows = files, no orphans, no temporary files, integrity ok', async () => {
    const photos = fresh('kill-photos')
    const made = await makePhotos(photos, { groups: 4, perGroup: 40, size: 64 })
    const dbFile = join(fresh('kill-lib'), 'lib.sqlite')
    openDb(dbFile).close()
    const child = spawn(process.execPath, [cliBin, 'index', photos, '--db', dbFile, '--json', '--no-embed'], { cwd: repo, stdio: 'ignore' })
    const exited = new Promise((r) => child.on('exit', r))
    const reader = openDb(dbFile, { readonly: true })
    const deadline = Date.now() + 60_000
    while (rowCount(reader) < 16 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
    child.kill('SIGKILL')
    await exited
    const before = rowCount(reader)
    reader.close()
    expect(before).toBeLessThan(made.length)

    const rerun = runCli(['index', photos, '--db', dbFile, '--json', '--no-embed'])
    expect(rerun.code, rerun.stderr).toBe(0)
    const db = openDb(dbFile)
    try {
      const thumbnailDir = `${dbFile}.thumbnails`
      expect(rowCount(db)).toBe(photoFilesOnDisk(photos))
      expect(integrityProblems(db)).toEqual([])
      expect(await countOrphans(db, thumbnailDir)).toEqual(noOrphans)
      expect(readdirSync(thumbnailDir, { recursive: true }).filter((f) => String(f).endsWith('.tmp'))).toEqual([])
    } finally {
      db.close()
    }
  })

  it('two processes indexing one library at once: both finish, one row per file, integrity ok', async () => {
    const photos = fresh('two-photos')
    await makePhotos(photos, { groups: 3, perGroup: 20, size: 64 })
    const dbFile = join(fresh('two-lib'), 'lib.sqlite')
    // No openDb first: both processes create and migrate the new file at once.
    const run = () =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [cliBin, 'index', photos, '--db', dbFile, '--json', '--no-embed'], { cwd: repo, stdio: ['ignore', 'ignore', 'pipe'] })
        let stderr = ''
        child.stderr.on('data', (d) => (stderr += d))
        child.on('exit', (code) => resolve({ code, stderr }))
      })
    const [a, b] = await Promise.all([run(), run()])
    expect(a.code, a.stderr).toBe(0)
    expect(b.code, b.stderr).toBe(0)
    const db = openDb(dbFile)
    try {
      expect(rowCount(db)).toBe(60)
      expect((db.prepare('SELECT COUNT(DISTINCT rel_path) AS n FROM photos').get() as { n: number }).n).toBe(60)
      expect(integrityProblems(db)).toEqual([])
      expect(await countOrphans(db, `${dbFile}.thumbnails`)).toEqual(noOrphans)
    } finally {
      db.close()
    }
  })

  it('a damaged library file: the service refuses to open it with one sentence and leaves it as it was', async () => {
    const photos = fresh('damaged-photos')
    await makePhotos(photos, { groups: 2, perGroup: 10, size: 48 })
    const dbFile = join(fresh('damaged-lib'), 'lib.sqlite')
    const db = openDb(dbFile)
    await indexRoot(db, photos, { thumbnailDir: `${dbFile}.thumbnails` })
    db.close()
    truncateSync(dbFile, Math.floor(statSync(dbFile).size / 2))
    const size = statSync(dbFile).size
    await expect(createService({ dbFile, embedder: null, watch: false })).rejects.toThrow(`The library file ${dbFile} is damaged`)
    expect(statSync(dbFile).size).toBe(size)
    expect(existsSync(`${dbFile}-wal`)).toBe(false)
  })

  it('a deleted thumbnail folder: the running app serves every thumbnail again', async () => {
    const photos = fresh('thumbs-photos')
    await makePhotos(photos, { groups: 2, perGroup: 5, size: 48 })
    const dbFile = join(fresh('thumbs-lib'), 'lib.sqlite')
    const db = openDb(dbFile)
    await indexRoot(db, photos, { thumbnailDir: `${dbFile}.thumbnails` })
    db.close()
    const service = await createService({ dbFile, embedder: null, watch: false })
    try {
      rmSync(`${dbFile}.thumbnails`, { recursive: true })
      const { photos: listed } = await service.listPhotos({ sort: 'name', offset: 0, limit: 100 })
      const files = await Promise.all(listed.map((p) => service.imageFile(p.id, 'thumb')))
      expect(files.filter((f) => existsSync(f))).toHaveLength(10)
    } finally {
      await service.close()
    }
  })

  it('kill -9 during train: the previous model stays active with all its codes; nothing is left without a photo', async () => {
    const dir = fresh('train-kill')
    const file = join(dir, 'lib.sqlite')
    const db = openDb(file)
    db.prepare('INSERT INTO roots (id, path, added_at) VALUES (1, ?, 0)').run(dir)
    db.prepare("INSERT INTO albums (id, name, created_at) VALUES (1, 'a', 0), (2, 'b', 0)").run()
    let seed = 7
    const random = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32) - 0.5
    const rows = Array.from({ length: 600 }, (_, i) => {
      db.prepare("INSERT INTO photos (id, root_id, rel_path, size, mtime_ms, hash, status) VALUES (?, 1, ?, 1, 1, ?, 'ok')").run(i + 1, `${i}.jpg`, `h${i}`)
      if (i < 60) db.prepare('INSERT INTO album_photos (album_id, photo_id, added_at) VALUES (?, ?, 0)').run((i % 2) + 1, i + 1)
      return { hash: `h${i}`, vector: Float32Array.from({ length: 16 }, random) }
    })
    putFeatures(db, 'b', rows)
    const small = { M: 4, K: 16, D: 8, hidden: 16, epochs: 2 }
    const { modelId } = await ensureCodes(db, 'b', { trainOptions: small })
    const saved = codesFor(db, modelId!)
    db.close()

    const script = join(dir, 'retrain.mts')
    writeFileSync(
      script,
      `import { retrain } from ${JSON.stringify(join(repo, 'src/core/modeling/retrain.ts'))}
import { openDb } from ${JSON.stringify(join(repo, 'src/core/store/db.ts'))}
const db = openDb(${JSON.stringify(file)})
await retrain(db, 'b', { trainOptions: ${JSON.stringify(small)}, onProgress: (e) => {
  if (e.stage === 'encoding') process.kill(process.pid, 'SIGKILL')
} })
`,
    )
    const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: repo, stdio: 'ignore' })
    const signal = await new Promise((r) => child.on('exit', (_code, sig) => r(sig)))
    expect(signal).toBe('SIGKILL')

    const after = openDb(file)
    try {
      expect(loadActiveModel(after)?.id).toBe(modelId)
      expect(codesFor(after, modelId!)).toEqual(saved)
      await ensureCodes(after, 'b')
      expect(integrityProblems(after)).toEqual([])
      // The next retrain takes over the dead process's models lock and completes.
      const next = await retrain(after, 'b', { trainOptions: small })
      expect(loadActiveModel(after)?.id).toBe(next.modelId)
      expect(lockHolder(after, 'models')).toBeNull()
      expect(await countOrphans(after, join(dir, 'thumbs'))).toEqual(noOrphans)
    } finally {
      after.close()
    }
  })
})
