// `lookalike eval` and `lookalike train` end to end on real JPEGs, and a process killed in the
// middle of re-encoding, which must leave the previous model active and intact.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { ensureCodes } from '../src/core/modeling/codes.ts'
import { loadActiveModel } from '../src/core/modeling/models.ts'
import { codesFor } from '../src/core/store/codes.ts'
import { createRng, normal } from '../src/core/dpq/prng.ts'
import { openDb } from '../src/core/store/db.ts'
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

const lookalike = (...args: string[]) => runCli(args, 180_000)

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
  })

  it('train refuses a library without features, then trains on albums after indexing', async () => {
    const dir = tmp()
    const db = join(dir, 'lib.sqlite')
    const empty = lookalike('train', '--db', db, '--json')
    expect(empty.code).toBe(2)
    expect(empty.stderr).toMatch(/no photo features yet/)

    const photos = join(dir, 'photos')
    await makePhotos(photos, { groups: 3, perGroup: 6 })
    expect(lookalike('index', photos, '--db', db, '--json').code).toBe(0)
    expect(lookalike('albums', 'import-folders', '--db', db, '--json').code).toBe(0)
    const trained = lookalike('train', '--db', db, '--epochs', '4', '--json')
    expect(trained.code, trained.stderr).toBe(0)
    const summary = JSON.parse(trained.stdout)
    expect(summary).toMatchObject({ modelId: expect.any(Number), kind: 'supervised', after: { '8': expect.any(Number), '64': expect.any(Number), exact: expect.any(Number) } })
    const lib = openDb(db)
    expect(loadActiveModel(lib)!.id).toBe(summary.modelId)
    expect(codesFor(lib, summary.modelId).hashes).toHaveLength(18)
    lib.close()
  })

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
  if (e.current === 'encoding') process.kill(process.pid, 'SIGKILL')
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
    // The next run cleans up and completes.
    const { modelId: next, encoded } = await ensureCodes(after, 'b')
    expect([next, encoded]).toEqual([modelId, 0])
    after.close()
  })
})
