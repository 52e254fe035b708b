// What blending one outside image with its neighbours costs (dpq/neighbour-blend.ts): making the
// library's pool ready (once per loaded model) and each blend against it, on random 256-d rows the
// size of NEIGHBOUR_BLEND's pool. Prints JSON; never fails on speed.
//   npx tsx bench/neighbour-blend.ts [--pool 5000] [--dims 256]
import { parseArgs } from 'node:util'
import { blendWithPool, NEIGHBOUR_BLEND, readyPool } from '../src/core/dpq/neighbour-blend.ts'
import { createRng, normal } from '../src/core/dpq/prng.ts'
import { ensureBackend } from '../src/core/modeling/backend.ts'

const { values } = parseArgs({ options: { pool: { type: 'string', default: String(NEIGHBOUR_BLEND.pool) }, dims: { type: 'string', default: '256' } } })
const size = Number(values.pool)
const dims = Number(values.dims)
const backend = await ensureBackend()
const rng = createRng(1)
const row = () => Float32Array.from({ length: dims }, () => normal(rng))
const pool = Array.from({ length: size }, row)
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]

const readyMs: number[] = []
let ready = readyPool(pool, NEIGHBOUR_BLEND.centring)
for (let i = 0; i < 5; i++) {
  const t = performance.now()
  ready = readyPool(pool, NEIGHBOUR_BLEND.centring)
  readyMs.push(performance.now() - t)
}
const blendMs: number[] = []
for (let i = 0; i < 21; i++) {
  const image = [row()]
  const t = performance.now()
  blendWithPool(image, ready, [-1], NEIGHBOUR_BLEND)
  blendMs.push(performance.now() - t)
}
const round = (x: number) => Math.round(x * 10) / 10
console.log(JSON.stringify({ bench: 'neighbour-blend', backend, pool: size, dims, ready_pool_ms: round(median(readyMs)), blend_one_image_ms: round(median(blendMs)) }))
