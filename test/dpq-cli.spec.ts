// `lookalike eval` and `lookalike train` end to end on real JPEGs, a process killed in the middle
// of re-encoding (the previous model stays active and intact), and two `train` processes at once.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { backboneId } from '../src/core/embed/backbone.ts'
import { ensureCodes } from '../src/core/modeling/codes.ts'
import { loadActiveModel } from '../src/core/modeling/models.ts'
import { retrain } from '../src/core/modeling/retrain.ts'
import { codesFor } from '../src/core/store/codes.ts'
import { createRng, normal } from '../src/core/dpq/prng.ts'
import { addToAlbum, createAlbum, listAlbums } from '../src/core/store/albums.ts'
import { openDb } from '../src/core/store/db.ts'
import { lockHolder, touchLock, tryLock, unlock } from '../src/core/store/locks.ts'
import { retrainHint } from '../src/renderer/src/lib/albums.ts'
import { putFeatures } from '../src/core/store/features.ts'
import { repo, runCli } from './fixtures/cli.ts'
import { makePhotos } from './fixtures/photos.ts'

const dirs: string[] = []
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })))
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'lookalike-dpq-'))
  dirs.push(d)
  return d
}

const lookalike = (...args: string[]) => runCli(args, 300_000)
// Each test runs the CLI (model loading, training) several times in child processes: on a shared
// 2-core machine that takes minutes. The timeouts only catch hangs; nothing here measures speed.
const CLI_TEST_MS = 900_000

const perLength = { '8': expect.any(Number), '16': expect.any(Number), '24': expect.any(Number), '32': expect.any(Number), '40': expect.any(Number), '48': expect.any(Number), '56': expect.any(Number), '64': expect.any(Number) }

