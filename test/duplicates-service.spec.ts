// Duplicates through the service on a real library file: a fixture folder with planted copies (a
// resize, a heavy re-encode, a byte-level copy elsewhere), a stand-in feature (the photo's colour
// layout) so the test runs in seconds, and the first DPQ model trained as in the app. Checks the
// groups and keeper, that "not duplicates" and stacks persist by content across a reopen and a
// move, that stacks collapse the grid, that albums reach the keeper before the (faked) trash
// takes the copies, and that web mode and the CLI have no way to delete.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createService, type LookalikeService } from '../src/core/service.ts'
import { callService } from '../src/core/service/calls.ts'
import { indexRoot } from '../src/core/library/indexer.ts'
import { openDb } from '../src/core/store/db.ts'
import { createIpcDispatcher, type Sender } from '../src/main/ipc.ts'
import { trashDuplicates } from '../src/main/trash.ts'
import { TRASH_CHANNEL } from '../src/preload/channels.ts'
import { startServer } from '../src/server/index.ts'
import { createWebApi } from '../src/shared/web-client.ts'
import type { DuplicateReport, JobProgress } from '../src/shared/types.ts'
import type { Embedder } from '../src/core/types.ts'
import { runCli } from './fixtures/cli.ts'
import { call, waitFor } from './fixtures/service.ts'

/** A stand-in backbone: the 8 × 8 colour layout of the model input, centred. */
const layout: Embedder = {
  backboneId: 'test:colour-layout-8x8',
  backend: 'cpu',
  dim: 192,
  async embed(inputs) {
    return inputs.map((px) => {
      const side = Math.round(Math.sqrt(px.length / 3))
      const cell = side / 8
      const v = new Float32Array(192)
      for (let y = 0; y < side; y++) for (let x = 0; x < side; x++) for (let c = 0; c < 3; c++) v[(Math.floor(y / cell) * 8 + Math.floor(x / cell)) * 3 + c] += px[(y * side + x) * 3 + c] - 128
      const norm = Math.hypot(...v) || 1
      return v.map((x) => x / norm)
    })
  },
  async close() {},
}
const trainOptions = { M: 4, K: 16, D: 8, hidden: 16, epochs: 2 }

/** A photo of random colour blocks (seeded), `size` px square. */
async function blocks(file: string, seed: number, size = 256): Promise<void> {
  let s = seed
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 255
  const raw = Buffer.from(Array.from({ length: 8 * 8 * 3 }, next))
  await sharp(raw, { raw: { width: 8, height: 8, channels: 3 } }).resize(size, size, { kernel: 'nearest' }).jpeg({ quality: 92 }).toFile(file)
}

let dir: string
let photos: string
let dbFile: string
let service: LookalikeService

async function open(): Promise<LookalikeService> {
  return createService({ dbFile, embedder: layout, watch: false, trainOptions })
}

async function ready(s: LookalikeService, tier: 'duplicates' | 'similar' = 'duplicates', threshold?: number): Promise<DuplicateReport> {
  let report = await call(s, 'duplicates', { tier, threshold })
  await waitFor(async () => (report = await call(s, 'duplicates', { tier, threshold })).state === 'ready', 'the duplicate pass')
  return report
}

const names = (report: DuplicateReport) => report.groups.map((g) => g.photos.map((p) => basename(p.path)).sort())
const idOf = async (s: LookalikeService, name: string) => (await call(s, 'listPhotos', { limit: 1000 })).photos.find((p) => basename(p.relPath) === name)?.id ?? -1

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lookalike-duplicates-'))
  photos = join(dir, 'photos')
  mkdirSync(join(photos, 'trip'), { recursive: true })
  for (let i = 0; i < 10; i++) await blocks(join(photos, `p${i}.jpg`), 1000 + i * 7919)
  // planted copies of p0: half size, and re-encoded at quality 30; p1 copied byte for byte
  await sharp(join(photos, 'p0.jpg')).resize(128).jpeg({ quality: 85 }).toFile(join(photos, 'p0-small.jpg'))
  await sharp(join(photos, 'p0.jpg')).jpeg({ quality: 30 }).toFile(join(photos, 'p0-q30.jpg'))
  copyFileSync(join(photos, 'p1.jpg'), join(photos, 'trip', 'p1-copy.jpg'))
  dbFile = join(dir, 'library.sqlite')
  service = await open()
  await call(service, 'addRoot', { path: photos })
  await waitFor(async () => {
    const s = await call(service, 'status', {})
    return s.photos === 13 && s.model !== null && s.jobs.every((j) => j.state !== 'running' && j.state !== 'queued')
  }, 'indexing and the first model')
}, 180_000)

