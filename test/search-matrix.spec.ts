import { describe, expect, it } from 'vitest'
import { CodeMatrix, type CodeRow } from '../src/core/search/code-matrix.ts'
import { reconstructionNorms } from '../src/core/search/reconstruction.ts'
import { searchCodes } from '../src/core/search/scan.ts'
import { reconstruct, seededRandom, syntheticModel } from '../src/bench/synthetic.ts'

const M = 8
const byte = (random: () => number) => Math.floor(random() * 256)

describe('code matrix', () => {
  it('after thousands of adds, updates and removes, searches exactly like a matrix built from scratch', () => {
    const random = seededRandom(21)
    const live = new Map<number, CodeRow>()
    const matrix = new CodeMatrix(M) // starts empty: grows as photos arrive
    const table = Float32Array.from({ length: M * 256 }, () => random() * 2 - 1)
    const model = syntheticModel(M, 256, 4, 22)
    const filter = { rootId: 2, from: 0, to: 500 }
    for (let step = 0; step < 20_000; step++) {
      const photoId = 1 + Math.floor(random() * 3000)
      if (random() < 0.3) {
        expect(matrix.remove(photoId)).toBe(live.delete(photoId))
      } else {
        // a new photo, or a changed one (re-encoded after an edit or a retrain)
        const row = { photoId, code: Uint8Array.from({ length: M }, () => byte(random)), rootId: 1 + Math.floor(random() * 3), takenAt: Math.floor(random() * 1000) }
        matrix.set(photoId, row.code, row)
        live.set(photoId, row)
      }
      if (step % 5000 === 1000) matrix.reconstructionNorms(model.codebooks, 256, 4) // from here on kept up to date row by row
      if (step % 2500 === 2499) {
        const scratch = CodeMatrix.from([...live.values()], M)
        expect(matrix.size).toBe(live.size)
        const norms = matrix.reconstructionNorms(model.codebooks, 256, 4)
        const fresh = scratch.reconstructionNorms(model.codebooks, 256, 4)
        for (const id of live.keys()) expect(norms[matrix.rowOf(id)]).toBe(fresh[scratch.rowOf(id)])
        for (const blocks of [1, 4, 8]) {
          expect(searchCodes(matrix, table, { blocks, k: 50 })).toEqual(searchCodes(scratch, table, { blocks, k: 50 }))
          expect(searchCodes(matrix, table, { blocks, k: 50, filter })).toEqual(searchCodes(scratch, table, { blocks, k: 50, filter }))
        }
      }
    }
    for (const [id, row] of live) expect(matrix.codeOf(id)).toEqual(row.code)
    const norms = matrix.reconstructionNorms(model.codebooks, 256, 4)
    for (const [id, row] of [...live].slice(0, 50)) expect(norms[matrix.rowOf(id)]).toBeCloseTo(Math.hypot(...reconstruct(model, row.code)), 5)
    expect(matrix.codeOf(3001)).toBeUndefined()
    expect(matrix.has(3001)).toBe(false)
  })

  it('removing every photo leaves an empty matrix that searches to nothing', () => {
    const rows = Array.from({ length: 100 }, (_, i) => ({ photoId: i + 1, code: new Uint8Array(M).fill(i), rootId: 1, takenAt: 0 }))
    const matrix = CodeMatrix.from(rows)
    for (const r of rows) expect(matrix.remove(r.photoId)).toBe(true)
    expect(matrix.size).toBe(0)
    expect(matrix.remove(1)).toBe(false)
    expect(searchCodes(matrix, new Float32Array(M * 256), { blocks: M, k: 10 }).ids.length).toBe(0)
  })

  it('keeps photo ids far beyond the library size', () => {
    const matrix = new CodeMatrix(2)
    const big = [2 ** 31 - 1, 50_000_000, 3]
    big.forEach((photoId, i) => matrix.set(photoId, [i, i], { rootId: 1, takenAt: 0 }))
    for (const [i, photoId] of big.entries()) expect(matrix.codeOf(photoId)).toEqual(Uint8Array.from([i, i]))
    expect(matrix.remove(50_000_000)).toBe(true)
    expect(matrix.rowOf(2 ** 31 - 1)).toBeGreaterThanOrEqual(0)
    expect(matrix.size).toBe(2)
  })

  it('rejects a code of the wrong length or a bad photo id with a clear message', () => {
    const matrix = new CodeMatrix(M)
    expect(() => matrix.set(1, new Uint8Array(4), { rootId: 1, takenAt: 0 })).toThrow(/4 bytes, the model has 8 blocks/)
    expect(() => matrix.set(0, new Uint8Array(M), { rootId: 1, takenAt: 0 })).toThrow(/positive 32-bit integer/)
    expect(() => CodeMatrix.from([])).toThrow(/number of blocks/)
    expect(matrix.size).toBe(0)
  })

  it('holds a million 64-bit codes in 8 MB of code bytes', () => {
    const rows = function* () {
      const code = new Uint8Array(M)
      for (let id = 1; id <= 1_000_000; id++) {
        code[0] = id & 255
        yield { photoId: id, code, rootId: 1, takenAt: 0 }
      }
    }
    const matrix = new CodeMatrix(M, 1_000_000)
    for (const r of rows()) matrix.set(r.photoId, r.code, r)
    expect(matrix.codes.byteLength).toBe(8_000_000)
    // ids, roots, dates and the id → row index come on top: under 30 bytes a photo all told
    expect(matrix.bytes).toBeLessThan(30_000_000)
  })
})

describe('reconstruction norms', () => {
  it('summing codewords and the codeword inner-product tables give the same ‖x̂‖', () => {
    const [M, K, D, n] = [3, 16, 8, 400] // 400 codes: enough that the inner-product path is the cheaper one
    const model = syntheticModel(M, K, D, 5)
    const random = seededRandom(6)
    const codes = Uint8Array.from({ length: n * M }, () => Math.floor(random() * K))
    const bulk = new Float32Array(n)
    reconstructionNorms(codes, M, Int32Array.from({ length: n }, (_, i) => i), model.codebooks, K, D, bulk)
    const one = new Float32Array(n)
    for (let row = 0; row < n; row++) reconstructionNorms(codes, M, Int32Array.of(row), model.codebooks, K, D, one)
    for (let row = 0; row < n; row++) {
      expect(one[row]).toBeCloseTo(Math.hypot(...reconstruct(model, codes.subarray(row * M, (row + 1) * M))), 5)
      expect(bulk[row]).toBeCloseTo(one[row], 5)
    }
  })
})