describe('lookalike eval / train', () => {
  it('eval indexes a labelled folder of JPEGs and prints the protocol JSON; a rerun reuses the features', async () => {
    const dir = tmp()
    const photos = join(dir, 'photos')
    await makePhotos(photos, { groups: 3, perGroup: 8 })
    const db = join(dir, 'lib.sqlite')
    const args = ['eval', photos, '--db', db, '--train-per-class', '5', '--queries-per-class', '3', '--epochs', '4', '--json']
    const first = lookalike(...args)
    expect(first.code, first.stderr).toBe(0)
    const report = JSON.parse(first.stdout)
    expect(report).toMatchObject({
      dataset: 'photos',
      classes: 3,
      train: 15,
      queries: 9,
      database: 15,
      backend: expect.any(String),
      train_seconds: expect.any(Number),
      map: { dpq: perLength, pq: perLength, float: expect.any(Number) },
      map_at_1000: { dpq: perLength, pq: perLength, float: expect.any(Number) },
    })
    for (const v of [...Object.values(report.map.dpq), ...Object.values(report.map.pq), report.map.float] as number[]) {
      expect(v).toBeGreaterThan(0)
      expect(v).toBeLessThanOrEqual(1)
    }
    // Photos that look alike by construction: float cosine on the backbone finds them.
    expect(report.map.float).toBeGreaterThan(0.6)

    const rerun = lookalike(...args)
    expect(rerun.code, rerun.stderr).toBe(0)
    expect(JSON.parse(rerun.stdout).map.float).toBe(report.map.float)

    const bad = lookalike('eval', photos, '--db', db, '--labels', 'yaml:x', '--json')
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/--labels must be "folders" or "tsv:FILE"/)
  }, CLI_TEST_MS)

  it('train refuses a library without features, then trains on albums after indexing', async () => {
    const dir = tmp()
    const db = join(dir, 'lib.sqlite')
    const empty = lookalike('train', '--db', db, '--json')
    expect(empty.code).toBe(2)
    expect(empty.stderr).toMatch(/No photo features yet|No library at/)

    const photos = join(dir, 'photos')
    await makePhotos(photos, { groups: 3, perGroup: 6 })
    expect(lookalike('index', photos, '--db', db, '--json').code).toBe(0)

    // One album is not enough: the CLI refuses with the Retrain panel's words, and writes nothing.
    const one = openDb(db)
    addToAlbum(one, createAlbum(one, 'first').id, [1, 2, 3, 4, 5, 6])
    const hint = retrainHint(listAlbums(one))
    one.close()
    const refused = lookalike('train', '--db', db, '--json')
    expect(refused.code).not.toBe(0)
    expect(refused.stderr).toContain(hint)
    expect(hint).toBe('Retrain needs 1 more album with at least 5 photos')

    expect(lookalike('albums', 'import-folders', '--db', db, '--json').code).toBe(0)
    const trained = lookalike('train', '--db', db, '--epochs', '4', '--finetune', 'off', '--json')
    expect(trained.code, trained.stderr).toBe(0)
    const summary = JSON.parse(trained.stdout)
    expect(summary).toMatchObject({ modelId: expect.any(Number), kind: 'supervised', after: { '8': expect.any(Number), '64': expect.any(Number), exact: expect.any(Number) } })
    // Albums of six: too few photos each to judge what the head learned, and the summary says so.
    expect(summary.smallAlbums).toBe(true)
    const lib = openDb(db)
    expect(loadActiveModel(lib)!.id).toBe(summary.modelId)
    expect(codesFor(lib, summary.modelId).hashes).toHaveLength(18)
    lib.close()
    // The training ran as a job, there for `status` (and the app) to see.
    const status = JSON.parse(lookalike('status', '--db', db, '--json').stdout)
    expect(status.jobs).toContainEqual(expect.objectContaining({ jobId: summary.jobId, kind: 'train', state: 'done' }))
    expect(status.model).toMatchObject({ id: summary.modelId, kind: 'supervised' })
  }, CLI_TEST_MS)

  it('two train processes started together take turns: one trains, the other waits naming it, and one model ends active', async () => {
    const dir = tmp()
    const file = join(dir, 'lib.sqlite')
    const db = openDb(file)
    const rng = createRng(9)
    const now = Date.now()
    db.prepare('INSERT INTO roots (id, path, added_at) VALUES (1, ?, ?)').run(dir, now)
    db.prepare('INSERT INTO albums (id, name, created_at) VALUES (1, ?, ?), (2, ?, ?)').run('a', now, 'b', now)
    const rows = Array.from({ length: 1200 }, (_, i) => {
      db.prepare("INSERT INTO photos (id, root_id, rel_path, size, mtime_ms, hash, status) VALUES (?, 1, ?, 1, 1, ?, 'ok')").run(i + 1, `${i}.jpg`, `h${i}`)
      if (i < 200) db.prepare('INSERT INTO album_photos (album_id, photo_id, added_at) VALUES (?, ?, ?)').run((i % 2) + 1, i + 1, now)
      return { hash: `h${i}`, vector: Float32Array.from({ length: 32 }, () => normal(rng) + (i < 200 ? 2 * (i % 2) : 0)) }
    })
    putFeatures(db, backboneId(), rows)
    db.close()

    const train = () => {
      const child = spawn(process.execPath, ['bin/lookalike.js', 'train', '--db', file, '--epochs', '3', '--finetune', 'off', '--json'], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] })
      const run = { pid: child.pid!, stdout: '', stderr: '', code: null as number | null }
      child.stdout.on('data', (d) => (run.stdout += d))
      child.stderr.on('data', (d) => (run.stderr += d))
      return { run, exited: new Promise<typeof run>((r) => child.on('exit', (code) => r({ ...run, code }))) }
    }
    // This test holds the models lock while both start, so both are surely running at once when
    // it lets go: then one takes the lock and trains, and the other waits for that one.
    const reader = openDb(file)
    const me = { pid: process.pid, host: hostname() }
    expect(tryLock(reader, 'models', me, () => false)).toBeNull()
    const runs = [train(), train()]
    const waitingForMe = `another Lookalike (pid ${process.pid})`
    for (let i = 0; i < 3000 && !runs.every((r) => r.run.stderr.includes(waitingForMe)); i++) {
      touchLock(reader, 'models', me) // a live holder's heartbeat
      await new Promise((r) => setTimeout(r, 100))
    }
    expect(runs.map((r) => r.run.stderr.includes(waitingForMe))).toEqual([true, true])
    unlock(reader, 'models', me)
    const [a, b] = await Promise.all(runs.map((r) => r.exited))
    expect(a.code, a.stderr).toBe(0)
    expect(b.code, b.stderr).toBe(0)
    const [firstDone, secondDone] = JSON.parse(a.stdout).modelId < JSON.parse(b.stdout).modelId ? [a, b] : [b, a]
    expect(secondDone.stderr).toContain(`another Lookalike (pid ${firstDone.pid})`)
    const ids = [JSON.parse(firstDone.stdout).modelId, JSON.parse(secondDone.stdout).modelId]
    // Both models were written in full (neither deleted the other's), and the later one is active.
    const models = reader.prepare('SELECT id, status, active FROM models ORDER BY id').all()
    expect(models).toEqual([
      { id: ids[0], status: 'ready', active: 0 },
      { id: ids[1], status: 'ready', active: 1 },
    ])
    expect(codesFor(reader, ids[1]).hashes).toHaveLength(1200)
    expect(lockHolder(reader, 'models')).toBeNull()
    reader.close()
  }, CLI_TEST_MS)

  it('a process killed while re-encoding leaves the previous model active with all its codes', async () => {
    const dir = tmp()
    const file = join(dir, 'lib.sqlite')
    const db = openDb(file)
    const rng = createRng(5)
    const now = Date.now()
    db.prepare('INSERT INTO roots (id, path, added_at) VALUES (1, ?, ?)').run('/photos', now)
    db.prepare('INSERT INTO albums (id, name, created_at) VALUES (1, ?, ?), (2, ?, ?)').run('a', now, 'b', now)
    const rows = Array.from({ length: 2500 }, (_, i) => {
      db.prepare("INSERT INTO photos (id, root_id, rel_path, size, mtime_ms, hash, status) VALUES (?, 1, ?, 1, 1, ?, 'ok')").run(i + 1, `${i}.jpg`, `h${i}`)
      if (i < 100) db.prepare('INSERT INTO album_photos (album_id, photo_id, added_at) VALUES (?, ?, ?)').run((i % 2) + 1, i + 1, now)
      return { hash: `h${i}`, vector: Float32Array.from({ length: 16 }, () => normal(rng)) }
    })
    putFeatures(db, 'b', rows)
    const small = { M: 4, K: 16, D: 8, hidden: 16, epochs: 2 }
    const { modelId } = await ensureCodes(db, 'b', { trainOptions: small })
    const saved = codesFor(db, modelId!)
    db.close()

    // The child retrains and kills itself (SIGKILL: no cleanup) once the first codes are written.
    const script = join(dir, 'retrain.mts')
    writeFileSync(
      script,
      `import { retrain } from ${JSON.stringify(join(repo, 'src/core/modeling/retrain.ts'))}
import { openDb } from ${JSON.stringify(join(repo, 'src/core/store/db.ts'))}
const db = openDb(${JSON.stringify(file)})
await retrain(db, 'b', { trainOptions: ${JSON.stringify(small)}, onProgress: (e) => {
  if (e.stage === 'encoding') process.kill(process.pid, 'SIGKILL')
} })
console.log('not killed')
`,
    )
    const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    const signal = await new Promise((r) => child.on('exit', (_code, sig) => r(sig)))
    expect(signal, err.slice(-3000)).toBe('SIGKILL')
    expect(out).not.toContain('not killed')

    const after = openDb(file)
    const unfinished = after.prepare("SELECT COUNT(*) AS n FROM codes WHERE model_id != ?").get(modelId!) as { n: number }
    expect(unfinished.n).toBeGreaterThan(0) // the killed run had written codes…
    expect(loadActiveModel(after)!.id).toBe(modelId) // …but never took over
    expect(codesFor(after, modelId!)).toEqual(saved)
    // Nothing is left to encode under the active model.
    const { modelId: same, encoded } = await ensureCodes(after, 'b')
    expect([same, encoded]).toEqual([modelId, 0])
    // The killed process still holds the models lock on paper: the next retrain sees it is gone,
    // takes the lock over, removes the half-written model and completes.
    expect(lockHolder(after, 'models')?.pid).toBe(child.pid)
    const next = await retrain(after, 'b', { trainOptions: small })
    expect(loadActiveModel(after)!.id).toBe(next.modelId)
    expect(after.prepare("SELECT COUNT(*) AS n FROM models WHERE status != 'ready'").get()).toEqual({ n: 0 })
    expect(lockHolder(after, 'models')).toBeNull()
    after.close()
  })
})
