// Neighbour blending: each library photo is encoded as its feature plus its most similar photos'
// (weighted by cosine cubed), queries too. The kernel against a plain reference; the
// library's first model, a photo added later and an older model's refit, on a real SQLite file.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { blendAmongRows, blendWithNeighbours, blendWithPool, EMBEDDING_NEIGHBOURS, NEIGHBOUR_BLEND, readyPool } from '../src/core/dpq/neighbour-blend.ts'
import { quantize } from '../src/core/dpq/quantize.ts'
import { createRng, normal } from '../src/core/dpq/prng.ts'
import { ensureBackend } from '../src/core/modeling/backend.ts'
import { ensureCodes, pendingTraining } from '../src/core/modeling/codes.ts'
import { loadActiveModel } from '../src/core/modeling/models.ts'
import { blendInputs, blendLibrary, libraryPool, poolOf } from '../src/core/modeling/neighbours.ts'
import { TrainingCancelled } from '../src/core/dpq/train.ts'
import { blendsForRetrain, embeddingNeighboursFor, RETRAIN_BLEND, retrain } from '../src/core/modeling/retrain.ts'
import { addToAlbum, createAlbum } from '../src/core/store/albums.ts'
import { LibrarySearch } from '../src/core/service/search.ts'
import { codesByHash, codesFor, embeddingsByHash } from '../src/core/store/codes.ts'
import { openDb, type Db } from '../src/core/store/db.ts'
import { featuresFor, putFeatures } from '../src/core/store/features.ts'

/** Points around `clusters` random centres in `dim` dimensions. */
function clustered(n: number, dim: number, clusters: number, seed: number): Float32Array[] {
  const rng = createRng(seed)
  const centres = Array.from({ length: clusters }, () => Float32Array.from({ length: dim }, () => normal(rng)))
  return Array.from({ length: n }, (_, i) => Float32Array.from(centres[i % clusters], (c) => c + 0.6 * normal(rng)))
}

/** The blend written out plainly: every pool row scored (about `centring` × the pool's mean), sorted, the first k that are not the row itself. */
function reference(rows: Float32Array[], pool: Float32Array[], selfIndex: number[], k: number, power: number, centring = 0): Float32Array[] {
  const unit = (v: Float32Array) => v.map((x) => x / Math.hypot(...v))
  const p = pool.map(unit)
  const mean = p[0].map((_, d) => (centring * p.reduce((s, v) => s + v[d], 0)) / p.length)
  const about = (v: Float32Array) => unit(v.map((x, d) => x - mean[d]))
  const pAbout = p.map(about)
  return rows.map((r, i) => {
    const u = unit(r)
    const uAbout = about(u)
    const scored = pAbout.map((v, j) => ({ j, cos: v.reduce((s, x, d) => s + x * uAbout[d], 0) })).filter((s) => s.j !== selfIndex[i])
    scored.sort((a, b) => b.cos - a.cos)
    const out = u.slice()
    for (const { j, cos } of scored.slice(0, k)) for (let d = 0; d < out.length; d++) out[d] += Math.max(0, cos) ** power * p[j][d]
    return unit(out)
  })
}

