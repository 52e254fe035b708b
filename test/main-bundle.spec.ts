// The built Electron main (out/main/index.js) started in plain Node with a recording stand-in for
// the `electron` module: checks the wiring that only exists in index.ts — scheme registered before
// ready, permissions denied, a sandboxed window on the built page with the built preload, IPC
// channels for the whole contract answering from a real library, and the image protocol.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { runInNewContext } from 'node:vm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import sharp from 'sharp'
import { methods } from '../src/shared/contract.ts'
import { openDb } from '../src/core/store/db.ts'
import { addRoot } from '../src/core/store/roots.ts'
import { writePhoto } from '../src/core/store/photos.ts'
import { buildComputePage } from '../src/core/compute/chromium.ts'

const REPO = resolve(import.meta.dirname, '..')

// A stand-in that records what main does with Electron's API.
const STUB = `
const rec = (globalThis.__electron = { order: [], handlers: new Map(), windows: [], schemes: null, protocolHandler: null, protocolHandlers: new Map(), portMessages: [], permission: null, check: null, appListeners: new Map() })
let ready
const whenReadyPromise = new Promise((r) => (ready = r))
export const app = {
  isPackaged: false,
  setPath: (name, path) => rec.order.push('setPath:' + name),
  setName() {},
  requestSingleInstanceLock: () => true,
  quit: () => rec.order.push('quit'),
  whenReady: () => { rec.order.push('whenReady'); setTimeout(ready, 10); return whenReadyPromise },
  getPath: () => '/tmp',
  on: (name, fn) => rec.appListeners.set(name, fn),
}
export const protocol = {
  registerSchemesAsPrivileged: (schemes) => { rec.order.push('registerSchemes'); rec.schemes = schemes },
  handle: (scheme, fn) => {
    (rec.protocolSchemes ??= []).push(scheme)
    rec.protocolHandlers.set(scheme, fn)
    if (scheme === 'lookalike') rec.protocolHandler = fn
    if (scheme === 'app') rec.appHandler = fn
  },
}
export const net = { fetch: async (url) => { const fs = await import('node:fs'); const { fileURLToPath } = await import('node:url'); return new Response(fs.readFileSync(fileURLToPath(url)), { status: 200 }) } }
export const session = { defaultSession: {
  setPermissionRequestHandler: (fn) => (rec.permission = fn),
  setPermissionCheckHandler: (fn) => (rec.check = fn),
  setDevicePermissionHandler: () => {},
} }
export const ipcMain = { handle: (channel, fn) => rec.handlers.set(channel, fn), removeHandler() {} }
export const dialog = { showOpenDialog: async () => ({ canceled: false, filePaths: ['/picked/folder'] }) }
export const screen = { getAllDisplays: () => [{ workArea: { x: 0, y: 0, width: 1920, height: 1080 } }] }
export const nativeTheme = { shouldUseDarkColors: false }
export const shell = { openExternal: async () => {} }
let nextId = 1
export class BrowserWindow {
  static getAllWindows() { return rec.windows }
  constructor(options) {
    this.options = options
    this.listeners = new Map()
    const id = nextId++
    this.webContents = {
      id, sent: [], posted: [], listeners: new Map(), openHandler: null,
      mainFrame: { url: '', parent: null },
      send(channel, payload) { this.sent.push([channel, payload]) },
      postMessage(channel, message, ports) { this.posted.push([channel, message, ports?.length ?? 0]) },
      on(name, fn) { this.listeners.set(name, fn); return this },
      once(name, fn) { this.listeners.set(name, fn); return this },
      setWindowOpenHandler(fn) { this.openHandler = fn },
      isDestroyed: () => false,
    }
    rec.windows.push(this)
  }
  async loadURL(url) { this.url = url; this.webContents.mainFrame.url = url }
  async loadFile() {}
  getNormalBounds() { return { x: 0, y: 0, width: 1280, height: 820 } }
  isMaximized() { return false }
  maximize() {}
  show() {}
  destroy() { this.destroyed = true }
  isDestroyed() { return false }
  on(name, fn) { this.listeners.set(name, fn); return this }
  once(name, fn) { this.listeners.set(name, fn); return this }
}
export class MessageChannelMain {
  constructor() {
    const port = () => ({ on() { return this }, start() {}, close() {}, postMessage(m) { rec.portMessages.push(m) } })
    this.port1 = port()
    this.port2 = port()
  }
}
export const contextBridge = { exposeInMainWorld() {} }
export const ipcRenderer = {}
`

