import { describe, expect, it } from 'vitest'
import { CodeMatrix, type CodeRow } from '../src/core/search/code-matrix.ts'
import { lookupTable } from '../src/core/search/lookup-table.ts'
import { searchByCosine, searchCodes } from '../src/core/search/scan.ts'
import { randomCodes, seededRandom } from '../src/bench/synthetic.ts'
import { TopK } from '../src/core/search/top-k.ts'

const DAY = 86_400_000

/** A random library: codes below K, roots 1…3, capture times over a year; ids shuffled and sparse. */
function library(n: number, M: number, K: number, seed: number): CodeRow[] {
  const random = seededRandom(seed)
  const codes = randomCodes(new Uint8Array(n * M), K, seed + 1)
  const ids = new Set<number>()
  while (ids.size < n) ids.add(1 + Math.floor(random() * n * 3))
  return [...ids].map((photoId, i) => ({
    photoId,
    code: codes.subarray(i * M, (i + 1) * M),
    rootId: 1 + Math.floor(random() * 3),
    takenAt: Date.UTC(2024, 0, 1) + Math.floor(random() * 365) * DAY,
  }))
}

function randomTable(M: number, K: number, seed: number, levels?: number): Float32Array {
  const random = seededRandom(seed)
  // `levels` draws scores from a few values so that many photos tie
  return Float32Array.from({ length: M * K }, () => (levels ? Math.floor(random() * levels) : random() * 2 - 1))
}

/** The reference: score every photo, sort everything, cut. */
function naive(rows: CodeRow[], table: Float32Array, K: number, blocks: number, k: number, keep: (r: CodeRow) => boolean = () => true) {
  const scored = rows.filter(keep).map((r) => {
    let s = 0
    for (let m = 0; m < blocks; m++) s += table[m * K + r.code[m]]
    return { id: r.photoId, score: s }
  })
  scored.sort((a, b) => b.score - a.score || a.id - b.id)
  const top = scored.slice(0, k)
  return { ids: top.map((r) => r.id), scores: top.map((r) => Math.fround(r.score)) }
}

const plain = (r: { ids: Int32Array; scores: Float32Array }) => ({ ids: [...r.ids], scores: [...r.scores] })

