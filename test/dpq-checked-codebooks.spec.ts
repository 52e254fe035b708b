// Codebooks checked block by block on held-out photos: a longer code never ranks the held-out
// photos worse than a shorter one, and the codes stay a valid progressive quantization.
import { beforeAll, describe, expect, it } from 'vitest'
import { fitCheckedCodebooks, harmed, NOISE_ALLOWANCE, type PrefixCheck } from '../src/core/dpq/checked-codebooks.ts'
import { kmeans } from '../src/core/dpq/kmeans.ts'
import { labelSets, meanAveragePrecision } from '../src/core/dpq/metrics.ts'
import { createRng, normal } from '../src/core/dpq/prng.ts'
import { quantize, reconstruct } from '../src/core/dpq/quantize.ts'
import { lookupTable } from '../src/core/search/lookup-table.ts'
import { ensureBackend } from '../src/core/modeling/backend.ts'

const D = 12
const K = 4

/**
 * Two classes whose embeddings differ by a unit direction, plus per-photo noise as large as the
 * class signal: the first block finds the classes; later blocks can only spell out the noise,
 * which, scored by inner product against a query's own noise, only shuffles the ranking.
 */
function noisyClasses(perClass: number, seed: number): { x: Float32Array; labels: number[][] } {
  const rng = createRng(seed)
  const n = 2 * perClass
  const x = new Float32Array(n * D)
  const labels: number[][] = []
  for (let i = 0; i < n; i++) {
    const c = i % 2
    labels.push([c])
    x[i * D] = c === 0 ? 1 : -1
    for (let j = 1; j < D; j++) x[i * D + j] = 0.6 * normal(rng)
  }
  return { x, labels }
}

/** mAP of held-out rows against the database rows at every prefix, scored as search scores codes. */
function prefixMaps(codebooks: Float32Array, M: number, x: Float32Array, labels: number[][], queries: number[], database: number[]): number[] {
  const q = { M, K, D, codebooks }
  const dbRows = new Float32Array(database.length * D)
  database.forEach((r, j) => dbRows.set(x.subarray(r * D, (r + 1) * D), j * D))
  const codes = quantize(q, dbRows)
  const sets = labelSets(labels)
  const tables = queries.map((r) => lookupTable(x.subarray(r * D, (r + 1) * D), codebooks, M, K, D))
  return Array.from({ length: M }, (_, l) =>
    meanAveragePrecision(
      queries.map((r) => sets[r]),
      database.map((r) => sets[r]),
      (i, out) => {
        for (let j = 0; j < out.length; j++) {
          let s = 0
          for (let m = 0; m <= l; m++) s += tables[i][m * K + codes[j * M + m]]
          out[j] = s
        }
      },
    ).all,
  )
}