const HOOKS = (stubUrl: string) => `
export async function resolve(specifier, context, next) {
  if (specifier === 'electron') return { url: ${JSON.stringify(stubUrl)}, shortCircuit: true }
  return next(specifier, context)
}`

const DRIVER = (hooksUrl: string, bundleUrl: string) =>
  `
import { register } from 'node:module'
register(${JSON.stringify(hooksUrl)})
await import(${JSON.stringify(bundleUrl)})
const rec = globalThis.__electron
const until = async (check) => { for (let i = 0; i < 400 && !check(); i++) await new Promise((r) => setTimeout(r, 25)) }
const titled = (title) => rec.windows.find((w) => w.options.title === title)
await until(() => titled('Lookalike') && titled('Lookalike compute'))
const win = titled('Lookalike')
const compute = titled('Lookalike compute')
compute.webContents.listeners.get('did-finish-load')?.()
await until(() => rec.portMessages.length > 0)
const computePage = await rec.protocolHandlers.get('lookalike-compute')(new Request('lookalike-compute://page/index.html'))
const computeEscape = await rec.protocolHandlers.get('lookalike-compute')(new Request('lookalike-compute://page/..%2Fmain%2Findex.js'))
const ours = { sender: { id: win.webContents.id }, senderFrame: { url: win.url, parent: null } }
const stranger = { sender: { id: 999 }, senderFrame: { url: 'https://evil.example/', parent: null } }
const call = (channel, event, input) => rec.handlers.get(channel)(event, input)
let granted = null
rec.permission(win.webContents, 'media', (g) => (granted = g))
const thumb = await rec.protocolHandler(new Request('lookalike://thumb/424242'))
const bad = await rec.protocolHandler(new Request('lookalike://full/..%2F..%2Fetc%2Fpasswd'))
const full = await rec.protocolHandler(new Request('lookalike://full/' + process.env.PHOTO_ID))
const page = await rec.appHandler(new Request(win.url))
const escape = await rec.appHandler(new Request('app://lookalike/..%2f..%2fpackage.json'))
const out = {
  order: rec.order,
  schemes: rec.schemes,
  protocolSchemes: rec.protocolSchemes,
  pageStatus: page.status,
  pageCache: page.headers.get('cache-control'),
  pageHtml: (await page.text()).includes('<html'),
  escapeStatus: escape.status,
  channels: [...rec.handlers.keys()],
  url: win.url,
  webPreferences: win.options.webPreferences,
  preloadExists: (await import('node:fs')).existsSync(win.options.webPreferences.preload),
  windowOpen: win.webContents.openHandler({ url: 'https://example.com/' }),
  navigationGuarded: win.webContents.listeners.has('will-navigate'),
  permissionGranted: granted,
  permissionCheck: rec.check(win.webContents, 'geolocation'),
  albums: await call('lookalike:listAlbums', ours, {}),
  created: await call('lookalike:createAlbum', ours, { name: 'Trips' }),
  refused: await call('lookalike:createAlbum', stranger, { name: 'Evil' }),
  invalid: await call('lookalike:createAlbum', ours, { name: '' }),
  picked: await call('lookalike:pick-folder', ours, {}),
  thumbStatus: thumb.status,
  badStatus: bad.status,
  fullStatus: full.status,
  fullBytes: (await full.arrayBuffer()).byteLength,
  eventsSent: win.webContents.sent.length,
  compute: {
    url: compute.url,
    show: compute.options.show,
    webPreferences: compute.options.webPreferences,
    preloadExists: (await import('node:fs')).existsSync(compute.options.webPreferences.preload),
    windowOpen: compute.webContents.openHandler({ url: 'https://example.com/' }),
    navigationGuarded: compute.webContents.listeners.has('will-navigate'),
    crashWatched: compute.webContents.listeners.has('render-process-gone'),
    posted: compute.webContents.posted,
    firstRequest: { type: rec.portMessages[0]?.type, weightBytes: rec.portMessages[0]?.artifacts?.weightData?.byteLength ?? 0 },
    pageStatus: computePage.status,
    pageHasCsp: (await computePage.text()).includes('Content-Security-Policy'),
    escapeStatus: computeEscape.status,
  },
  // The embedder's worker entry sits beside the bundle; outside a worker it must refuse, by its own words.
  worker: await import(${JSON.stringify(new URL('./embed-worker.js', bundleUrl).href)}).then(() => 'loaded', (e) => e.message),
}
await rec.appListeners.get('before-quit')?.({ preventDefault() {} })
await new Promise((r) => setTimeout(r, 300))
console.log('RESULT ' + JSON.stringify(out))
process.exit(0)
`

