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
})
