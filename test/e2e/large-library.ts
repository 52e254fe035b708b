// A 100,000-photo library for latency runs, built without 100,000 images: a few real photos are
// indexed and encoded by the real service (model, codes, thumbnails), then synthetic photo rows
// are added, each a variant of a real one — its code with a couple of blocks redrawn, its
// thumbnail a hard link to the real one's. Same tables, same module functions the app writes with.
import { linkSync, mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { createService } from '../../src/core/service.ts'
import { openDb } from '../../src/core/store/db.ts'
import { writePhoto } from '../../src/core/store/photos.ts'
import { loadActiveModel } from '../../src/core/modeling/models.ts'
import { codesByHash, writeCodes } from '../../src/core/store/codes.ts'
import { thumbnailPath } from '../../src/core/library/thumbnails.ts'
import { thumbnailDirFor } from '../../src/core/paths.ts'
import { makePhotos } from '../fixtures/photos.ts'

export interface LargeLibrary {
  dbFile: string
  photos: number
  realPhotos: number
  buildSeconds: number
}

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 240_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 250))
  }
}

export async function buildLargeLibrary(dir: string, total = 100_000): Promise<LargeLibrary> {
  const started = performance.now()
  const photosDir = join(dir, 'photos')
  const made = await makePhotos(photosDir, { groups: 4, perGroup: 6, size: 128 })
  const dbFile = join(dir, 'library.sqlite')

  const service = await createService({ dbFile, watch: false })
  try {
    await service.addRoot({ path: photosDir })
    await until(async () => {
      const s = await service.status({})
      return s.photos === made.length && s.model !== null && s.jobs.every((j) => j.state !== 'running' && j.state !== 'queued')
    }, 'indexing and the first model')
  } finally {
    await service.close()
  }

  const db = openDb(dbFile)
  try {
    const stored = loadActiveModel(db)
    if (!stored) throw new Error('no active model after indexing')
    const M = stored.model.M
    const real = db.prepare<[], { id: number; rootId: number; hash: string; width: number; height: number; size: number }>("SELECT id, root_id AS rootId, hash, width, height, size FROM photos WHERE status = 'ok'").all()
    const realCodes = codesByHash(db, stored.id)
    const thumbs = thumbnailDirFor(dbFile)
    const extra = total - real.length
    const hashes: string[] = []
    const codes = new Uint8Array(extra * M)
    let seed = 12345
    const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32)
    const base = Date.UTC(2015, 0, 1)
    const insert = db.transaction((from: number, to: number) => {
      for (let i = from; i < to; i++) {
        const source = real[i % real.length]
        const hash = `synthetic${String(i).padStart(7, '0')}${source.hash.slice(0, 8)}`
        writePhoto(db, source.rootId, `synthetic/${String(Math.floor(i / 1000)).padStart(3, '0')}/${String(i).padStart(6, '0')}.jpg`, {
          size: source.size,
          mtimeMs: base + i * 60_000,
          hash,
          width: source.width,
          height: source.height,
          takenAt: base + i * 60_000,
          camera: null,
          orientation: null,
          status: 'ok',
          error: null,
        })
        const code = codes.subarray(i * M, (i + 1) * M)
        code.set(realCodes.get(source.hash)!)
        for (let b = 0; b < 2; b++) code[Math.floor(random() * M)] = Math.floor(random() * 256)
        hashes.push(hash)
        const link = thumbnailPath(thumbs, hash)
        mkdirSync(dirname(link), { recursive: true })
        linkSync(thumbnailPath(thumbs, source.hash), link)
      }
    })
    for (let from = 0; from < extra; from += 5000) insert(from, Math.min(extra, from + 5000))
    writeCodes(db, stored.id, hashes, codes)
    return { dbFile, photos: real.length + extra, realPhotos: real.length, buildSeconds: (performance.now() - started) / 1000 }
  } finally {
    db.close()
  }
}