describe('blendWithNeighbours', () => {
  beforeEach(async () => {
    await ensureBackend()
  })

  it('adds the k most similar pool rows, weighted by cosine^power, never the row itself, at unit length', () => {
    const pool = clustered(700, 12, 5, 1)
    // Rows from the pool (their own position given) and new rows (in no pool: -1), across chunk boundaries.
    const rows = [...pool.slice(0, 600), ...clustered(40, 12, 5, 2)]
    const selfIndex = rows.map((_, i) => (i < 600 ? i : -1))
    const got = blendWithNeighbours(rows, pool, selfIndex, { k: 4, power: 3 })
    const want = reference(rows, pool, selfIndex, 4, 3)
    expect(got).toHaveLength(rows.length)
    got.forEach((row, i) => {
      expect(Math.hypot(...row)).toBeCloseTo(1, 5)
      row.forEach((x, d) => expect(x).toBeCloseTo(want[i][d], 4))
    })
  })

  it('measures similarity about part of the pool mean when asked: other neighbours, other weights, as the plain reference does', () => {
    // Clusters around a large shared direction, as photos of one kind are.
    const shared = Float32Array.from({ length: 12 }, (_, d) => (d === 0 ? 6 : 0))
    const pool = clustered(300, 12, 4, 7).map((v) => v.map((x, d) => x + shared[d]))
    const rows = pool.slice(0, 80)
    const selfIndex = rows.map((_, i) => i)
    const centred = blendWithNeighbours(rows, pool, selfIndex, { k: 5, power: 3, centring: 0.5 })
    const want = reference(rows, pool, selfIndex, 5, 3, 0.5)
    centred.forEach((row, i) => row.forEach((x, d) => expect(x).toBeCloseTo(want[i][d], 4)))
    const plain = blendWithNeighbours(rows, pool, selfIndex, { k: 5, power: 3 })
    expect(centred.some((row, i) => row.some((x, d) => Math.abs(x - plain[i][d]) > 1e-3))).toBe(true)
  })

  it('gives opposite neighbours no weight, and rows as they are (unit length) when the pool has no one else', () => {
    const a = Float32Array.of(1, 0)
    const opposite = Float32Array.of(-1, 0.01)
    expect([...blendWithNeighbours([a], [a, opposite], [0], { k: 1, power: 3 })[0]]).toEqual([1, 0])
    expect(blendWithNeighbours([Float32Array.of(3, 4)], [Float32Array.of(3, 4)], [0], { k: 10, power: 3 })[0]).toEqual(Float32Array.of(0.6, 0.8))
    expect(blendWithNeighbours([], [a], [], { k: 3, power: 3 })).toEqual([])
  })

  it('against a pool made ready once, blends exactly as against the plain pool', () => {
    const rows = clustered(200, 16, 4, 11)
    const ready = readyPool(rows, NEIGHBOUR_BLEND.centring)
    const selfIndex = rows.map((_, i) => i)
    expect(blendWithPool(rows, ready, selfIndex, NEIGHBOUR_BLEND)).toEqual(blendWithNeighbours(rows, rows, selfIndex, NEIGHBOUR_BLEND))
    // An outside photo, blended twice against the same ready pool: the pool is not changed by use.
    const outside = [rows[3].map((x) => x + 0.01)]
    expect(blendWithPool(outside, ready, [-1], NEIGHBOUR_BLEND)).toEqual(blendWithPool(outside, ready, [-1], NEIGHBOUR_BLEND))
  })

  it('pulls a photo towards its own cluster: blended rows are closer to their cluster mean than the rows were', () => {
    const rows = clustered(300, 16, 3, 5)
    const blended = blendWithNeighbours(rows, rows, rows.map((_, i) => i), { k: 10, power: 3 })
    const cosToMean = (set: Float32Array[]) => {
      const unit = (v: Float32Array) => v.map((x) => x / Math.hypot(...v))
      const means = [0, 1, 2].map((c) => {
        const m = new Float32Array(16)
        set.forEach((r, i) => i % 3 === c && unit(r).forEach((x, d) => (m[d] += x)))
        return unit(m)
      })
      return set.reduce((s, r, i) => s + unit(r).reduce((t, x, d) => t + x * means[i % 3][d], 0), 0) / set.length
    }
    expect(cosToMean(blended)).toBeGreaterThan(cosToMean(rows) + 0.05)
  })
})

describe('blendAmongRows', () => {
  beforeEach(async () => {
    await ensureBackend()
  })

  it('blends each row among all rows (never itself) as blendWithNeighbours does, flat, whatever order the pool sample takes', () => {
    const rows = clustered(90, 10, 3, 4)
    const flat = new Float32Array(90 * 10)
    rows.forEach((r, i) => flat.set(r, i * 10))
    const o = { k: 5, power: 3, pool: 1000 }
    const want = blendWithNeighbours(rows, rows, rows.map((_, i) => i), o)
    const got = blendAmongRows(flat, 10, o, 7)
    want.forEach((row, i) => row.forEach((v, d) => expect(got[i * 10 + d]).toBeCloseTo(v, 5)))
  })

  it('searches a seeded sample of the rows when there are more than the pool holds', () => {
    const rows = clustered(60, 8, 3, 5)
    const flat = new Float32Array(60 * 8)
    rows.forEach((r, i) => flat.set(r, i * 8))
    const o = { k: 3, power: 3, pool: 20 }
    expect(blendAmongRows(flat, 8, o, 1)).toEqual(blendAmongRows(flat, 8, o, 1))
    expect(blendAmongRows(flat, 8, o, 1)).not.toEqual(blendAmongRows(flat, 8, o, 2))
  })
})

