// A library indexed when features were made from the photo's centre crop, opened by a Lookalike that
// letterboxes the whole photo: the features are recomputed in the background while search, by photo
// and by an outside image, keeps answering with the centre-cropped feature and its model, then the
// library switches. A real SQLite file, JPEGs written by sharp, real tfjs embedders.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { backboneId, CROPPED_REGION_FEATURE, FEATURE } from '../src/core/embed/backbone.ts'
import { createInProcessEmbedder } from '../src/core/embed/in-process.ts'
import { createService, type LookalikeService } from '../src/core/service.ts'
import { openDb } from '../src/core/store/db.ts'
import { activeModelBackbone } from '../src/core/store/models.ts'
import type { Embedder } from '../src/core/types.ts'
import type { LibraryEvent } from '../src/shared/types.ts'
import { makePhotos, type MadePhoto } from './fixtures/photos.ts'
import { call, waitFor } from './fixtures/service.ts'

describe('upgrading centre-cropped features to letterboxed ones', () => {
  let dir: string
  let dbFile: string
  let made: MadePhoto[]
  let cropped: Embedder
  let letterboxed: Embedder
  let service: LookalikeService | null = null
  const events: LibraryEvent[] = []
  const open = async (embedder: Embedder) => {
    service = await createService({ dbFile, embedder, watch: false, trainOptions: { epochs: 3, seed: 7, batchSize: 16 }, upgradeBatch: 4 })
    service.onEvent((e) => events.push(e))
    return service
  }
  const activeBackbone = () => {
    const db = openDb(dbFile)
    try {
      return activeModelBackbone(db)?.backbone
    } finally {
      db.close()
    }
  }
  const upgradeEnded = (from: number) =>
    events.slice(from).find((e) => e.type === 'job' && e.job.kind === 'upgrade' && e.job.state !== 'running' && e.job.state !== 'queued')
  /** Every photo, searched by its own file's bytes as an outside image, comes back first. */
  const findsItselfByImage = async (s: LookalikeService) => {
    const { photos } = await call(s, 'listPhotos', { sort: 'name', limit: 100 })
    for (const m of made) {
      const { results } = await call(s, 'similarToImage', { data: readFileSync(m.path).toString('base64'), precision: 'exact', k: 1 })
      expect(results[0].id, m.relPath).toBe(photos.find((p) => p.relPath === m.relPath)!.id)
    }
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lookalike-framing-'))
    dbFile = join(dir, 'lib.sqlite')
    const photosDir = join(dir, 'photos')
    made = await makePhotos(photosDir, { groups: 2, perGroup: 5, size: 160, seed: 9 }) // 4 : 3, so the framings differ
    cropped = await createInProcessEmbedder({ feature: CROPPED_REGION_FEATURE })
    letterboxed = await createInProcessEmbedder({ feature: FEATURE })
    const old = await open(cropped)
    await call(old, 'addRoot', { path: photosDir })
    await waitFor(() => events.some((e) => e.type === 'model-changed'), 'the first model')
    await old.close()
    service = null
  })

  afterAll(async () => {
    await service?.close()
    await cropped?.close()
    await letterboxed?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('the library holds the centre-cropped feature under the id libraries stored it by', () => {
    expect(cropped.backboneId).toBe(backboneId(CROPPED_REGION_FEATURE))
    expect(letterboxed.backboneId).not.toBe(cropped.backboneId)
    expect(activeBackbone()).toBe(cropped.backboneId)
  })

  it('cancelled halfway through the upgrade: search by an outside image still answers with the old feature', async () => {
    const from = events.length
    const upgraded = await open(letterboxed)
    const off = upgraded.onEvent((e) => {
      if (e.type === 'job' && e.job.kind === 'upgrade' && e.job.state === 'running' && e.job.done > 0) void upgraded.cancelJob({ jobId: e.job.jobId })
    })
    await waitFor(() => !!upgradeEnded(from), 'the upgrade job to stop')
    off()
    expect(upgradeEnded(from)).toMatchObject({ job: { state: 'cancelled' } })
    expect(activeBackbone()).toBe(cropped.backboneId)
    await findsItselfByImage(upgraded)
    await upgraded.close()
    service = null
  })

  it('reopened, the upgrade finishes and the library switches to the letterboxed feature', async () => {
    const from = events.length
    const upgraded = await open(letterboxed)
    await waitFor(() => !!upgradeEnded(from), 'the upgrade to finish')
    expect(upgradeEnded(from)).toMatchObject({ job: { state: 'done' } })
    await waitFor(() => events.slice(from).some((e) => e.type === 'model-changed'), 'the switch')
    expect(activeBackbone()).toBe(letterboxed.backboneId)
    expect((await call(upgraded, 'status', {})).upgrade).toBeUndefined()
    await findsItselfByImage(upgraded)
  })
})
