import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { openDb } from '../src/core/store/db.ts'
import { thumbnailPath } from '../src/core/library/thumbnails.ts'
import { interruptedIndexRoots } from '../src/core/library/indexer.ts'
import { cliBin, repo, runCli } from './fixtures/cli.ts'
import { makeBadFiles, makePhotos } from './fixtures/photos.ts'

const dirs: string[] = []
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })))
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'lookalike-cli-'))
  dirs.push(d)
  return d
}

const lookalike = (...args: string[]) => runCli(args)

function json(result: ReturnType<typeof lookalike>) {
  expect(result.code, result.stderr).toBe(0)
  return JSON.parse(result.stdout)
}

describe('lookalike CLI', () => {
  it('index, albums import-folders and status work together on a real folder', async () => {
    const base = tmp()
    const photos = join(base, 'photos')
    const db = join(base, 'lib.sqlite')
    await makePhotos(photos, { groups: 3, perGroup: 3 })
    const planted = await makeBadFiles(photos)
    const bad = planted.filter((b) => !b.unavailable)

    const first = json(lookalike('index', photos, '--db', db, '--json', '--no-embed'))
    expect(Object.keys(first)).toEqual(['indexed', 'skipped', 'failed', 'failures', 'seconds'])
    expect(first.failed).toBe(bad.length)
    expect(first.indexed).toBe(9 + planted.length - bad.length) // + the chmod-000 file when root can read it
    expect(first.failures.map((f: { path: string }) => f.path).sort()).toEqual(bad.map((b) => join(photos, b.relPath)).sort())
    const again = json(lookalike('index', photos, '--db', db, '--json', '--no-embed'))
    expect(again).toMatchObject({ indexed: 0, skipped: first.indexed + first.failed, failed: 0, failures: [] })

    const albums = json(lookalike('albums', 'import-folders', '--db', db, '--json'))
    const groups = albums.filter((a: { name: string }) => a.name.startsWith('group-'))
    expect(groups.map((a: { name: string; photos: number }) => [a.name, a.photos])).toEqual([
      ['group-0', 3],
      ['group-1', 3],
      ['group-2', 3],
    ])

    const status = json(lookalike('status', '--db', db, '--json'))
    expect(status).toMatchObject({ photos: first.indexed, failed: bad.length, pending: 0, albums: albums.length, model: null })
    expect(status.roots).toEqual([{ id: 1, path: photos, photos: first.indexed }])
    expect(typeof status.backend).toBe('string')
    expect(status.jobs[0]).toMatchObject({ kind: 'index', state: 'done' })
  })

  it('says clearly when the folder is missing, without a stack trace', () => {
    const base = tmp()
    const result = lookalike('index', join(base, 'nope'), '--db', join(base, 'lib.sqlite'), '--no-embed')
    expect(result.code).toBe(2)
    expect(result.stderr.trim()).toBe(`lookalike: Folder does not exist: ${join(base, 'nope')}`)
  })

  it('resumes after kill -9 mid-way: no duplicate or missing rows, integrity ok', async () => {
    const base = tmp()
    const photos = join(base, 'photos')
    const dbFile = join(base, 'lib.sqlite')
    const made = await makePhotos(photos, { groups: 6, perGroup: 50, size: 48 })
    expect(made).toHaveLength(300)
    openDb(dbFile).close() // schema in place, so the watcher below can read while the child writes

    const child = spawn(process.execPath, [cliBin, 'index', photos, '--db', dbFile, '--json', '--no-embed'], { cwd: repo, stdio: 'ignore' })
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)))
    const reader = openDb(dbFile, { readonly: true })
    let before = 0
    const deadline = Date.now() + 60_000
    while (Date.now() < deadline) {
      before = (reader.prepare('SELECT COUNT(*) AS n FROM photos').get() as { n: number }).n
      if (before >= 20) break
      await new Promise((r) => setTimeout(r, 10))
    }
    child.kill('SIGKILL')
    await exited
    before = (reader.prepare('SELECT COUNT(*) AS n FROM photos').get() as { n: number }).n
    reader.close()
    expect(before, 'killed too late to test a resume').toBeLessThan(300)
    expect(before).toBeGreaterThan(0)

    const interrupted = openDb(dbFile)
    expect(interruptedIndexRoots(interrupted)).toEqual([1]) // what the app resumes at start-up
    interrupted.close()

    const resumed = json(lookalike('index', photos, '--db', dbFile, '--json', '--no-embed'))
    expect(resumed.indexed + resumed.skipped).toBe(300)
    expect(resumed.skipped).toBe(before)
    expect(resumed.failed).toBe(0)

    const db = openDb(dbFile, { readonly: true })
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok')
    const rows = db.prepare("SELECT rel_path AS relPath, hash, status FROM photos ORDER BY rel_path").all() as { relPath: string; hash: string; status: string }[]
    expect(rows.map((r) => r.relPath)).toEqual(made.map((m) => m.relPath).sort())
    expect(rows.every((r) => r.status === 'ok' && existsSync(thumbnailPath(`${dbFile}.thumbnails`, r.hash)))).toBe(true)
    // The killed job was picked up again and finished, not left 'running'.
    const jobs = db.prepare('SELECT state FROM jobs').all() as { state: string }[]
    expect(jobs).toEqual([{ state: 'done' }])
    db.close()
  })
})
