// `lookalike bench <what>`: benchmarks that print numbers anyone can rerun (JSON with --json).
// Each benchmark is one entry, loaded only when asked for.
import { CliError, intFlag, parseCommand, printJson } from '../args.ts'

type Bench = { summary: string; run: (argv: string[]) => Promise<number> }

const benches: Record<string, Bench> = {
  search: { summary: 'search latency over N synthetic photos: --n N (1000000) --k K (100) --queries Q (60)', run: benchSearchCommand },
  index: { summary: 'indexing throughput of <folder> into a temporary library: --compute node|chromium --threads N --backend B --batch N --feature region|region-crop|legacy', run: async (argv) => (await import('./bench-index.ts')).run(argv) },
  train: { summary: 'DPQ training time on a library: --db FILE --compute node|chromium --epochs N', run: async (argv) => (await import('./bench-train.ts')).run(argv) },
}

export async function run(argv: string[]): Promise<number> {
  const [what, ...rest] = argv
  const bench = what ? benches[what] : undefined
  if (!bench) {
    const list = Object.entries(benches).map(([name, b]) => `  ${name.padEnd(8)} ${b.summary}`)
    throw new CliError([what ? `unknown benchmark "${what}"` : 'which benchmark?', 'Usage: lookalike bench <name> [options] [--json]', ...list].join('\n'))
  }
  return bench.run(rest)
}

async function benchSearchCommand(argv: string[]): Promise<number> {
  const { values } = parseCommand(argv, {
    n: { type: 'string' },
    k: { type: 'string' },
    queries: { type: 'string' },
    seed: { type: 'string' },
  })
  const n = intFlag(values.n, 'n', 1_000_000)
  const k = intFlag(values.k, 'k', 100)
  const queries = intFlag(values.queries, 'queries', 60)
  if (n < 1 || k < 1 || queries < 1) throw new CliError('--n, --k and --queries must be at least 1')
  const { benchSearch } = await import('../../bench/search.ts')
  const report = benchSearch({ n, k, queries, seed: intFlag(values.seed, 'seed', 1) })
  if (values.json) {
    printJson(report)
    return 0
  }
  console.log(`search over ${report.n} photos, top ${report.k}, median of ${report.queries} queries (wall / CPU ms)`)
  for (const [bits, t] of Object.entries(report.bits)) console.log(`  ${bits.padStart(2)} bits  ${t.ms_per_query.toFixed(2)} / ${t.cpu_ms_per_query.toFixed(2)}`)
  console.log(`  exact    ${report.exact_ms_per_query.toFixed(2)} / ${report.exact_cpu_ms_per_query.toFixed(2)} (shortlist ${report.exact_shortlist})`)
  console.log(`  float brute force ${report.float_bruteforce_ms_per_query.toFixed(1)} / ${report.float_bruteforce_cpu_ms_per_query.toFixed(1)}`)
  console.log(`  64-bit codes ${report.speedup_64bit_vs_float}× faster than float; codes ${report.code_mb} MB, matrix ${report.matrix_mb} MB, RSS ${report.rss_mb} MB`)
  return 0
}
