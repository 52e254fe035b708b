import { copyFileSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createEmbedder } from '../src/core/embed/embedder.ts'
import type { Embedder } from '../src/core/types.ts'
import { openDb, type Db } from '../src/core/store/db.ts'
import { indexRoot } from '../src/core/library/indexer.ts'
import { featuresFor, hashesWithoutFeature } from '../src/core/store/features.ts'
import { makePhotos } from './fixtures/photos.ts'

let real: Embedder
let embedded = 0
/** The real backbone, counting how many images it is asked to embed. */
let counting: Embedder
const base = mkdtempSync(join(tmpdir(), 'lookalike-embed-'))

beforeAll(async () => {
  real = await createEmbedder({ threads: 0 })
  counting = {
    backboneId: real.backboneId,
    backend: real.backend,
    dim: real.dim,
    embed: async (inputs) => {
      embedded += inputs.length
      return real.embed(inputs)
    },
    close: () => real.close(),
  }
})
afterAll(async () => {
  await real?.close()
  rmSync(base, { recursive: true, force: true })
})

describe('indexing with the real backbone', () => {
  it('embeds each content once: duplicates, moves and rescans reuse the cached feature', async () => {
    const photos = join(base, 'photos')
    const db: Db = openDb(join(base, 'lib.sqlite'))
    const thumbnailDir = join(base, 'thumbs')
    const made = await makePhotos(photos, { groups: 2, perGroup: 3 })
    mkdirSync(join(photos, 'copies'))
    copyFileSync(made[0].path, join(photos, 'copies', 'duplicate.jpg'))

    // Indexed first without a backbone (as `--no-embed` does): features come later.
    expect(await indexRoot(db, photos, { thumbnailDir })).toMatchObject({ indexed: 7, failed: 0 })
    expect(hashesWithoutFeature(db, real.backboneId)).toHaveLength(6)

    const written: { id: number; hash: string }[] = []
    const withFeatures = await indexRoot(db, photos, { thumbnailDir, embedder: counting, onPhotosWritten: (p) => written.push(...p) })
    expect(withFeatures.failed).toBe(0)
    expect(embedded).toBe(6) // 7 files, 6 contents
    expect(hashesWithoutFeature(db, real.backboneId)).toEqual([])
    expect(new Set(written.map((w) => w.hash)).size).toBe(6)
    const features = featuresFor(db, real.backboneId)
    expect(features.size).toBe(6)
    for (const vector of features.values()) {
      expect(vector.length).toBe(real.dim)
      expect(vector.every(Number.isFinite)).toBe(true)
    }

    // Nothing changed: nothing embedded. A moved file: nothing embedded either.
    expect(await indexRoot(db, photos, { thumbnailDir, embedder: counting })).toMatchObject({ indexed: 0, skipped: 7 })
    renameSync(made[3].path, join(photos, 'copies', 'moved.jpg'))
    expect(await indexRoot(db, photos, { thumbnailDir, embedder: counting })).toMatchObject({ indexed: 1, skipped: 6 })
    expect(embedded).toBe(6)

    // Look-alikes: a photo's nearest neighbour by feature is from its own group.
    const byGroup = made.filter((m) => m !== made[3]).map((m) => {
      const hash = (db.prepare('SELECT hash FROM photos WHERE rel_path = ?').get(m.relPath) as { hash: string }).hash
      return { group: m.group, vector: features.get(hash)! }
    })
    const cosine = (a: Float32Array, b: Float32Array) => {
      let dot = 0, na = 0, nb = 0
      for (let i = 0; i < a.length; i++) (dot += a[i] * b[i]), (na += a[i] * a[i]), (nb += b[i] * b[i])
      return dot / Math.sqrt(na * nb)
    }
    for (const photo of byGroup) {
      const nearest = byGroup.filter((o) => o !== photo).sort((x, y) => cosine(photo.vector, y.vector) - cosine(photo.vector, x.vector))[0]
      expect(nearest.group).toBe(photo.group)
    }
    db.close()
  })

  it('stops cleanly when the backbone fails, and a rerun picks up where it stopped', async () => {
    const photos = join(base, 'photos-2')
    const db: Db = openDb(join(base, 'lib-2.sqlite'))
    const thumbnailDir = join(base, 'thumbs-2')
    await makePhotos(photos, { groups: 2, perGroup: 6 })
    let batches = 0
    const failing: Embedder = {
      ...counting,
      embed: async (inputs) => {
        if (++batches === 2) throw new Error('backbone crashed')
        return counting.embed(inputs)
      },
    }
    await expect(indexRoot(db, photos, { thumbnailDir, embedder: failing, batchSize: 4 })).rejects.toThrow('backbone crashed')
    const job = db.prepare('SELECT state, error FROM jobs').get()
    expect(job).toEqual({ state: 'failed', error: 'backbone crashed' })
    // The first batch is in, with its features; nothing of the failed batch was written.
    expect(db.prepare("SELECT COUNT(*) AS n FROM photos WHERE status = 'ok'").get()).toEqual({ n: 4 })
    expect(hashesWithoutFeature(db, real.backboneId)).toEqual([])

    expect(await indexRoot(db, photos, { thumbnailDir, embedder: counting })).toMatchObject({ indexed: 8, skipped: 4, failed: 0 })
    expect(hashesWithoutFeature(db, real.backboneId)).toEqual([])
    expect(db.prepare("SELECT COUNT(*) AS n FROM photos WHERE status = 'ok'").get()).toEqual({ n: 12 })
    db.close()
  })
})