describe('built Electron main, wired', () => {
  let dir: string
  let result: Record<string, any>
  let photoFileSize: number

  beforeAll(async () => {
    const build = spawnSync(process.execPath, [join(REPO, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js'), 'build', '--logLevel', 'warn'], { cwd: REPO, encoding: 'utf8' })
    if (build.status !== 0) throw new Error(`npm run build failed:\n${build.stdout}\n${build.stderr}`)
    buildComputePage()

    dir = mkdtempSync(join(tmpdir(), 'lookalike-main-'))
    const photos = join(dir, 'photos')
    mkdirSync(photos)
    const jpeg = join(photos, 'one.jpg')
    await sharp({ create: { width: 30, height: 20, channels: 3, background: '#c04040' } }).jpeg().toFile(jpeg)
    photoFileSize = statSync(jpeg).size
    const dbFile = join(dir, 'library.sqlite')
    const db = openDb(dbFile)
    const root = addRoot(db, photos)
    const photoId = writePhoto(db, root.id, 'one.jpg', { size: photoFileSize, mtimeMs: 0, hash: 'h', width: 30, height: 20, takenAt: null, camera: null, orientation: null, status: 'ok', error: null })
    db.close()

    const stub = join(dir, 'electron-stub.mjs')
    const hooks = join(dir, 'hooks.mjs')
    const driver = join(dir, 'driver.mjs')
    writeFileSync(stub, STUB)
    writeFileSync(hooks, HOOKS(pathToFileURL(stub).href))
    writeFileSync(driver, DRIVER(pathToFileURL(hooks).href, pathToFileURL(join(REPO, 'out', 'main', 'index.js')).href))
    const run = spawnSync(process.execPath, [driver], {
      cwd: REPO,
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, LOOKALIKE_HOME: join(dir, 'home'), LOOKALIKE_DB: dbFile, PHOTO_ID: String(photoId), ELECTRON_RENDERER_URL: '' },
    })
    const line = run.stdout.split('\n').find((l) => l.startsWith('RESULT '))
    if (!line) throw new Error(`main did not start:\n${run.stdout.slice(-3000)}\n${run.stderr.slice(-3000)}`)
    result = JSON.parse(line.slice('RESULT '.length))
  })

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('registers the app and image schemes as privileged before the app is ready', () => {
    expect(result.order.indexOf('registerSchemes')).toBeLessThan(result.order.indexOf('whenReady'))
    expect(result.schemes).toEqual([
      expect.objectContaining({ scheme: 'app', privileges: expect.objectContaining({ standard: true, secure: true }) }),
      expect.objectContaining({ scheme: 'lookalike', privileges: expect.objectContaining({ standard: true, secure: true }) }),
      expect.objectContaining({ scheme: 'lookalike-compute', privileges: expect.objectContaining({ standard: true, secure: true }) }),
    ])
    expect(result.protocolSchemes).toEqual(['app', 'lookalike', 'lookalike-compute'])
  })

  it('opens one locked-down window on the built page, served from app:// (never file://), with the built preload', () => {
    expect(result.url).toBe('app://lookalike/index.html')
    expect([result.pageStatus, result.pageCache, result.pageHtml]).toEqual([200, 'no-store', true])
    expect(result.escapeStatus).toBe(404)
    expect(existsSync(join(REPO, 'out', 'renderer', 'index.html'))).toBe(true)
    expect(result.webPreferences).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false })
    expect(result.preloadExists).toBe(true)
    expect(result.windowOpen).toEqual({ action: 'deny' })
    expect(result.navigationGuarded).toBe(true)
    expect(result.permissionGranted).toBe(false)
    expect(result.permissionCheck).toBe(false)
  })

  it('answers every contract method over IPC from the library, for our window only', () => {
    // every method, the folder picker, and the desktop-only trash
    expect(result.channels).toHaveLength(methods.length + 2)
    expect(result.albums).toEqual({ result: [] })
    expect(result.created).toMatchObject({ result: { name: 'Trips' } })
    expect(result.refused).toMatchObject({ error: { code: 'bad-request' } })
    expect(result.invalid).toMatchObject({ error: { code: 'bad-request' } })
    expect(result.picked).toEqual({ result: '/picked/folder' })
  })

  it('opens the compute page in a hidden, sandboxed window and hands it the protocol port', () => {
    expect(result.schemes.map((s: { scheme: string }) => s.scheme)).toContain('lookalike-compute')
    expect(result.schemes.find((s: { scheme: string }) => s.scheme === 'lookalike-compute')).toMatchObject({ privileges: { standard: true, secure: true, supportFetchAPI: true } })
    const c = result.compute
    expect(c.url).toBe('lookalike-compute://page/index.html')
    expect(c.show).toBe(false)
    expect(c.webPreferences).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false, backgroundThrottling: false })
    expect(c.webPreferences.preload).toMatch(/out[\\/]preload[\\/]compute\.cjs$/)
    expect(c.preloadExists).toBe(true)
    expect(c.windowOpen).toEqual({ action: 'deny' })
    expect(c.navigationGuarded).toBe(true)
    expect(c.crashWatched).toBe(true)
    expect(c.posted).toEqual([['lookalike:compute-port', null, 1]])
    // The first request over the port: the backbone, weights included.
    expect(c.firstRequest.type).toBe('init')
    expect(c.firstRequest.weightBytes).toBeGreaterThan(1_000_000)
    expect(c.pageStatus).toBe(200)
    expect(c.pageHasCsp).toBe(true)
    expect(c.escapeStatus).toBe(403)
  })

  it('has a compute preload that only hands the port to the page', () => {
    const code = readFileSync(join(REPO, 'out', 'preload', 'compute.cjs'), 'utf8')
    let handler: ((event: { ports: unknown[] }) => void) | null = null
    const posted: unknown[][] = []
    const electron = { ipcRenderer: { once: (channel: string, fn: typeof handler) => channel === 'lookalike:compute-port' && (handler = fn) } }
    const sandboxRequire = (name: string) => {
      if (name === 'electron') return electron
      throw new Error(`a sandboxed preload cannot require ${name}`)
    }
    const module = { exports: {} }
    const window = { postMessage: (...args: unknown[]) => posted.push(args) }
    runInNewContext(code, { require: sandboxRequire, module, exports: module.exports, window, console })
    const port = { fake: 'port' }
    handler!({ ports: [port] })
    expect(posted).toEqual([['lookalike:compute-port', '*', [port]]])
  })

  it('bundles the embedding worker as its own entry beside main', () => {
    expect(result.worker).toMatch(/must run as a worker thread/)
  })

  it('has a preload that runs with nothing but electron and exposes exactly the contract', () => {
    const code = readFileSync(join(REPO, 'out', 'preload', 'index.cjs'), 'utf8')
    const exposed: Record<string, unknown> = {}
    const invoked: unknown[][] = []
    const electron = {
      contextBridge: { exposeInMainWorld: (key: string, api: unknown) => (exposed[key] = api) },
      ipcRenderer: { invoke: async (...args: unknown[]) => (invoked.push(args), { result: [] }), on() {}, removeListener() {} },
    }
    // A sandboxed preload gets `require` for 'electron' only.
    const sandboxRequire = (name: string) => {
      if (name === 'electron') return electron
      throw new Error(`a sandboxed preload cannot require ${name}`)
    }
    const module = { exports: {} }
    runInNewContext(code, { require: sandboxRequire, module, exports: module.exports, console })
    const api = exposed.lookalike as Record<string, unknown>
    expect(Object.keys(api).sort()).toEqual([...methods, 'onEvent', 'imageUrl', 'transport', 'pickFolder', 'trashDuplicates'].sort())
    expect(api.transport).toBe('desktop')
    void (api.listAlbums as (i: object) => Promise<unknown>)({})
    expect(invoked[0]).toEqual(['lookalike:listAlbums', {}])
  })

  it('serves images by id through lookalike://', () => {
    expect(result.fullStatus).toBe(200)
    expect(result.fullBytes).toBe(photoFileSize)
    expect(result.thumbStatus).toBe(404)
    expect(result.badStatus).toBe(400)
  })
})
