// Web mode over real HTTP and WebSocket: a real service on a real SQLite file, real JPEGs.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { createService, type LookalikeService } from '../src/core/service.ts'
import { openDb } from '../src/core/store/db.ts'
import { writePhoto } from '../src/core/store/photos.ts'
import { addRoot } from '../src/core/store/roots.ts'
import { startServer, type WebServer } from '../src/server/index.ts'
import { ApiError } from '../src/shared/contract.ts'
import type { LibraryEvent } from '../src/shared/types.ts'
import { createWebApi } from '../src/shared/web-client.ts'

interface Reply {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: Buffer
  json(): { result?: unknown; error?: { code: string; message: string } }
}

function request(server: WebServer, path: string, options: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: server.port, path, method: options.method ?? 'GET', headers: options.headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const body = Buffer.concat(chunks)
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body.toString()) })
      })
    })
    req.on('error', reject)
    if (options.body !== undefined) req.write(options.body)
    req.end()
  })
}

const api = (server: WebServer, method: string, input: unknown, headers: Record<string, string> = {}) =>
  request(server, `/api/${method}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${server.token}`, 'Content-Type': 'application/json', ...headers },
    body: typeof input === 'string' ? input : JSON.stringify(input),
  })

function openSocket(url: string, headers: Record<string, string> = {}): Promise<{ socket: WebSocket; events: LibraryEvent[] } | { refused: number }> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url, { headers })
    const events: LibraryEvent[] = []
    socket.on('message', (data) => events.push(JSON.parse(String(data)) as LibraryEvent))
    socket.on('open', () => resolve({ socket, events }))
    socket.on('unexpected-response', (_req, res) => resolve({ refused: res.statusCode ?? 0 }))
    socket.on('error', () => resolve({ refused: -1 }))
  })
}

