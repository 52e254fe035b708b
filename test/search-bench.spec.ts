import { describe, expect, it } from 'vitest'
import { runCli } from './fixtures/cli.ts'

const lookalike = (...args: string[]) => runCli(args)

// Timings are printed, never asserted: a busy machine must not fail the suite.
describe('lookalike bench search', () => {
  it('prints latency for every code length, exact mode and brute force as one JSON object', () => {
    const run = lookalike('bench', 'search', '--n', '20000', '--queries', '5', '--k', '10', '--json')
    expect(run.code, run.stderr).toBe(0)
    const report = JSON.parse(run.stdout)
    expect(report).toMatchObject({ n: 20000, k: 10, queries: 5, M: 8, K: 256, D: 256 })
    expect(Object.keys(report.bits)).toEqual(['8', '16', '24', '32', '40', '48', '56', '64'])
    for (const t of Object.values(report.bits) as { ms_per_query: number }[]) expect(t.ms_per_query).toBeGreaterThan(0)
    for (const key of ['exact_ms_per_query', 'float_bruteforce_ms_per_query', 'rss_mb']) expect(report[key]).toBeGreaterThan(0)
    // 8 bytes a photo: the codes of 20,000 photos
    expect(report.code_mb).toBeCloseTo((20000 * 8) / 2 ** 20, 3)
  })

  it('rejects a bad size or an unknown benchmark with a one-line reason', () => {
    const bad = lookalike('bench', 'search', '--n', 'lots')
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/--n must be a non-negative integer, got "lots"/)
    const unknown = lookalike('bench', 'speed')
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toMatch(/unknown benchmark "speed"/)
  })
})
