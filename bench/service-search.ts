// The service's side of "click → similar": start-up (loading the CodeMatrix), one similar() per
// precision (median of several queries, call time and ranking time), the first precisionInfo,
// and memory, on a library of --n photos (a few real ones indexed and encoded, the rest
// synthetic rows with codes: see test/e2e/large-library.ts). Prints JSON; never fails on speed.
//   npx tsx bench/service-search.ts --n 100000 [--dir DIR (reuses a library built there)]
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { createService } from '../src/core/service.ts'
import type { Precision } from '../src/shared/types.ts'
import { buildLargeLibrary } from '../test/e2e/large-library.ts'

const { values } = parseArgs({ options: { n: { type: 'string', default: '100000' }, dir: { type: 'string' }, queries: { type: 'string', default: '15' } } })
const n = Number(values.n)
const dir = values.dir ?? mkdtempSync(join(tmpdir(), 'lookalike-bench-service-'))
const reuse = existsSync(join(dir, 'library.sqlite'))
const built = reuse ? null : await buildLargeLibrary(dir, n)
const dbFile = join(dir, 'library.sqlite')

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]
let t = performance.now()
const service = await createService({ dbFile, watch: false })
const startMs = performance.now() - t
const { photos } = await service.listPhotos({ sort: 'name', offset: 0, limit: 24 })
const real = photos.filter((p) => !p.relPath.startsWith('synthetic/')).map((p) => p.id)

const perPrecision: Record<string, { call_ms: number; rank_ms: number }> = {}
for (const precision of [8, 16, 32, 64, 'exact'] as Precision[]) {
  const calls: number[] = []
  const ranks: number[] = []
  for (let q = 0; q < Number(values.queries); q++) {
    t = performance.now()
    const answer = await service.similar({ photoId: real[q % real.length], precision, k: 60 })
    calls.push(performance.now() - t)
    ranks.push(answer.ms)
  }
  perPrecision[String(precision)] = { call_ms: round(median(calls)), rank_ms: round(median(ranks)) }
}
t = performance.now()
await service.precisionInfo({})
const precisionInfoMs = performance.now() - t
await service.close()
if (!values.dir) rmSync(dir, { recursive: true, force: true })

console.log(
  JSON.stringify({
    bench: 'service-search',
    photos: built?.photos ?? null,
    build_seconds: built ? round(built.buildSeconds) : null,
    start_ms: round(startMs),
    similar: perPrecision,
    precision_info_ms: round(precisionInfoMs),
    rss_mb: Math.round(process.memoryUsage().rss / 1048576),
  }),
)

function round(x: number): number {
  return Math.round(x * 100) / 100
}
