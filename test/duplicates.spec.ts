// The duplicate kernels next to the slow, obvious versions they must agree with.
import { describe, expect, it } from 'vitest'
import { candidatePairs, codewordDistances } from '../src/core/duplicates/candidates.ts'
import { pairCosines } from '../src/core/duplicates/confirm.ts'
import { burstScores, groupPairs } from '../src/core/duplicates/groups.ts'
import { compareCopies, suggestKeeper, type CopyFacts } from '../src/core/duplicates/keeper.ts'
import { CodeMatrix } from '../src/core/search/code-matrix.ts'
import { randomCodes, seededRandom, syntheticModel } from '../src/bench/synthetic.ts'

describe('candidate pairs from the codes', () => {
  const M = 4
  const K = 16
  const D = 12
  const model = syntheticModel(M, K, D, 3)
  const n = 120
  const codes = randomCodes(new Uint8Array(n * M), K, 5)
  // plant near-duplicates: photo 2i+1 shares all but the last block with photo 2i, for the first 20
  for (let i = 0; i < 20; i += 2) codes.set(codes.subarray(i * M, i * M + M - 1), (i + 1) * M)
  const matrix = CodeMatrix.from(Array.from({ length: n }, (_, i) => ({ photoId: i + 1, code: codes.subarray(i * M, i * M + M), rootId: 1, takenAt: 0 })))

  it('pairs each photo with its top k by a full scan of the table, each pair once', () => {
    const blocks = 2
    const k = 3
    const dist = codewordDistances(model.codebooks, M, K, D, blocks)
    const { a, b } = candidatePairs(matrix, dist, K, { blocks, k })
    const codeword = (m: number, k: number) => model.codebooks.subarray((m * K + k) * D, (m * K + k + 1) * D)
    const expected = new Set<string>()
    for (let q = 0; q < n; q++) {
      const scored = []
      for (let r = 0; r < n; r++) {
        if (r === q) continue
        let s = 0
        for (let m = 0; m < blocks; m++) {
          const x = codeword(m, codes[q * M + m])
          const y = codeword(m, codes[r * M + m])
          s -= x.reduce((t, v, d) => t + (v - y[d]) ** 2, 0)
        }
        scored.push({ id: r + 1, s })
      }
      scored.sort((x, y) => y.s - x.s || x.id - y.id)
      for (const { id } of scored.slice(0, k)) expected.add(q + 1 < id ? `${q + 1}-${id}` : `${id}-${q + 1}`)
    }
    const got = Array.from(a, (x, i) => `${x}-${b[i]}`)
    expect(new Set(got).size).toBe(got.length)
    for (let i = 0; i < a.length; i++) expect(a[i]).toBeLessThan(b[i])
    // ties in float sums may order equal scores differently: compare where scores are not tied
    const missing = [...expected].filter((p) => !got.includes(p))
    expect(missing.length).toBeLessThanOrEqual(expected.size * 0.02)
    // every planted near-duplicate is a candidate of its twin
    for (let i = 0; i < 20; i += 2) expect(got).toContain(`${i + 1}-${i + 2}`)
  })

  it('queries only the given rows and stops when asked', () => {
    const dist = codewordDistances(model.codebooks, M, K, D, 2)
    const some = candidatePairs(matrix, dist, K, { blocks: 2, k: 2, rows: Int32Array.from([0, 4]) })
    for (let i = 0; i < some.a.length; i++) expect([1, 5]).toContain([some.a[i], some.b[i]].find((id) => id === 1 || id === 5))
    let seen = 0
    candidatePairs(matrix, dist, K, { blocks: 2, k: 2, onRow: (done) => ((seen = done), done === 10) })
    expect(seen).toBe(10)
  })
})