afterAll(async () => {
  await service?.close()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

describe('finding duplicates', () => {
  it('groups the planted copies, largest group first, and suggests the best copy to keep', async () => {
    const report = await ready(service)
    expect(report.checked).toBe(13)
    expect(names(report)).toEqual([
      ['p0-q30.jpg', 'p0-small.jpg', 'p0.jpg'],
      ['p1-copy.jpg', 'p1.jpg'],
    ])
    const [first] = report.groups
    // full resolution beats half; of the two full-size copies the less compressed one
    expect(basename(first.photos.find((p) => p.id === first.keeperId)!.path)).toBe('p0.jpg')
    expect(first.photos[0].id).toBe(first.keeperId)
    const small = first.photos.find((p) => p.path.endsWith('p0-small.jpg'))!
    expect(small).toMatchObject({ width: 128, height: 128, format: 'JPEG' })
    expect(small.score).toBeGreaterThan(0.9)
  })

  it('regroups at another threshold, and remembers the one the user sets', async () => {
    // just above the weakest copy's best match, that copy leaves its group
    const [group] = (await ready(service)).groups
    const weakest = group.photos.reduce((w, p) => (p.score < w.score ? p : w))
    const strict = await ready(service, 'duplicates', Math.min(1, weakest.score + 1e-4))
    expect(strict.groups.flatMap((g) => g.photos.map((p) => p.id))).not.toContain(weakest.id)
    expect(names(strict)).toContainEqual(['p1-copy.jpg', 'p1.jpg'])
    await call(service, 'setDuplicateThreshold', { tier: 'duplicates', threshold: 0.95 })
    expect((await ready(service)).savedThreshold).toBe(0.95)
    expect((await call(service, 'status', {})).duplicates?.thresholds.duplicates).toBe(0.95)
  })

  it('runs the whole-library pass as a job with progress that can be cancelled', async () => {
    const events: JobProgress[] = []
    const off = service.onEvent((e) => {
      if (e.type === 'job' && e.job.kind === 'duplicates') events.push(e.job)
    })
    const stopped = await call(service, 'scanDuplicates', {})
    await call(service, 'cancelJob', { jobId: stopped.jobId })
    await waitFor(() => events.some((j) => j.jobId === stopped.jobId && j.state === 'cancelled'), 'the cancelled pass')
    // the groups of the last finished pass stay on show
    expect((await ready(service)).groups.length).toBeGreaterThan(0)
    const again = await call(service, 'scanDuplicates', {})
    await waitFor(() => events.some((j) => j.jobId === again.jobId && j.state === 'done'), 'the second pass')
    expect(events.some((j) => j.jobId === again.jobId && j.state === 'running' && j.total === 13 && j.done === 13)).toBe(true)
    off()
  })

  it('hashes the stored thumbnails of a library indexed before perceptual hashes, as part of the pass', async () => {
    const other = openDb(dbFile)
    const contents = other.prepare<[], { n: number }>("SELECT COUNT(DISTINCT hash) AS n FROM photos WHERE status = 'ok'").get()!.n
    other.prepare('DELETE FROM perceptual_hashes').run()
    const events: JobProgress[] = []
    const off = service.onEvent((e) => {
      if (e.type === 'job' && e.job.kind === 'duplicates') events.push(e.job)
    })
    const pass = await call(service, 'scanDuplicates', {})
    await waitFor(() => events.some((j) => j.jobId === pass.jobId && j.state === 'done'), 'the pass')
    off()
    expect(events.some((j) => j.jobId === pass.jobId && j.current === 'hashing thumbnails' && j.done === contents && j.total === contents)).toBe(true)
    expect(other.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM perceptual_hashes').get()!.n).toBe(contents)
    other.close()
    expect(names(await ready(service))).toContainEqual(['p1-copy.jpg', 'p1.jpg'])
  })

  it('checks a photo added after the pass against the library on its own', async () => {
    // the app's way in: the folder watcher indexes the new file, the code keeper encodes it
    await service.close()
    service = await createService({ dbFile, embedder: layout, watch: true, trainOptions })
    const first = await ready(service)
    const passes = () => call(service, 'status', {}).then((s) => s.jobs.filter((j) => j.kind === 'duplicates').length)
    const before = await passes()
    await sharp(join(photos, 'p2.jpg')).webp({ quality: 70 }).toFile(join(photos, 'p2-messenger.webp'))
    let report = first
    await waitFor(async () => names((report = await ready(service))).some((g) => g.includes('p2-messenger.webp')), 'the new photo to be grouped', 90_000)
    expect(names(report)).toContainEqual(['p2-messenger.webp', 'p2.jpg'])
    expect(report.checked).toBe(first.checked + 1)
    expect(await passes()).toBe(before)
    await service.close()
    service = await open()
  }, 120_000)
})

describe('decisions persist by content', () => {
  it('"not duplicates" hides the group, survives a reopen and a move, and shows in status', async () => {
    const before = await ready(service)
    const pair = before.groups.find((g) => g.photos.some((p) => p.path.endsWith('p1-copy.jpg')))!
    await call(service, 'dismissDuplicates', { photoIds: pair.photos.map((p) => p.id) })
    expect(names(await ready(service))).not.toContainEqual(['p1-copy.jpg', 'p1.jpg'])

    await service.close()
    renameSync(join(photos, 'trip', 'p1-copy.jpg'), join(photos, 'p1-moved.jpg'))
    const db = openDb(dbFile)
    try {
      await indexRoot(db, photos, { thumbnailDir: `${dbFile}.thumbnails`, embedder: layout })
    } finally {
      db.close()
    }
    service = await open()
    const after = await ready(service)
    expect(after.groups.flatMap((g) => g.photos.map((p) => basename(p.path)))).not.toContain('p1-moved.jpg')
    expect((await call(service, 'status', {})).duplicates?.dismissedPairs).toBe(1)
  })

  it('a stack shows as one tile with a count, and can be undone', async () => {
    const report = await ready(service)
    const group = report.groups.find((g) => g.photos.length === 3)!
    const totalBefore = (await call(service, 'listPhotos', {})).total
    await call(service, 'stackPhotos', { keeperId: group.keeperId, photoIds: group.photos.map((p) => p.id) })
    const listed = await call(service, 'listPhotos', { limit: 1000 })
    expect(listed.total).toBe(totalBefore - 2)
    expect(listed.photos.find((p) => p.id === group.keeperId)?.stack).toBe(3)
    expect(listed.photos.filter((p) => group.photos.some((g) => g.id === p.id))).toHaveLength(1)
    // a stacked group is resolved: it leaves the review
    expect((await ready(service)).groups.some((g) => g.key === group.key)).toBe(false)
    const status = await call(service, 'status', {})
    expect(status.duplicates).toMatchObject({ stacks: 1, stackedPhotos: 3 })
    expect(await call(service, 'listStacks', {})).toEqual([{ stackId: expect.any(Number), keeperId: group.keeperId, photoIds: group.photos.map((p) => p.id).sort((a, b) => a - b) }])

    await call(service, 'unstackPhotos', { photoId: group.keeperId })
    expect((await call(service, 'listPhotos', {})).total).toBe(totalBefore)
  })
})

describe('removing copies', () => {
  const window: Sender = { webContentsId: 1, frame: { url: 'file:///app/index.html', parent: null } }

  it('desktop: albums move to the keeper before the copies go to the trash', async () => {
    const report = await ready(service)
    const group = report.groups.find((g) => g.photos.length === 3)!
    const keeper = group.keeperId
    const others = group.photos.filter((p) => p.id !== keeper)
    const trip = await call(service, 'createAlbum', { name: 'Trip' })
    await call(service, 'addToAlbum', { albumId: trip.id, photoIds: [others[0].id] })
    expect((await call(service, 'getPhoto', { id: keeper })).albums).not.toContain(trip.id)

    const trash = join(dir, 'trash')
    mkdirSync(trash)
    const seen: { file: string; keeperAlbums: number[] }[] = []
    const fakeTrash = async (file: string) => {
      seen.push({ file, keeperAlbums: (await call(service, 'getPhoto', { id: keeper })).albums })
      renameSync(file, join(trash, basename(file)))
    }
    const { dispatch, channels } = createIpcDispatcher({
      service,
      appUrl: 'file:///app/index.html',
      windowContentsId: () => 1,
      pickFolder: async () => null,
      trashDuplicates: (input) => trashDuplicates(service, input, fakeTrash),
    })
    expect(channels).toContain(TRASH_CHANNEL)
    const answer = await dispatch(TRASH_CHANNEL, window, { keeperId: keeper, photoIds: others.map((p) => p.id) })
    expect(answer).toEqual({ result: { trashed: 2, failed: [] } })
    expect(seen.map((s) => s.file).sort()).toEqual(others.map((p) => p.path).sort())
    for (const s of seen) expect(s.keeperAlbums).toContain(trip.id)
    for (const p of others) expect(existsSync(p.path)).toBe(false)
    const listed = await call(service, 'listPhotos', { limit: 1000 })
    expect(listed.photos.map((p) => p.id)).toContain(keeper)
    for (const p of others) expect(listed.photos.map((x) => x.id)).not.toContain(p.id)
    expect((await call(service, 'listAlbums', {})).find((a) => a.id === trip.id)?.photos).toBe(1)
  })

  it('desktop: refuses a keeper among the copies and arguments outside the contract', async () => {
    const { dispatch } = createIpcDispatcher({ service, appUrl: 'file:///app/index.html', windowContentsId: () => 1, pickFolder: async () => null, trashDuplicates: (input) => trashDuplicates(service, input, async () => {}) })
    const id = await idOf(service, 'p3.jpg')
    expect(await dispatch(TRASH_CHANNEL, window, { keeperId: id, photoIds: [id] })).toMatchObject({ error: { code: 'bad-request' } })
    expect(await dispatch(TRASH_CHANNEL, window, { keeperId: id, photoIds: 'all' })).toMatchObject({ error: { code: 'bad-request' } })
    expect(existsSync(join(photos, 'p3.jpg'))).toBe(true)
  })

  it('web mode and the CLI have no delete path: listing and export only', async () => {
    const id = await idOf(service, 'p2.jpg')
    const other = await idOf(service, 'p2-messenger.webp')
    await expect(callService(service, 'trashDuplicates', { keeperId: id, photoIds: [other] })).rejects.toMatchObject({ code: 'not-found' })
    const server = await startServer({ service, port: 0, webDir: join(dir, 'no-web-build') })
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const req = request(`${server.origin}/api/trashDuplicates`, { method: 'POST', headers: { Authorization: `Bearer ${server.token}`, 'Content-Type': 'application/json' } }, (res) => {
          res.resume()
          resolve(res.statusCode ?? 0)
        })
        req.on('error', reject)
        req.end(JSON.stringify({ keeperId: id, photoIds: [other] }))
      })
      expect(status).toBe(404)
      const web = createWebApi(server.origin, server.token)
      expect(web.trashDuplicates).toBeUndefined()
      web.close()
    } finally {
      await server.close()
    }
    expect(existsSync(join(photos, 'p2-messenger.webp'))).toBe(true)

    await service.close()
    const cli = runCli(['duplicates', '--db', dbFile, '--json'])
    expect(cli.code, cli.stderr).toBe(0)
    const listed = JSON.parse(cli.stdout) as { groups: { photos: { path: string }[] }[]; rows: { keep: boolean; path: string }[] }
    expect(listed.groups.map((g) => g.photos.map((p) => basename(p.path)).sort())).toContainEqual(['p2-messenger.webp', 'p2.jpg'])
    expect(listed.rows.filter((r) => r.keep)).toHaveLength(listed.groups.length)
    const csv = runCli(['duplicates', '--db', dbFile, '--csv'])
    expect(csv.stdout.split('\r\n')[0]).toBe('group,keep,id,path,width,height,size,format,takenAt,camera,score')
    expect(runCli(['duplicates', '--db', dbFile, '--delete']).code).not.toBe(0)
    expect(existsSync(join(photos, 'p2-messenger.webp'))).toBe(true)
    service = await open()
  }, 120_000)
})
