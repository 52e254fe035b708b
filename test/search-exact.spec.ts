import { describe, expect, it } from 'vitest'
import { CodeMatrix } from '../src/core/search/code-matrix.ts'
import { cosine, exactSearch } from '../src/core/search/exact.ts'
import type { SearchFilter } from '../src/core/search/filter.ts'
import { lookupTable } from '../src/core/search/lookup-table.ts'
import { randomCodes, seededRandom, syntheticEmbedding, syntheticModel } from '../src/bench/synthetic.ts'
import { TopK } from '../src/core/search/top-k.ts'

const [N, M, K, D] = [4000, 8, 256, 64]

/** A library whose codes approximate its embeddings about as well (`decay` 0.6) or as badly (0.8, 3× residual) as we set. */
function library(decay: number, residualScale: number) {
  const model = syntheticModel(M, K, D, 3, decay)
  model.residual *= residualScale
  const codes = randomCodes(new Uint8Array(N * M), K, 4)
  const matrix = new CodeMatrix(M, N)
  const embeddings = new Map<number, Float32Array>()
  for (let i = 0; i < N; i++) {
    const photoId = 10 + 3 * i
    const code = codes.subarray(i * M, (i + 1) * M)
    matrix.set(photoId, code, { rootId: 1 + (i % 2), takenAt: i })
    embeddings.set(photoId, syntheticEmbedding(model, code, photoId))
  }
  return { model, matrix, embeddings }
}

function bruteForce(embeddings: Map<number, Float32Array>, matrix: CodeMatrix, query: Float32Array, k: number, excludeId: number, filter?: SearchFilter) {
  const top = new TopK(k, excludeId)
  const queryNorm = Math.hypot(...query)
  for (const [id, e] of embeddings) {
    const row = matrix.rowOf(id)
    if (filter?.rootId !== undefined && matrix.roots[row] !== filter.rootId) continue
    top.offer(cosine(query, queryNorm, e), id)
  }
  return [...top.result().ids]
}

describe('exact search', () => {
  for (const [decay, residualScale, shortlistBy] of [
    [0.6, 1, 'cosine'],
    [0.8, 3, 'cosine'],
    [0.6, 1, 'inner product'],
    [0.8, 3, 'inner product'],
  ] as const) {
    it(`returns the brute-force top-k on ≥ 99% of queries (codes decay ${decay}, residual ×${residualScale}, shortlist by ${shortlistBy})`, () => {
      const { model, matrix, embeddings } = library(decay, residualScale)
      const random = seededRandom(8)
      const ids = [...embeddings.keys()]
      let agree = 0
      let shortlisted = 0
      const queries = 100
      for (let q = 0; q < queries; q++) {
        // half the queries are library photos, half outside images; some with a filter
        const inside = q % 2 === 0
        const photoId = ids[Math.floor(random() * ids.length)]
        const query = inside ? embeddings.get(photoId)! : syntheticEmbedding(model, randomCodes(new Uint8Array(M), K, 1000 + q), 1e6 + q)
        const excludeId = inside ? photoId : -1
        const filter = q % 3 === 0 ? { rootId: 2 } : undefined
        const k = q % 4 === 0 ? 1 : 10
        const table = lookupTable(query, model.codebooks, M, K, D)
        const got = exactSearch(matrix, table, query, (id) => embeddings.get(id)!, { k, excludeId, filter, model: shortlistBy === 'cosine' ? model : undefined })
        if ([...got.ids].join() === bruteForce(embeddings, matrix, query, k, excludeId, filter).join()) agree++
        shortlisted += got.shortlist
      }
      expect(agree / queries).toBeGreaterThanOrEqual(0.99)
      // good codes keep the re-ranked shortlist small: a few times k, not the library
      if (decay === 0.6) expect(shortlisted / queries).toBeLessThan(N / 20)
    })
  }

  it('scores are cosines, best first, and the query photo is left out', () => {
    const { model, matrix, embeddings } = library(0.6, 1)
    const photoId = 10 + 3 * 17
    const query = embeddings.get(photoId)!
    const prefetched = new Set<number>()
    const got = exactSearch(
      matrix,
      lookupTable(query, model.codebooks, M, K, D),
      query,
      (id) => {
        // the caller is told about every photo before it is asked for its embedding
        expect(prefetched.has(id)).toBe(true)
        return embeddings.get(id)!
      },
      { k: 20, excludeId: photoId, model, prefetch: (ids) => ids.forEach((id) => prefetched.add(id)) },
    )
    expect(got.ids.length).toBe(20)
    expect([...got.ids]).not.toContain(photoId)
    for (let i = 0; i < 20; i++) {
      expect(got.scores[i]).toBeCloseTo(cosine(query, Math.hypot(...query), embeddings.get(got.ids[i])!), 5)
      if (i > 0) expect(got.scores[i]).toBeLessThanOrEqual(got.scores[i - 1])
    }
  })
})
