// Search on real codes: a DPQ model (unsupervised: PCA + residual k-means, as before any album
// exists) trained on the dev dataset's cached backbone features (.tmp/features, made by
// bench/extract-dataset-features.ts). Prints JSON: exact mode against brute-force cosine on the
// real embeddings (agreement, shortlist size), and scan latency over a 1M-photo library whose codes
// are drawn from the real ones, with and without first-block pruning's benefit (lookup table of a
// real query vs. the same table with its blocks shuffled to equal size).
// usage: tsx bench/search-real-codes.ts [features=.tmp/features/cifar10-11] [n=1000000] [D=128]
import { existsSync, readFileSync } from 'node:fs'
import { trainUnsupervised } from '../src/core/dpq/unsupervised.ts'
import { ensureBackend } from '../src/core/modeling/backend.ts'
import { CodeMatrix } from '../src/core/search/code-matrix.ts'
import { cosine, exactSearch } from '../src/core/search/exact.ts'
import { lookupTable } from '../src/core/search/lookup-table.ts'
import { searchCodes } from '../src/core/search/scan.ts'
import { seededRandom } from '../src/bench/synthetic.ts'
import { TopK } from '../src/core/search/top-k.ts'

const [base = '.tmp/features/cifar10-11', nArg = '1000000', dArg = '128'] = process.argv.slice(2)
if (!existsSync(`${base}.f32`)) {
  console.log(JSON.stringify({ skipped: `no ${base}.f32: run bench/extract-dataset-features.ts on a dataset first` }))
  process.exit(0)
}
await ensureBackend()
const meta = JSON.parse(readFileSync(`${base}.json`, 'utf8')) as { dim: number; items: unknown[] }
const flat = new Float32Array(readFileSync(`${base}.f32`).buffer.slice(0))
const features = Array.from({ length: meta.items.length }, (_, i) => flat.subarray(i * meta.dim, (i + 1) * meta.dim))
const [M, K, D] = [8, 256, Number(dArg)]
const k = 100

let t0 = performance.now()
const model = trainUnsupervised(features, { M, K, D, gamma: 1, seed: 1, maxPoints: 3000, kmeansIterations: 8 })
const trainS = (performance.now() - t0) / 1000
const x = model.embed(features)
const codes = model.encode(features)
const N = features.length
const matrix = new CodeMatrix(M, N)
for (let i = 0; i < N; i++) matrix.set(i + 1, codes.subarray(i * M, (i + 1) * M), { rootId: 1, takenAt: i })

// exact mode vs brute force, every 25th photo as the query
function exactAgainstBruteForce(k: number, shortlistBy: 'cosine' | 'inner-product') {
  let agree = 0
  let queries = 0
  const shortlists: number[] = []
  for (let q = 0; q < N; q += 25, queries++) {
    const query = x[q]
    const table = lookupTable(query, model.codebooks, M, K, D)
    const got = exactSearch(matrix, table, query, (id) => x[id - 1], { k, excludeId: q + 1, model: shortlistBy === 'cosine' ? model : undefined })
    const top = new TopK(k, q + 1)
    const qn = Math.hypot(...query)
    for (let i = 0; i < N; i++) top.offer(cosine(query, qn, x[i]), i + 1)
    if (got.ids.join() === top.result().ids.join()) agree++
    shortlists.push(got.shortlist)
  }
  shortlists.sort((a, b) => a - b)
  return { k, shortlist_by: shortlistBy, queries, agree_with_bruteforce: agree / queries, shortlist_median: shortlists[shortlists.length >> 1], shortlist_max: shortlists.at(-1) }
}
const exact = [10, 100].flatMap((k) => [exactAgainstBruteForce(k, 'cosine'), exactAgainstBruteForce(k, 'inner-product')])

// scan latency over n photos whose codes are drawn from the real ones
const n = Number(nArg)
const random = seededRandom(3)
const big = new CodeMatrix(M, n)
for (let i = 0; i < n; i++) {
  const r = Math.floor(random() * N)
  big.set(i + 1, codes.subarray(r * M, (r + 1) * M), { rootId: 1, takenAt: i })
}
const tables = Array.from({ length: 50 }, (_, q) => lookupTable(x[(q * 97) % x.length], model.codebooks, M, K, D))
/** Median wall and CPU ms per query (CPU time is what a query costs on a shared machine). */
const median = (f: (t: Float32Array) => void) => {
  const wall: number[] = []
  const cpu: number[] = []
  for (const t of tables) {
    const cpuStart = process.cpuUsage()
    t0 = performance.now()
    f(t)
    wall.push(performance.now() - t0)
    const used = process.cpuUsage(cpuStart)
    cpu.push((used.user + used.system) / 1000)
  }
  const mid = (v: number[]) => Math.round(v.sort((a, b) => a - b)[v.length >> 1] * 1000) / 1000
  return { ms: mid(wall), cpu_ms: mid(cpu) }
}
const bits: Record<string, { ms: number; cpu_ms: number }> = {}
for (let l = 1; l <= M; l++) bits[8 * l] = median((t) => searchCodes(big, t, { blocks: l, k }))
// block norms of the trained codebooks: how much each refinement adds
const blockNorms = Array.from({ length: M }, (_, m) => {
  let s = 0
  for (let i = m * K * D; i < (m + 1) * K * D; i++) s += model.codebooks[i] ** 2
  return Math.round(Math.sqrt(s / K) * 1000) / 1000
})
console.log(
  JSON.stringify({
    features: base,
    photos: N,
    M,
    K,
    D,
    train_s: Math.round(trainS),
    codeword_norm_per_block: blockNorms,
    exact,
    scan: { n, ms_per_query_by_bits: bits },
  }),
)