describe('lookup-table search', () => {
  it('lookupTable holds ⟨q, c_{m,k}⟩ for every block and codeword', () => {
    const [M, K, D] = [3, 5, 4]
    const random = seededRandom(7)
    const codebooks = Float32Array.from({ length: M * K * D }, () => random() - 0.5)
    const q = Float32Array.from({ length: D }, () => random() - 0.5)
    const t = lookupTable(q, codebooks, M, K, D)
    for (let m = 0; m < M; m++)
      for (let k = 0; k < K; k++) {
        let dot = 0
        for (let d = 0; d < D; d++) dot += q[d] * codebooks[(m * K + k) * D + d]
        expect(t[m * K + k]).toBeCloseTo(dot, 6)
      }
    expect(() => lookupTable(new Float32Array(D + 1), codebooks, M, K, D)).toThrow(/dimensions/)
    expect(() => lookupTable(new Float32Array(D).fill(Number.NaN), codebooks, M, K, D)).toThrow(/non-finite/)
  })

  it('equals the naive reference at every prefix length, for 8 blocks and for 11', () => {
    for (const M of [8, 11]) {
      const rows = library(3000, M, 256, M)
      const matrix = CodeMatrix.from(rows)
      for (let q = 0; q < 3; q++) {
        const table = randomTable(M, 256, 100 * M + q)
        for (let l = 1; l <= M; l++) {
          expect(plain(searchCodes(matrix, table, { blocks: l, k: 25 })), `M=${M} l=${l}`).toEqual(naive(rows, table, 256, l, 25))
        }
      }
    }
  })

  it('equals the naive reference when later blocks add little (most photos pruned after their first block)', () => {
    const M = 8
    const rows = library(5000, M, 256, 31)
    const matrix = CodeMatrix.from(rows)
    for (let q = 0; q < 4; q++) {
      // residual codebooks: block m's scores shrink like 0.4^m
      const table = randomTable(M, 256, 40 + q).map((v, i) => v * 0.4 ** Math.floor(i / 256))
      for (let l = 1; l <= M; l++) {
        for (const k of [1, 10, 200]) {
          expect(plain(searchCodes(matrix, table, { blocks: l, k }))).toEqual(naive(rows, table, 256, l, k))
          expect(plain(searchCodes(matrix, table, { blocks: l, k, filter: { rootId: 2 } }))).toEqual(naive(rows, table, 256, l, k, (r) => r.rootId === 2))
        }
      }
    }
  })

  it('ranks by score over ‖x̂‖ like the naive reference (exact mode\'s shortlist), zero norms scoring 0', () => {
    const M = 8
    const rows = library(4000, M, 256, 51)
    const matrix = CodeMatrix.from(rows)
    const random = seededRandom(52)
    const norms = Float32Array.from({ length: matrix.size }, (_, row) => (row % 97 === 0 ? 0 : 0.5 + 1.5 * random()))
    const normOf = (r: CodeRow) => norms[matrix.rowOf(r.photoId)]
    for (let q = 0; q < 3; q++) {
      const table = randomTable(M, 256, 60 + q).map((v, i) => (v + 0.3) * 0.5 ** Math.floor(i / 256))
      for (const k of [5, 300]) {
        for (const filter of [undefined, { rootId: 3 }]) {
          const want = rows
            .filter((r) => !filter || r.rootId === filter.rootId)
            .map((r) => {
              let s = 0
              for (let m = 0; m < M; m++) s += table[m * 256 + r.code[m]]
              return { id: r.photoId, score: normOf(r) > 0 ? s / normOf(r) : 0 }
            })
            .sort((a, b) => b.score - a.score || a.id - b.id)
            .slice(0, k)
          const got = plain(searchByCosine(matrix, table, norms, { k, filter }))
          expect(got).toEqual({ ids: want.map((r) => r.id), scores: want.map((r) => Math.fround(r.score)) })
        }
      }
    }
  })

  it('ranks ties by smaller photo id, exactly like a full sort, and leaves out the query photo', () => {
    const rows = library(2000, 4, 256, 3)
    const matrix = CodeMatrix.from(rows)
    const table = randomTable(4, 256, 4, 3) // scores 0…8: hundreds of photos share each score
    for (const k of [1, 7, 100, 1999, 5000]) {
      for (let l = 1; l <= 4; l++) {
        expect(plain(searchCodes(matrix, table, { blocks: l, k }))).toEqual(naive(rows, table, 256, l, k))
      }
    }
    const query = naive(rows, table, 256, 4, 1).ids[0]
    const without = searchCodes(matrix, table, { blocks: 4, k: 50, excludeId: query })
    expect([...without.ids]).not.toContain(query)
    expect(plain(without)).toEqual(naive(rows, table, 256, 4, 50, (r) => r.photoId !== query))
  })

  it('bounded heap keeps the same top-k as sorting everything', () => {
    const random = seededRandom(11)
    const pairs = Array.from({ length: 5000 }, (_, i) => ({ id: i + 1, score: Math.floor(random() * 50) / 7 }))
    for (const k of [0, 1, 10, 333, 5000, 6000]) {
      const top = new TopK(k)
      for (const p of pairs) top.offer(p.score, p.id)
      const sorted = [...pairs].sort((a, b) => b.score - a.score || a.id - b.id).slice(0, k)
      expect(plain(top.result())).toEqual({ ids: sorted.map((p) => p.id), scores: sorted.map((p) => Math.fround(p.score)) })
    }
  })

  it('accepts tables of models with fewer than 256 codewords per block', () => {
    const rows = library(1500, 6, 16, 5)
    const matrix = CodeMatrix.from(rows)
    const table = randomTable(6, 16, 6)
    for (let l = 1; l <= 6; l++) expect(plain(searchCodes(matrix, table, { blocks: l, k: 30 }))).toEqual(naive(rows, table, 16, l, 30))
  })

  it('filters by album, root and date range the same as filtering the full ranking', () => {
    const rows = library(4000, 8, 256, 9)
    const matrix = CodeMatrix.from(rows)
    const table = randomTable(8, 256, 10)
    const random = seededRandom(12)
    const album = new Set(rows.filter(() => random() < 0.1).map((r) => r.photoId))
    album.add(999_999_999) // a member with no code yet (not indexed) is simply absent
    const from = Date.UTC(2024, 3, 1)
    const to = Date.UTC(2024, 6, 1)
    const cases = [
      { filter: { album }, keep: (r: CodeRow) => album.has(r.photoId) },
      { filter: { rootId: 2 }, keep: (r: CodeRow) => r.rootId === 2 },
      { filter: { from, to }, keep: (r: CodeRow) => r.takenAt >= from && r.takenAt <= to },
      { filter: { from }, keep: (r: CodeRow) => r.takenAt >= from },
      { filter: { album, rootId: 1, to }, keep: (r: CodeRow) => album.has(r.photoId) && r.rootId === 1 && r.takenAt <= to },
      { filter: { rootId: 42 }, keep: () => false },
    ]
    for (const { filter, keep } of cases) {
      for (const l of [1, 3, 8]) {
        const got = plain(searchCodes(matrix, table, { blocks: l, k: 40, filter }))
        expect(got, JSON.stringify({ ...filter, album: undefined, l })).toEqual(naive(rows, table, 256, l, 40, keep))
      }
    }
  })

  it('rejects a prefix longer than the code', () => {
    const matrix = CodeMatrix.from(library(10, 4, 256, 1))
    expect(() => searchCodes(matrix, randomTable(4, 256, 1), { blocks: 5, k: 3 })).toThrow(/blocks must be 1…4/)
    expect(() => searchCodes(matrix, randomTable(4, 256, 1), { blocks: 0, k: 3 })).toThrow(/blocks/)
  })
})