describe('blendLibrary', () => {
  it('blends a library step by step as blendInputs does at once, reports each step, and stops when cancelled', async () => {
    await ensureBackend()
    const features = new Map(clustered(1200, 16, 4, 3).map((v, i) => [`h${i}`, v]))
    const pool = poolOf(features, 800)
    const steps: string[] = []
    const stepwise = await blendLibrary(features, pool, NEIGHBOUR_BLEND, { onProgress: (e) => steps.push(`${e.stage} ${e.done}/${e.total}`) })
    expect(steps).toEqual(['neighbours 512/1200', 'neighbours 1024/1200', 'neighbours 1200/1200'])
    const atOnce = blendInputs(features, pool, NEIGHBOUR_BLEND)
    for (const [h, v] of atOnce) [...v].forEach((x, d) => expect(stepwise.get(h)![d]).toBeCloseTo(x, 5))
    // The pool was made ready once, on the first step, and every later blend reused it.
    const ready = pool.ready
    expect(ready?.centring).toBe(NEIGHBOUR_BLEND.centring)
    blendInputs(new Map([['h0', features.get('h0')!]]), pool, NEIGHBOUR_BLEND)
    expect(pool.ready).toBe(ready)
    // Against another centring the pool is made ready anew.
    const plain = blendInputs(new Map([['h0', features.get('h0')!]]), pool, { ...NEIGHBOUR_BLEND, centring: 0 })
    expect(pool.ready?.centring).toBe(0)
    expect([...plain.get('h0')!]).toEqual([...blendWithNeighbours([features.get('h0')!], pool.features, [pool.position.get('h0') ?? -1], { ...NEIGHBOUR_BLEND, centring: 0 })[0]])
    const cancel = new AbortController()
    const cancelled = blendLibrary(features, pool, NEIGHBOUR_BLEND, { onProgress: () => cancel.abort(), signal: cancel.signal })
    await expect(cancelled).rejects.toBeInstanceOf(TrainingCancelled)
  })
})

