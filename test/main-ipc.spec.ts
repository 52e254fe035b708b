// The desktop transport end to end, minus Electron: preload's window.lookalike → IPC dispatcher →
// a real service on a real SQLite file, and the lookalike:// protocol resolving ids to files.
import { mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import sharp from 'sharp'
import { ApiError, methods } from '../src/shared/contract.ts'
import { createService, type LookalikeService } from '../src/core/service.ts'
import { openDb } from '../src/core/store/db.ts'
import { addRoot } from '../src/core/store/roots.ts'
import { writePhoto } from '../src/core/store/photos.ts'
import { createIpcDispatcher, isTrustedSender, type Sender } from '../src/main/ipc.ts'
import { parseImageUrl, resolveImageRequest } from '../src/main/protocol.ts'
import { buildDesktopApi, desktopImageUrl } from '../src/preload/api.ts'
import { EVENT_CHANNEL, PICK_FOLDER_CHANNEL } from '../src/preload/channels.ts'

const APP = 'file:///app/out/renderer/index.html'
const WINDOW = 7
const ourWindow: Sender = { webContentsId: WINDOW, frame: { url: APP, parent: null } }

let dir: string
let service: LookalikeService
let photoId: number
let escapeeId: number

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lookalike-ipc-'))
  const photos = join(dir, 'photos')
  mkdirSync(photos)
  const jpeg = join(photos, 'beach.jpg')
  await sharp({ create: { width: 40, height: 30, channels: 3, background: '#3080c0' } }).jpeg().toFile(jpeg)
  const outside = join(dir, 'secret.jpg')
  await sharp({ create: { width: 8, height: 8, channels: 3, background: '#000' } }).jpeg().toFile(outside)
  symlinkSync(outside, join(photos, 'escape.jpg'))

  const dbFile = join(dir, 'library.sqlite')
  const db = openDb(dbFile)
  const root = addRoot(db, photos)
  const facts = { size: statSync(jpeg).size, mtimeMs: 0, hash: 'h1', width: 40, height: 30, takenAt: null, camera: null, orientation: null, status: 'ok' as const, error: null }
  photoId = writePhoto(db, root.id, 'beach.jpg', facts)
  escapeeId = writePhoto(db, root.id, 'escape.jpg', { ...facts, hash: 'h2' })
  db.close()
  service = await createService({ dbFile, embedder: null, watch: false })
})

afterAll(async () => {
  await service?.close()
  rmSync(dir, { recursive: true, force: true })
})

function dispatcher(picked: string | null = '/home/me/Pictures') {
  return createIpcDispatcher({ service, appUrl: APP, windowContentsId: () => WINDOW, pickFolder: async () => picked, log: () => {} })
}

describe('sender check', () => {
  it('trusts only the top frame of our window on the app page', () => {
    expect(isTrustedSender(ourWindow, WINDOW, APP)).toBe(true)
    expect(isTrustedSender({ ...ourWindow, webContentsId: 8 }, WINDOW, APP)).toBe(false)
    expect(isTrustedSender({ webContentsId: WINDOW, frame: { url: APP, parent: {} } }, WINDOW, APP)).toBe(false)
    expect(isTrustedSender({ webContentsId: WINDOW, frame: { url: 'https://evil.example/', parent: null } }, WINDOW, APP)).toBe(false)
    expect(isTrustedSender({ webContentsId: WINDOW, frame: null }, WINDOW, APP)).toBe(false)
    expect(isTrustedSender(ourWindow, null, APP)).toBe(false)
  })
})

describe('IPC dispatcher', () => {
  it('registers one channel per contract method, plus the folder picker', () => {
    const { channels } = dispatcher()
    expect(channels).toHaveLength(methods.length + 1)
    expect(channels).toContain(PICK_FOLDER_CHANNEL)
  })

  it('answers a trusted call from the real service', async () => {
    const { dispatch } = dispatcher()
    const created = await dispatch('lookalike:createAlbum', ourWindow, { name: '  Beach days ' })
    expect(created).toMatchObject({ result: { name: 'Beach days', photos: 0 } })
    const listed = await dispatch('lookalike:listAlbums', ourWindow, {})
    expect(listed).toMatchObject({ result: [{ name: 'Beach days' }] })
  })

  it('refuses a call from another frame before the service sees it', async () => {
    const { dispatch } = dispatcher()
    const answer = await dispatch('lookalike:createAlbum', { webContentsId: WINDOW, frame: { url: 'https://evil.example/', parent: null } }, { name: 'Injected' })
    expect(answer).toMatchObject({ error: { code: 'bad-request' } })
    const listed = (await dispatch('lookalike:listAlbums', ourWindow, {})) as { result: { name: string }[] }
    expect(listed.result.map((a) => a.name)).not.toContain('Injected')
  })

  it('validates arguments against the contract', async () => {
    const { dispatch } = dispatcher()
    const answer = await dispatch('lookalike:similar', ourWindow, { photoId: -3, precision: 12 })
    expect(answer).toMatchObject({ error: { code: 'bad-request' } })
    expect((answer as { error: { message: string } }).error.message).toMatch(/photoId/)
    const extra = await dispatch('lookalike:listAlbums', ourWindow, { sneaky: true })
    expect(extra).toMatchObject({ error: { code: 'bad-request' } })
    const unknown = await dispatch('lookalike:dropTables', ourWindow, {})
    expect(unknown).toMatchObject({ error: { code: 'not-found' } })
  })

  it('opens the folder picker only for our window', async () => {
    const { dispatch } = dispatcher('/home/me/Pictures')
    expect(await dispatch(PICK_FOLDER_CHANNEL, ourWindow, {})).toEqual({ result: '/home/me/Pictures' })
    expect(await dispatch(PICK_FOLDER_CHANNEL, { ...ourWindow, webContentsId: 99 }, {})).toMatchObject({ error: { code: 'bad-request' } })
  })
})