describe('checked codebooks', () => {
  beforeAll(async () => {
    await ensureBackend()
  })
  const { x, labels } = noisyClasses(60, 3)
  const n = labels.length
  const queries = Array.from({ length: n }, (_, i) => i).filter((i) => i % 5 === 4)
  const database = Array.from({ length: n }, (_, i) => i).filter((i) => i % 5 !== 4)
  const sets = labelSets(labels)
  const dbX = new Float32Array(database.length * D)
  database.forEach((r, j) => dbX.set(x.subarray(r * D, (r + 1) * D), j * D))
  const qX = new Float32Array(queries.length * D)
  queries.forEach((r, j) => qX.set(x.subarray(r * D, (r + 1) * D), j * D))
  const check: PrefixCheck = { queries: qX, queryLabels: queries.map((r) => sets[r]), database: database.map((_, j) => j), databaseLabels: database.map((r) => sets[r]) }
  const options = { M: 4, K, seed: 5 }

  it('without a check, is residual k-means block by block', () => {
    const { codebooks, blockScale } = fitCheckedCodebooks(dbX, D, options)
    expect(blockScale).toEqual([1, 1, 1, 1])
    const residual = dbX.slice()
    for (let m = 0; m < options.M; m++) {
      const block = kmeans(residual, D, { k: K, assign: 'cosine', seed: options.seed + 31 * (m + 1), iterations: 10, maxPoints: 8000 })
      expect(Array.from(codebooks.subarray(m * K * D, (m + 1) * K * D))).toEqual(Array.from(block))
      const q = { M: 1, K, D, codebooks: block }
      const hard = reconstruct(q, quantize(q, residual))
      for (let i = 0; i < residual.length; i++) residual[i] -= hard[i]
    }
  })

  it('plain residual codebooks rank the held-out photos worse with more blocks here', () => {
    const plain = prefixMaps(fitCheckedCodebooks(dbX, D, options).codebooks, options.M, x, labels, queries, database)
    expect(plain[options.M - 1]).toBeLessThan(plain[0] - 0.01)
  })

  it('with a check, mAP falls by no more than the tolerance or the noise of its photos, and the reported maps are what search measures', () => {
    const fitted = fitCheckedCodebooks(dbX, D, options, check)
    expect(fitted.blockScale.some((s) => s < 1)).toBe(true)
    const measured = prefixMaps(fitted.codebooks, options.M, x, labels, queries, database)
    const plain = prefixMaps(fitCheckedCodebooks(dbX, D, options).codebooks, options.M, x, labels, queries, database)
    for (let l = 1; l < options.M; l++) expect(measured[l]).toBeGreaterThanOrEqual(Math.max(...measured.slice(0, l)) - NOISE_ALLOWANCE - 1e-9)
    expect(measured[options.M - 1]).toBeGreaterThan(plain[options.M - 1] + 0.01)
    fitted.prefixMap!.forEach((m, l) => expect(m).toBeCloseTo(measured[l], 3))
    // The first block is kept as fitted: it is the coarse code every longer one refines.
    expect(fitted.blockScale[0]).toBe(1)
  })

  it('with a refine weight, later blocks are stored at that scale and the reported maps are still what search measures', () => {
    const weight = 0.5
    const plain = fitCheckedCodebooks(dbX, D, { ...options, refineWeight: weight })
    expect(plain.blockScale).toEqual([1, weight, weight, weight])
    // The first block is plain k-means; the second is fitted on what the first left and stored halved.
    const first = plain.codebooks.subarray(0, K * D)
    expect(Array.from(first)).toEqual(Array.from(kmeans(dbX, D, { k: K, assign: 'cosine', seed: options.seed + 31, iterations: 10, maxPoints: 8000 })))
    const q = { M: 1, K, D, codebooks: first }
    const hard = reconstruct(q, quantize(q, dbX))
    const residual = dbX.map((v, i) => v - hard[i])
    const second = kmeans(residual, D, { k: K, assign: 'cosine', seed: options.seed + 62, iterations: 10, maxPoints: 8000 })
    expect(Array.from(plain.codebooks.subarray(K * D, 2 * K * D))).toEqual(Array.from(second, (v) => v * weight))

    const checked = fitCheckedCodebooks(dbX, D, { ...options, refineWeight: weight }, check)
    checked.blockScale.slice(1).forEach((s) => expect([weight, weight / 2, weight / 4, 0]).toContain(s))
    const measured = prefixMaps(checked.codebooks, options.M, x, labels, queries, database)
    checked.prefixMap!.forEach((m, l) => expect(m).toBeCloseTo(measured[l], 3))
  })

  it('calls a fall harm only beyond the tolerance and two standard errors of the per-photo change', () => {
    const best = Float64Array.from([0.9, 0.8, 0.7, 0.6])
    // Every photo loses 0.004: no doubt about it.
    expect(harmed(best.map((v) => v - 0.004), best, 0.002)).toBe(true)
    // Within the tolerance.
    expect(harmed(best.map((v) => v - 0.001), best, 0.002)).toBe(false)
    // The same mean fall of 0.004, all from one photo of four: noise as far as four photos can tell.
    expect(harmed(Float64Array.from([0.884, 0.8, 0.7, 0.6]), best, 0.002)).toBe(false)
    // However noisy, a fall beyond NOISE_ALLOWANCE is harm: the summary never shows more.
    expect(harmed(Float64Array.from([0.5, 0.8, 0.7, 0.6]), best, 0.002)).toBe(true)
    // Gains are never harm.
    expect(harmed(best.map((v) => v + 0.05), best, 0)).toBe(false)
  })

  it('a dropped block leaves the residual to the next block and adds nothing to any score', () => {
    const fitted = fitCheckedCodebooks(dbX, D, options, check)
    fitted.blockScale.forEach((s, m) => {
      const block = fitted.codebooks.subarray(m * K * D, (m + 1) * K * D)
      if (s === 0) expect(block.every((v) => v === 0)).toBe(true)
    })
  })
})