describe('confirming pairs by feature cosine', () => {
  it('matches the textbook cosine, and 0 for a photo without a feature', () => {
    const random = seededRandom(9)
    const dim = 7
    const features = Float32Array.from({ length: 5 * dim }, () => random() - 0.5)
    features.fill(0, 4 * dim)
    const a = Int32Array.from([0, 1, 2, 3])
    const b = Int32Array.from([1, 1, 3, 4])
    const got = pairCosines(features, dim, a, b)
    for (let i = 0; i < 3; i++) {
      const x = features.subarray(a[i] * dim, a[i] * dim + dim)
      const y = features.subarray(b[i] * dim, b[i] * dim + dim)
      const dot = x.reduce((s, v, d) => s + v * y[d], 0)
      const nx = Math.hypot(...x)
      const ny = Math.hypot(...y)
      expect(got[i]).toBeCloseTo(dot / (nx * ny), 5)
    }
    expect(got[1]).toBeCloseTo(1, 5)
    expect(got[3]).toBe(0)
  })
})

describe('grouping pairs', () => {
  const pairs = (list: [number, number, number][]) => ({
    a: Int32Array.from(list, (p) => p[0]),
    b: Int32Array.from(list, (p) => p[1]),
    score: Float32Array.from(list, (p) => p[2]),
  })

  it('joins photos connected by pairs at or above the threshold, largest group first', () => {
    const p = pairs([
      [1, 2, 0.99],
      [2, 3, 0.97],
      [4, 5, 0.98],
      [5, 6, 0.9],
      [7, 8, 0.5],
    ])
    expect(groupPairs(p, 0.95).map((g) => [...g])).toEqual([[1, 2, 3], [4, 5]])
    expect(groupPairs(p, 0.9).map((g) => [...g])).toEqual([[1, 2, 3], [4, 5, 6]])
    expect(groupPairs(p, 0.999)).toEqual([])
    expect(groupPairs(p, 0.95, new Map(), (id) => id !== 2).map((g) => [...g])).toEqual([[4, 5]])
  })

  it('never puts two photos marked "not duplicates" together, even through a third', () => {
    const p = pairs([
      [1, 2, 0.99],
      [1, 3, 0.98],
      [2, 3, 0.97],
      [3, 4, 0.96],
    ])
    const apart = new Map([
      [1, new Set([3])],
      [3, new Set([1])],
    ])
    const groups = groupPairs(p, 0.9, apart).map((g) => [...g])
    for (const g of groups) expect(g.includes(1) && g.includes(3)).toBe(false)
    expect(groups).toEqual([[1, 2], [3, 4]])
    // dismissing the whole group of two: nothing left to show
    const both = new Map([
      [1, new Set([2])],
      [2, new Set([1])],
    ])
    expect(groupPairs(pairs([[1, 2, 0.99]]), 0.9, both)).toEqual([])
  })

  it('lifts pairs shot within the burst window when both have a capture time', () => {
    const p = pairs([
      [1, 2, 0.8],
      [3, 4, 0.8],
      [5, 6, 0.8],
    ])
    const times = new Map<number, number | null>([
      [1, 0],
      [2, 5_000],
      [3, 0],
      [4, 600_000],
      [5, null],
      [6, 0],
    ])
    const lifted = burstScores(p, (id) => times.get(id) ?? null, 60_000, 0.05)
    expect([...lifted].map((s) => +s.toFixed(3))).toEqual([0.85, 0.8, 0.8])
  })
})

describe('the suggested keeper', () => {
  const copy = (id: number, width: number, height: number, size: number, takenAt = 0): CopyFacts => ({ id, width, height, size, takenAt })

  it('prefers the largest resolution, then the least compression, then the oldest', () => {
    expect(suggestKeeper([copy(1, 800, 600, 90_000), copy(2, 1600, 1200, 200_000)])).toBe(2)
    expect(suggestKeeper([copy(1, 800, 600, 90_000), copy(2, 800, 600, 300_000)])).toBe(2)
    // a few per cent apart in size is the same compression: the older copy wins
    expect(suggestKeeper([copy(1, 800, 600, 100_000, 2000), copy(2, 800, 600, 102_000, 1000)])).toBe(2)
    expect(suggestKeeper([copy(5, 800, 600, 100_000, 1000), copy(3, 800, 600, 100_000, 1000)])).toBe(3)
    expect(compareCopies(copy(1, 10, 10, 1), copy(1, 10, 10, 1))).toBe(0)
  })
})