describe('preload API', () => {
  const listeners = new Map<string, (payload: unknown) => void>()
  // The dispatcher is made per call: the service exists only once beforeAll ran.
  const api = buildDesktopApi(
    (channel, input) => dispatcher().dispatch(channel, ourWindow, input),
    (channel, listener) => {
      listeners.set(channel, listener)
      return () => listeners.delete(channel)
    },
  )

  it('exposes exactly the contract, events, image URLs, the transport and the folder picker', () => {
    expect(Object.keys(api).sort()).toEqual([...methods, 'onEvent', 'imageUrl', 'transport', 'pickFolder', 'trashDuplicates'].sort())
    expect(api.transport).toBe('desktop')
    expect(Object.isFrozen(api)).toBe(true)
  })

  it('round-trips calls and rebuilds errors with their code', async () => {
    const album = await api.createAlbum({ name: 'Mountains' })
    expect(album.name).toBe('Mountains')
    const renamed = await api.renameAlbum({ id: album.id, name: 'Alps' })
    expect(renamed.name).toBe('Alps')
    const failure = await api.getPhoto({ id: 999_999 }).catch((e: unknown) => e)
    expect(failure).toBeInstanceOf(ApiError)
    expect((failure as ApiError).code).toBe('not-found')
    expect(await api.pickFolder!()).toBe('/home/me/Pictures')
  })

  it('delivers engine events and unsubscribes', () => {
    const seen: unknown[] = []
    const off = api.onEvent((e) => seen.push(e))
    listeners.get(EVENT_CHANNEL)!({ type: 'library-changed' })
    off()
    expect(seen).toEqual([{ type: 'library-changed' }])
    expect(listeners.has(EVENT_CHANNEL)).toBe(false)
  })
})

describe('lookalike:// protocol', () => {
  it('parses ids and sizes, nothing else', () => {
    expect(parseImageUrl('lookalike://thumb/12')).toEqual({ photoId: 12, size: 'thumb' })
    expect(parseImageUrl('lookalike://full/3/')).toEqual({ photoId: 3, size: 'full' })
    for (const bad of ['lookalike://full/../../etc/passwd', 'lookalike://full/%2e%2e%2fetc', 'lookalike://full/0', 'lookalike://raw/1', 'lookalike://thumb/1?path=/etc', 'file:///etc/passwd', 'lookalike://thumb/-1', 'lookalike://thumb/1e3'])
      expect(parseImageUrl(bad), bad).toBeNull()
    expect(desktopImageUrl(5, 'full')).toBe('lookalike://full/5')
    expect(parseImageUrl(desktopImageUrl(42, 'thumb'))).toEqual({ photoId: 42, size: 'thumb' })
  })

  it('serves a photo inside its root by id', async () => {
    const answer = await resolveImageRequest(service, 'GET', `lookalike://full/${photoId}`)
    expect(answer).toEqual({ file: expect.stringMatching(/beach\.jpg$/) })
  })

  it('refuses symlinks out of the root, unknown ids, bad URLs and writes', async () => {
    expect(await resolveImageRequest(service, 'GET', `lookalike://full/${escapeeId}`)).toMatchObject({ status: 404 })
    expect(await resolveImageRequest(service, 'GET', 'lookalike://full/424242')).toMatchObject({ status: 404 })
    expect(await resolveImageRequest(service, 'GET', 'lookalike://full/../secret.jpg')).toMatchObject({ status: 400 })
    expect(await resolveImageRequest(service, 'POST', `lookalike://full/${photoId}`)).toMatchObject({ status: 405 })
  })
})