/** The event socket opens on its own time: change an album's name until an event has arrived. */
async function pokeUntilEvent(api: { renameAlbum(input: { id: number; name: string }): Promise<unknown> }, albumId: number, events: unknown[], ms = 5000): Promise<void> {
  const end = Date.now() + ms
  for (let n = 0; events.length === 0; n++) {
    if (Date.now() > end) throw new Error('no event arrived')
    await api.renameAlbum({ id: albumId, name: `poke ${albumId} ${n}` })
    await new Promise((r) => setTimeout(r, 20))
  }
}

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out waiting')
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe('web mode server', () => {
  let dir: string
  let service: LookalikeService
  let server: WebServer
  let photoId: number
  let outsideId: number
  let failedId: number
  let webDir: string

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lookalike-server-'))
    const photos = join(dir, 'photos')
    mkdirSync(photos)
    const jpeg = await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 200, g: 40, b: 40 } } }).jpeg().toBuffer()
    writeFileSync(join(photos, 'red.jpg'), jpeg)
    writeFileSync(join(dir, 'secret.jpg'), jpeg)
    webDir = join(dir, 'web')
    mkdirSync(join(webDir, 'assets'), { recursive: true })
    writeFileSync(join(webDir, 'index.html'), '<!doctype html><title>Lookalike</title><script type="module" src="/assets/app.js"></script>')
    writeFileSync(join(webDir, 'assets', 'app.js'), 'console.log("hi")')

    // A photo inside its root, and a crafted row whose relative path climbs out of it.
    const dbFile = join(dir, 'lib.sqlite')
    const db = openDb(dbFile)
    const root = addRoot(db, photos)
    const facts = { size: jpeg.length, mtimeMs: Date.now(), hash: 'h1', width: 64, height: 48, takenAt: null, camera: null, orientation: 1, status: 'ok' as const, error: null }
    photoId = writePhoto(db, root.id, 'red.jpg', facts)
    outsideId = writePhoto(db, root.id, '../secret.jpg', { ...facts, hash: 'h2' })
    failedId = writePhoto(db, root.id, 'broken.jpg', { ...facts, hash: null, status: 'failed', error: 'truncated or corrupt image: file ends early' })
    db.close()

    service = await createService({ dbFile, embedder: null, watch: false })
    server = await startServer({ service, port: 0, webDir })
  })

  afterAll(async () => {
    await server?.close()
    await service?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('listens on 127.0.0.1 with a per-launch token in its URL', async () => {
    expect(server.url).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${server.port}/\\?token=[A-Za-z0-9_-]{40,}$`))
    const other = await startServer({ service, port: 0, webDir })
    expect(other.token).not.toBe(server.token)
    await other.close()
  })

  it('answers API calls only with the right token', async () => {
    const ok = await api(server, 'status', {})
    expect(ok.status).toBe(200)
    expect(ok.json().result).toMatchObject({ photos: 2, albums: 0 })

    const missing = await request(server, '/api/status', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' })
    expect(missing.status).toBe(401)
    expect(missing.json().error?.message).toMatch(/token/i)
    const wrong = await api(server, 'status', {}, { Authorization: 'Bearer not-the-token' })
    expect(wrong.status).toBe(401)
    const viaQuery = await request(server, `/api/status?token=${server.token}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' })
    expect(viaQuery.status).toBe(200)
  })

  it('browses folders (names of directories only) for token holders, starting at the home folder', async () => {
    const home = (await api(server, 'browseFolders', {})).json().result as { path: string; home: string }
    expect(home.path).toBe(home.home)
    const missing = await request(server, '/api/browseFolders', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' })
    expect(missing.status).toBe(401)
    const listing = (await api(server, 'browseFolders', { path: dir })).json().result as { path: string; folders: { name: string }[] }
    expect(listing.path).toBe(dir)
    expect(listing.folders.map((f) => f.name)).toContain('photos')
    expect(JSON.stringify(listing)).not.toMatch(/\.jpg/)
  })

  it('refuses foreign Host and Origin headers (DNS rebinding, cross-site pages)', async () => {
    const rebound = await api(server, 'status', {}, { Host: `evil.example:${server.port}` })
    expect(rebound.status).toBe(403)
    const crossSite = await api(server, 'status', {}, { Origin: 'http://evil.example' })
    expect(crossSite.status).toBe(403)
    const otherPort = await api(server, 'status', {}, { Origin: `http://127.0.0.1:${server.port + 1}` })
    expect(otherPort.status).toBe(403)
    const page = await request(server, '/', { headers: { Host: 'evil.example' } })
    expect(page.status).toBe(403)
    const sameOrigin = await api(server, 'status', {}, { Origin: `http://localhost:${server.port}`, Host: `localhost:${server.port}` })
    expect(sameOrigin.status).toBe(200)
  })

  it('answers malformed calls with 4xx and a message that says what is wrong', async () => {
    const badJson = await api(server, 'createAlbum', '{"name":')
    expect(badJson.status).toBe(400)
    expect(badJson.json().error?.message).toMatch(/not valid JSON/)

    const badArgs = await api(server, 'createAlbum', { name: '   ' })
    expect(badArgs.status).toBe(400)
    expect(badArgs.json().error).toMatchObject({ code: 'bad-request' })
    expect(badArgs.json().error?.message).toMatch(/createAlbum.*name/)

    const extra = await api(server, 'getPhoto', { id: 1, path: '/etc/passwd' })
    expect(extra.status).toBe(400)

    const unknown = await api(server, 'dropTables', {})
    expect(unknown.status).toBe(404)
    expect(unknown.json().error?.message).toMatch(/Unknown method: dropTables/)

    const get = await request(server, `/api/status?token=${server.token}`)
    expect(get.status).toBe(405)

    const formPost = await api(server, 'status', '{}', { 'Content-Type': 'text/plain' })
    expect(formPost.status).toBe(400)

    const huge = await api(server, 'createAlbum', { name: 'x'.repeat(2 * 1024 * 1024) })
    expect(huge.status).toBe(413)

    const missing = await api(server, 'getPhoto', { id: 999 })
    expect(missing.status).toBe(404)
    expect(missing.json().error?.message).toMatch(/No photo with id 999/)

    expect((await api(server, 'createAlbum', { name: 'Cats' })).status).toBe(200)
    const taken = await api(server, 'createAlbum', { name: 'Cats' })
    expect(taken.status).toBe(409)
    expect(taken.json().error?.message).toMatch(/already exists/)
  })

  it('serves images by photo id only, and only from inside the library root', async () => {
    const full = await request(server, `/images/full/${photoId}?token=${server.token}`)
    expect(full.status).toBe(200)
    expect(full.headers['content-type']).toBe('image/jpeg')
    expect(full.headers['content-security-policy']).toContain('sandbox')
    const again = await request(server, `/images/full/${photoId}?token=${server.token}`, { headers: { 'If-None-Match': String(full.headers.etag) } })
    expect(again.status).toBe(304)
    expect((await sharp(full.body).metadata()).width).toBe(64)

    const noToken = await request(server, `/images/full/${photoId}`)
    expect(noToken.status).toBe(401)
    const escaping = await request(server, `/images/full/${outsideId}?token=${server.token}`)
    expect(escaping.status).toBe(404)
    expect(escaping.json().error?.message).toMatch(/outside/)
    for (const path of ['/images/full/../../secret.jpg', '/images/full/%2e%2e%2fsecret.jpg', `/images/full/${encodeURIComponent(join(dir, 'secret.jpg'))}`, '/images/full/1e3', '/images/big/1']) {
      const res = await request(server, `${path}${path.includes('?') ? '&' : '?'}token=${server.token}`)
      expect(res.status, path).toBe(404)
    }
    const unknown = await request(server, `/images/full/4242?token=${server.token}`)
    expect(unknown.status).toBe(404)
  })

  it('serves the built renderer with a strict CSP and never a file outside it', async () => {
    const page = await request(server, '/')
    expect(page.status).toBe(200)
    expect(page.body.toString()).toContain('<title>Lookalike</title>')
    const csp = String(page.headers['content-security-policy'])
    expect(csp).toContain("default-src 'self'")
    expect(csp).toContain("script-src 'self'")
    expect(csp).not.toMatch(/script-src[^;]*unsafe/)
    expect(csp).toContain("frame-ancestors 'none'")
    expect(page.headers['referrer-policy']).toBe('no-referrer')

    const script = await request(server, '/assets/app.js')
    expect(script.status).toBe(200)
    expect(script.headers['content-type']).toMatch(/javascript/)
    for (const path of ['/../secret.jpg', '/assets/..%2f..%2fsecret.jpg', '/%2e%2e/secret.jpg', '/assets/%00.js', '/..%5csecret.jpg']) {
      const res = await request(server, path)
      expect(res.status, path).toBe(404)
      expect(res.body.includes(Buffer.from([0xff, 0xd8]))).toBe(false)
    }
  })

  it('HTML is never cached (no-store); assets are revalidated', async () => {
    const page = await request(server, '/')
    expect(page.headers['cache-control']).toBe('no-store')
    const index = await request(server, '/index.html')
    expect(index.headers['cache-control']).toBe('no-store')
    const script = await request(server, '/assets/app.js')
    expect(script.headers['cache-control']).toBe('no-cache')
  })

  it('a client that goes away mid-request is not logged as an error', async () => {
    const logged: unknown[][] = []
    const original = console.error
    console.error = (...args: unknown[]) => void logged.push(args)
    try {
      await new Promise<void>((resolve) => {
        const req = httpRequest({
          host: '127.0.0.1',
          port: server.port,
          path: '/api/listAlbums',
          method: 'POST',
          headers: { Authorization: `Bearer ${server.token}`, 'Content-Type': 'application/json', 'Content-Length': '5000' },
        })
        req.on('error', () => resolve())
        req.write('{"a":')
        setTimeout(() => {
          req.destroy()
          resolve()
        }, 100)
      })
      await new Promise((r) => setTimeout(r, 300))
      // The server still answers, and said nothing about the aborted call.
      expect((await api(server, 'listAlbums', {})).status).toBe(200)
    } finally {
      console.error = original
    }
    expect(logged).toEqual([])
  })

  it('a photo that failed to index cannot be added to an album', async () => {
    const created = await api(server, 'createAlbum', { name: 'Only real photos' })
    const albumId = (created.json().result as { id: number }).id
    const refused = await api(server, 'addToAlbum', { albumId, photoIds: [photoId, failedId] })
    expect(refused.status).toBe(404)
    expect(refused.json().error?.message).toMatch(new RegExp(`photo ${failedId}.*could not be indexed|could not be indexed.*${failedId}`))
    const album = await api(server, 'addToAlbum', { albumId, photoIds: [photoId] })
    expect(album.json().result).toMatchObject({ photos: 1 })
  })

  it('says how to build the renderer when out/web is missing', async () => {
    const bare = await startServer({ service, port: 0, webDir: join(dir, 'no-such-build') })
    expect(bare.webBuilt).toBe(false)
    const page = await request(bare, '/')
    expect(page.body.toString()).toContain('npm run build:web')
    await bare.close()
  })

  it('pushes library events over /events to token holders only', async () => {
    const base = `ws://127.0.0.1:${server.port}/events`
    expect(await openSocket(base)).toEqual({ refused: 401 })
    expect(await openSocket(`${base}?token=wrong`)).toEqual({ refused: 401 })
    expect(await openSocket(`${base}?token=${server.token}`, { Origin: 'http://evil.example' })).toEqual({ refused: 403 })

    const open = await openSocket(`${base}?token=${server.token}`)
    if (!('socket' in open)) throw new Error(`refused: ${open.refused}`)
    await api(server, 'createAlbum', { name: 'Dogs' })
    await until(() => open.events.some((e) => e.type === 'library-changed'))
    open.socket.close()
  })

  it('web client: the contract over HTTP, errors as ApiError, events over WebSocket', async () => {
    const client = createWebApi(server.origin, server.token, { WebSocket: WebSocket as never })
    expect(client.transport).toBe('web')
    const events: LibraryEvent[] = []
    const stop = client.onEvent((e) => events.push(e))
    const album = await client.createAlbum({ name: 'Birds' })
    expect(album).toMatchObject({ name: 'Birds', photos: 0 })
    const added = await client.addToAlbum({ albumId: album.id, photoIds: [photoId] })
    expect(added.photos).toBe(1)
    const listed = await client.listPhotos({ albumId: album.id })
    expect(listed.photos.map((p) => p.id)).toEqual([photoId])

    const err = await client.createAlbum({ name: 'Birds' }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ApiError)
    expect(err).toMatchObject({ code: 'conflict' })

    const thumb = new URL(client.imageUrl(photoId, 'full'))
    expect(thumb.pathname).toBe(`/images/full/${photoId}`)
    expect(thumb.searchParams.get('token')).toBe(server.token)
    expect((await request(server, thumb.pathname + thumb.search)).status).toBe(200)

    await pokeUntilEvent(client, album.id, events)
    expect(events.every((e) => e.type === 'library-changed')).toBe(true)
    stop()
    client.close()
  })

  it('web client: reconnects its event socket after the server comes back, and asks for a refresh', async () => {
    const first = await startServer({ service, port: 0, webDir })
    const client = createWebApi(first.origin, first.token, { WebSocket: WebSocket as never, reconnectMs: 50 })
    const events: LibraryEvent[] = []
    client.onEvent((e) => events.push(e))
    const album = await client.createAlbum({ name: 'Before restart' })
    await pokeUntilEvent(client, album.id, events)
    await first.close()
    const second = await startServer({ service, port: first.port, token: first.token, webDir })
    try {
      const seen = events.length
      await until(() => events.length > seen) // the refresh hint after reconnecting
      expect(events[seen]).toEqual({ type: 'library-changed' })
      await client.renameAlbum({ id: album.id, name: 'After restart' })
      await until(() => events.length > seen + 1)
    } finally {
      client.close()
      await second.close()
    }
  })
})
