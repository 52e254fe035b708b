// Features are computed once per file content and backbone: duplicates, reruns and moved files
// reuse the stored vector. Real indexer, real SQLite file, real JPEGs, a real embedder counted by
// a thin wrapper.
import { copyFileSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createInProcessEmbedder } from '../src/core/embed/in-process.ts'
import { indexRoot } from '../src/core/library/indexer.ts'
import { thumbnailDirFor } from '../src/core/paths.ts'
import { openDb, type Db } from '../src/core/store/db.ts'
import { featureCounts, getFeature } from '../src/core/store/features.ts'
import type { Embedder } from '../src/core/types.ts'

const dir = mkdtempSync(join(tmpdir(), 'lookalike-embed-cache-'))
const photos = join(dir, 'photos')
const dbFile = join(dir, 'library.sqlite')
let real: Embedder
let db: Db

/** Counts the photos that actually reach the backbone. */
function counting(embedder: Embedder, backboneId = embedder.backboneId) {
  const counter = { inputs: 0, calls: 0 }
  const wrapped: Embedder = {
    backboneId,
    backend: embedder.backend,
    dim: embedder.dim,
    embed(inputs) {
      counter.calls++
      counter.inputs += inputs.length
      return embedder.embed(inputs)
    },
    close: async () => {},
  }
  return { wrapped, counter }
}

async function photo(name: string, hue: string): Promise<void> {
  await sharp({ create: { width: 400, height: 300, channels: 3, background: hue } })
    .composite([{ input: Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="400" height="300"><circle cx="${hue.length * 30}" cy="150" r="80" fill="#fff"/></svg>`) }])
    .jpeg()
    .toFile(join(photos, name))
}

beforeAll(async () => {
  mkdirSync(join(photos, 'trip'), { recursive: true })
  await photo('a.jpg', '#cc2200')
  await photo('b.jpg', '#0044aa')
  await photo('trip/c.jpg', '#118833')
  copyFileSync(join(photos, 'a.jpg'), join(photos, 'trip', 'a-copy.jpg'))
  real = await createInProcessEmbedder()
  db = openDb(dbFile)
})

afterAll(async () => {
  db?.close()
  await real?.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('feature cache', () => {
  it('embeds each distinct content once, a duplicate file included', async () => {
    const { wrapped, counter } = counting(real)
    const summary = await indexRoot(db, photos, { thumbnailDir: thumbnailDirFor(dbFile), embedder: wrapped })
    expect(summary.indexed).toBe(4)
    expect(counter.inputs).toBe(3)
    expect(featureCounts(db)).toEqual([{ backbone: real.backboneId, count: 3, dim: real.dim }])
  })

  it('does not embed again on a rerun or after a move', async () => {
    const { wrapped, counter } = counting(real)
    await indexRoot(db, photos, { thumbnailDir: thumbnailDirFor(dbFile), embedder: wrapped })
    renameSync(join(photos, 'b.jpg'), join(photos, 'trip', 'b-moved.jpg'))
    const summary = await indexRoot(db, photos, { thumbnailDir: thumbnailDirFor(dbFile), embedder: wrapped })
    expect(summary.failed).toBe(0)
    expect(counter.inputs).toBe(0)
  })

  it('re-embeds, without mixing, when the backbone changes', async () => {
    const { wrapped, counter } = counting(real, `${real.backboneId}+next`)
    await indexRoot(db, photos, { thumbnailDir: thumbnailDirFor(dbFile), embedder: wrapped })
    expect(counter.inputs).toBe(3)
    const counts = featureCounts(db).sort((x, y) => x.backbone.localeCompare(y.backbone))
    expect(counts.map((c) => [c.backbone, c.count])).toEqual([
      [real.backboneId, 3],
      [`${real.backboneId}+next`, 3],
    ])
    const hash = db.prepare<[], { hash: string }>("SELECT hash FROM photos WHERE rel_path = 'a.jpg'").get()!.hash
    expect(Array.from(getFeature(db, hash, `${real.backboneId}+next`)!)).toEqual(Array.from(getFeature(db, hash, real.backboneId)!))
  })
})
