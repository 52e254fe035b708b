// Indexing a few thousand photos with planted bad files, through the real CLI, then killing an
// index run mid-way and resuming it. Prints JSON; never fails on slowness.
//   npx tsx bench/planted-library.ts [--n 3000] [--size 480] [--bad-sets 4] [--embed] [--dir D]
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { openDb } from '../src/core/store/db.ts'
import { makeBadFiles, makeOddNames, makePhotos } from '../test/fixtures/photos.ts'

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '3000' },
    size: { type: 'string', default: '480' },
    'bad-sets': { type: 'string', default: '4' },
    embed: { type: 'boolean', default: false },
    dir: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
})
const n = Number(values.n)
const repo = resolve(import.meta.dirname, '..')
const bin = join(repo, 'bin', 'lookalike.js')
const base = values.dir ? resolve(values.dir) : mkdtempSync(join(tmpdir(), 'lookalike-planted-'))
const photos = join(base, 'photos')
const embedFlag = values.embed ? [] : ['--no-embed']

// --- the folder: n look-alike photos in 10 groups, odd names, and sets of every bad input ------
const madeAt = performance.now()
let expectedOk = 0
let expectedFailed = 0
if (!existsSync(photos)) {
  const groups = 10
  const made = await makePhotos(photos, { groups, perGroup: Math.ceil(n / groups), size: Number(values.size), format: 'mixed' })
  expectedOk += made.length
  expectedOk += (await makeOddNames(photos)).length
  for (let i = 0; i < Number(values['bad-sets']); i++) {
    const bad = await makeBadFiles(join(photos, `planted-${i}`))
    expectedFailed += bad.filter((b) => !b.unavailable).length
    expectedOk += bad.filter((b) => b.unavailable).length // readable after all (e.g. chmod 000 as root)
  }
}
const makeSeconds = (performance.now() - madeAt) / 1000

function index(dbFile: string) {
  const started = performance.now()
  const out = spawnSync(process.execPath, [bin, 'index', photos, '--db', dbFile, '--json', ...embedFlag], { cwd: repo, encoding: 'utf8', maxBuffer: 64 << 20 })
  if (out.status !== 0) throw new Error(`index failed (${out.status}): ${out.stderr.slice(-2000)}`)
  const summary = JSON.parse(out.stdout) as { indexed: number; skipped: number; failed: number; failures: { reason: string }[]; seconds: number }
  return { ...summary, wall_seconds: (performance.now() - started) / 1000 }
}

function reasons(failures: { reason: string }[]) {
  const counts: Record<string, number> = {}
  for (const f of failures) {
    const key = f.reason.replace(/:.*$/, '').replace(/ \(\d+×\d+ px.*\)$/, ' (…)')
    counts[key] = (counts[key] ?? 0) + 1
  }
  return counts
}

// --- 1. a full index, then a rescan with nothing changed -------------------------------------
const fullDb = join(base, 'full.sqlite')
rmSync(fullDb, { force: true })
rmSync(`${fullDb}.thumbnails`, { recursive: true, force: true })
const full = index(fullDb)
const rescan = index(fullDb)

// --- 2. kill -9 mid-way, then rerun -----------------------------------------------------------
const killDb = join(base, 'killed.sqlite')
rmSync(killDb, { force: true })
rmSync(`${killDb}.thumbnails`, { recursive: true, force: true })
const child = spawn(process.execPath, [bin, 'index', photos, '--db', killDb, '--json', ...embedFlag], { cwd: repo, stdio: 'ignore' })
const exited = new Promise((r) => child.on('exit', r))
let rowsAtKill = 0
for (const deadline = Date.now() + 300_000; Date.now() < deadline; ) {
  await new Promise((r) => setTimeout(r, 50))
  if (!existsSync(killDb)) continue
  try {
    const db = openDb(killDb, { readonly: true })
    rowsAtKill = (db.prepare('SELECT COUNT(*) AS n FROM photos').get() as { n: number }).n
    db.close()
  } catch {
    continue // schema not there yet
  }
  if (rowsAtKill >= n / 3) break
}
child.kill('SIGKILL')
await exited
const afterKill = openDb(killDb, { readonly: true })
rowsAtKill = (afterKill.prepare('SELECT COUNT(*) AS n FROM photos').get() as { n: number }).n
afterKill.close()
const resumed = index(killDb)
const check = openDb(killDb, { readonly: true })
const integrity = check.pragma('integrity_check', { simple: true })
const rows = (check.prepare('SELECT COUNT(*) AS n, COUNT(DISTINCT root_id || char(0) || rel_path) AS distinctPaths FROM photos').get() as { n: number; distinctPaths: number })
const fullRows = openDb(fullDb, { readonly: true })
const sameRows = JSON.stringify(fullRows.prepare('SELECT rel_path, status, hash, error FROM photos ORDER BY rel_path').all()) ===
  JSON.stringify(check.prepare('SELECT rel_path, status, hash, error FROM photos ORDER BY rel_path').all())
fullRows.close()
const jobs = check.prepare('SELECT state, COUNT(*) AS n FROM jobs GROUP BY state').all()
// With --embed: every ok photo's content has its feature (rows and features commit together).
const missingFeatures = (check
  .prepare("SELECT COUNT(DISTINCT hash) AS n FROM photos p WHERE status = 'ok' AND NOT EXISTS (SELECT 1 FROM features f WHERE f.hash = p.hash)")
  .get() as { n: number }).n
check.close()

console.log(
  JSON.stringify({
    folder: photos,
    photos: full.indexed + full.failed,
    make_seconds: Math.round(makeSeconds * 10) / 10,
    embed: values.embed,
    expected: expectedOk + expectedFailed > 0 ? { indexed: expectedOk, failed: expectedFailed } : 'unknown (reused --dir)',
    index: { indexed: full.indexed, skipped: full.skipped, failed: full.failed, seconds: full.seconds, photos_per_second: Math.round((full.indexed + full.failed) / full.seconds), reasons: reasons(full.failures) },
    counts_correct: expectedOk + expectedFailed === 0 ? null : full.indexed === expectedOk && full.failed === expectedFailed,
    rescan: { indexed: rescan.indexed, skipped: rescan.skipped, failed: rescan.failed, seconds: rescan.seconds },
    kill_resume: {
      rows_at_kill: rowsAtKill,
      resumed: { indexed: resumed.indexed, skipped: resumed.skipped, failed: resumed.failed, seconds: resumed.seconds },
      rows: rows.n,
      duplicate_rows: rows.n - rows.distinctPaths,
      same_rows_as_uninterrupted_run: sameRows,
      integrity_check: integrity,
      ...(values.embed ? { photos_without_feature: missingFeatures } : {}),
      jobs,
    },
  }),
)
if (!values.keep && !values.dir) rmSync(base, { recursive: true, force: true })