describe('a library encodes its photos blended with their neighbours', () => {
  const BACKBONE = 'test-backbone'
  const trainOptions = { M: 4, K: 16, D: 12 }
  let dir: string
  let db: Db
  const features = clustered(120, 24, 6, 9)
  const hashOf = (i: number) => `h${String(i).padStart(4, '0')}`

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'lookalike-neighbours-'))
    db = openDb(join(dir, 'lib.sqlite'))
    db.prepare('INSERT INTO roots (id, path, added_at) VALUES (1, ?, ?)').run('/photos', Date.now())
  })
  /** Photos 0 … n−1: a photo row (id i + 1) and a stored feature each. */
  function addPhotos(from: number, to: number): void {
    for (let i = from; i < to; i++) db.prepare("INSERT INTO photos (id, root_id, rel_path, size, mtime_ms, hash, status) VALUES (?, 1, ?, 1, 1, ?, 'ok')").run(i + 1, `${i}.jpg`, hashOf(i))
    putFeatures(db, BACKBONE, features.slice(from, to).map((vector, j) => ({ hash: hashOf(from + j), vector })))
  }
  afterEach(() => {
    db.close()
    rmSync(dir, { recursive: true, force: true })
  })

  const codesOf = (modelId: number) => {
    const { hashes, codes } = codesFor(db, modelId)
    const M = codes.length / hashes.length
    return new Map(hashes.map((h, i) => [h, [...codes.subarray(i * M, (i + 1) * M)]]))
  }

  it('the first model records the blend; its codes and those of a photo added later are the blended features encoded', async () => {
    addPhotos(0, 100)
    const stages: string[] = []
    const { modelId } = await ensureCodes(db, BACKBONE, { trainOptions, onProgress: (e) => stages.push(`${e.stage} ${e.done}/${e.total}`) })
    // The blend is a step of its own the status bar shows, before the codebooks.
    expect(stages[0]).toBe('neighbours 100/100')
    expect(stages).toContain('unsupervised 4/4')
    const active = loadActiveModel(db)!
    expect(active.model.params.neighbours).toEqual(NEIGHBOUR_BLEND)
    const stored = codesOf(modelId!)
    const library = featuresFor(db, BACKBONE)
    const blended = blendInputs(library, libraryPool(db, BACKBONE, NEIGHBOUR_BLEND.pool), NEIGHBOUR_BLEND)
    const hashes = [...blended.keys()]
    const expected = active.model.encode(hashes.map((h) => blended.get(h)!))
    const M = active.model.M
    hashes.forEach((h, i) => expect(stored.get(h)).toEqual([...expected.subarray(i * M, (i + 1) * M)]))
    // Its own feature alone would give other codes for some photos: the blend is what was encoded.
    const plain = active.model.encode(hashes.map((h) => library.get(h)!))
    expect(hashes.some((h, i) => stored.get(h)!.join() !== [...plain.subarray(i * M, (i + 1) * M)].join())).toBe(true)

    // A photo added later: blended against the library as it is now, with the same model.
    addPhotos(100, 101)
    const later = await ensureCodes(db, BACKBONE, { trainOptions })
    expect(later).toEqual({ modelId, encoded: 1 })
    const pool = libraryPool(db, BACKBONE, NEIGHBOUR_BLEND.pool)
    const newRow = blendInputs(new Map([[hashOf(100), features[100]]]), pool, NEIGHBOUR_BLEND).get(hashOf(100))!
    expect(codesOf(modelId!).get(hashOf(100))).toEqual([...active.model.encode([newRow])])
  })

  it('a model fitted without the blend is refitted once, as for any better method', async () => {
    addPhotos(0, 60)
    const { modelId: old } = await ensureCodes(db, BACKBONE, { trainOptions })
    const params = JSON.parse(db.prepare<[number], { params: string }>('SELECT params FROM models WHERE id = ?').get(old!)!.params)
    delete params.neighbours
    db.prepare('UPDATE models SET params = ? WHERE id = ?').run(JSON.stringify(params), old)
    expect(pendingTraining(db, BACKBONE)).toBe('better method')
    const refit = await ensureCodes(db, BACKBONE, { trainOptions })
    expect(refit.modelId).not.toBe(old)
    expect(loadActiveModel(db)!.model.params.neighbours).toEqual(NEIGHBOUR_BLEND)
    expect(pendingTraining(db, BACKBONE)).toBeNull()
  })

  it('a model blended without centring (the first blend) is refitted once as well', async () => {
    addPhotos(0, 60)
    const { modelId: old } = await ensureCodes(db, BACKBONE, { trainOptions })
    const params = JSON.parse(db.prepare<[number], { params: string }>('SELECT params FROM models WHERE id = ?').get(old!)!.params)
    params.neighbours = { k: 10, power: 3, pool: 5000 }
    db.prepare('UPDATE models SET params = ? WHERE id = ?').run(JSON.stringify(params), old)
    expect(pendingTraining(db, BACKBONE)).toBe('better method')
    expect((await ensureCodes(db, BACKBONE, { trainOptions })).modelId).not.toBe(old)
    expect(loadActiveModel(db)!.model.params.neighbours).toEqual(NEIGHBOUR_BLEND)
  })

  it('keeps each blended embedding with its code; search queries and exact mode use them, an outside image is blended on the spot', async () => {
    addPhotos(0, 100)
    const { modelId } = await ensureCodes(db, BACKBONE, { trainOptions })
    const { model } = loadActiveModel(db)!
    const library = featuresFor(db, BACKBONE)
    const blended = blendInputs(library, libraryPool(db, BACKBONE, NEIGHBOUR_BLEND.pool), NEIGHBOUR_BLEND)
    const stored = embeddingsByHash(db, modelId!, library.keys())
    expect(stored.size).toBe(100)
    for (const [hash, x] of stored) [...x].forEach((v, d) => expect(v).toBeCloseTo(model.embed([blended.get(hash)!])[0][d], 4))

    const search = new LibrarySearch(db, { loadActiveModel, codesByHash, embeddingsByHash })
    search.reload()
    // Exact mode ranks by the cosine of the query and each stored embedding: the top 5 of photo 1 are the 5 best of those.
    const query = stored.get(hashOf(0))!
    const byScore = [...stored].filter(([h]) => h !== hashOf(0)).map(([h, x]) => ({ id: Number(h.slice(1)) + 1, s: x.reduce((t, v, d) => t + v * query[d], 0) / Math.hypot(...x) }))
    byScore.sort((a, b) => b.s - a.s)
    const exact = search.similarToPhoto(1, 'exact', 5)
    expect(exact.results.map((r) => r.id)).toEqual(byScore.slice(0, 5).map((r) => r.id))
    expect(search.similarToPhoto(1, 32, 5).results).toHaveLength(5)
    // An image from outside (photo 1's own feature): blended with the library, itself included as a neighbour.
    const outside = search.similarToFeature(features[0], 'exact', 5)
    expect(outside.results.map((r) => r.id)[0]).toBe(1)
  })

  it("Retrain on albums in a small library reads the photos' own features and blends their learned embeddings instead; search, exact mode and later photos read them so", async () => {
    addPhotos(0, 120)
    const { modelId: unsupervised } = await ensureCodes(db, BACKBONE, { trainOptions })
    // Two albums of 15 photos from two of the six clusters (photo i is in cluster i % 6).
    for (const cluster of [0, 1]) addToAlbum(db, createAlbum(db, `cluster ${cluster}`).id, Array.from({ length: 15 }, (_, j) => 6 * j + cluster + 1))
    const { modelId, before, after } = await retrain(db, BACKBONE, { trainOptions: { ...trainOptions, epochs: 2 } })
    const active = loadActiveModel(db)!
    const { model } = active
    expect(active.id).toBe(modelId)
    expect(model.params.neighbours).toBeUndefined()
    expect(model.params.embeddingNeighbours).toEqual(EMBEDDING_NEIGHBOURS)
    expect(Object.keys(before)).toContain('32')
    expect(Object.keys(after)).toContain('32')
    expect(unsupervised).not.toBe(modelId)

    // Each photo's embedding is its own plus its nearest photos' in the library (never itself), kept with its code.
    const library = featuresFor(db, BACKBONE)
    const hashes = [...library.keys()].sort()
    const own = model.embed(hashes.map((h) => library.get(h)!))
    const mixed = blendWithNeighbours(own, own, hashes.map((_, i) => i), EMBEDDING_NEIGHBOURS)
    const stored = embeddingsByHash(db, modelId, hashes)
    expect(stored.size).toBe(120)
    hashes.forEach((h, i) => [...stored.get(h)!].forEach((v, d) => expect(v).toBeCloseTo(mixed[i][d], 4)))
    const i5 = hashes.indexOf(hashOf(5))
    expect(codesOf(modelId).get(hashOf(5))).toEqual([...quantize(model, mixed[i5])])
    // Its own embedding alone would be another vector.
    expect(Math.max(...[...own[i5]].map((v, d) => Math.abs(v / Math.hypot(...own[i5]) - mixed[i5][d])))).toBeGreaterThan(0.01)

    // Exact mode ranks by the stored embeddings; an outside image (photo 1's feature) is blended on the spot and finds photo 1 first.
    const search = new LibrarySearch(db, { loadActiveModel, codesByHash, embeddingsByHash })
    search.reload()
    const query = stored.get(hashOf(0))!
    const byScore = [...stored].filter(([h]) => h !== hashOf(0)).map(([h, x]) => ({ id: Number(h.slice(1)) + 1, s: x.reduce((t, v, d) => t + v * query[d], 0) / Math.hypot(...x) }))
    byScore.sort((a, b) => b.s - a.s)
    expect(search.similarToPhoto(1, 'exact', 5).results.map((r) => r.id)).toEqual(byScore.slice(0, 5).map((r) => r.id))
    expect(search.similarToFeature(features[0], 'exact', 5).results[0].id).toBe(1)

    // A photo added later is blended against the library's embeddings under the same model.
    db.prepare("INSERT INTO photos (id, root_id, rel_path, size, mtime_ms, hash, status) VALUES (121, 1, 'new.jpg', 1, 1, 'hnew', 'ok')").run()
    putFeatures(db, BACKBONE, [{ hash: 'hnew', vector: features[3] }])
    expect(await ensureCodes(db, BACKBONE, { trainOptions })).toEqual({ modelId, encoded: 1 })
    const pool = own
    const [newRow] = blendWithNeighbours(model.embed([features[3]]), pool, [-1], EMBEDDING_NEIGHBOURS)
    ;[...embeddingsByHash(db, modelId, ['hnew']).get('hnew')!].forEach((v, d) => expect(v).toBeCloseTo(newRow[d], 4))
    expect(codesOf(modelId).get('hnew')).toEqual([...quantize(model, newRow)])
  })

  it('Retrain with no album fits the unsupervised model, blended as the library fits it', async () => {
    addPhotos(0, 60)
    const { modelId } = await retrain(db, BACKBONE, { trainOptions })
    const active = loadActiveModel(db)!
    expect(active.id).toBe(modelId)
    expect(active.model.params.neighbours).toEqual(NEIGHBOUR_BLEND)
    expect(embeddingsByHash(db, modelId, [hashOf(0)]).size).toBe(1)
  })

  it('Retrain blends a large enough library whose albums hold a handful of photos, as the unsupervised model does', async () => {
    const many = clustered(RETRAIN_BLEND.minPhotos, 24, 6, 11)
    for (let i = 0; i < many.length; i++) db.prepare("INSERT INTO photos (id, root_id, rel_path, size, mtime_ms, hash, status) VALUES (?, 1, ?, 1, 1, ?, 'ok')").run(i + 1, `${i}.jpg`, hashOf(i))
    putFeatures(db, BACKBONE, many.map((vector, i) => ({ hash: hashOf(i), vector })))
    await ensureCodes(db, BACKBONE, { trainOptions })
    for (const cluster of [0, 1]) addToAlbum(db, createAlbum(db, `cluster ${cluster}`).id, Array.from({ length: 10 }, (_, j) => 6 * j + cluster + 1))
    const { modelId } = await retrain(db, BACKBONE, { trainOptions: { ...trainOptions, epochs: 2 } })
    const { model } = loadActiveModel(db)!
    expect(model.params.neighbours).toEqual(NEIGHBOUR_BLEND)
    const library = featuresFor(db, BACKBONE)
    const blended = blendInputs(library, libraryPool(db, BACKBONE, NEIGHBOUR_BLEND.pool), NEIGHBOUR_BLEND)
    const stored = embeddingsByHash(db, modelId, [hashOf(7)]).get(hashOf(7))!
    ;[...stored].forEach((v, d) => expect(v).toBeCloseTo(model.embed([blended.get(hashOf(7))!])[0][d], 4))
  })
})

describe('blendsForRetrain', () => {
  it('needs enough photos and albums of a handful of photos (median)', () => {
    const albums = (sizes: number[]) => sizes.flatMap((n, a) => Array.from({ length: n }, () => [a]))
    const library = (sizes: number[], photos: number) => [...albums(sizes), ...Array.from({ length: photos - sizes.reduce((s, n) => s + n, 0) }, () => [])]
    expect(blendsForRetrain(5000, library([10, 10, 10], 5000))).toBe(true)
    expect(blendsForRetrain(5000, library([20, 20, 500], 5000))).toBe(true)
    expect(blendsForRetrain(5000, library([50, 50, 100], 5000))).toBe(true)
    expect(blendsForRetrain(5000, library([51, 100, 100], 5000))).toBe(false)
    expect(blendsForRetrain(999, library([10, 10], 999))).toBe(false)
    expect(blendsForRetrain(5000, library([], 5000))).toBe(false)
  })

  it('where features are not blended, the learned embeddings are', () => {
    expect(embeddingNeighboursFor(false)).toEqual(EMBEDDING_NEIGHBOURS)
    expect(embeddingNeighboursFor(true)).toBeNull()
  })
})
