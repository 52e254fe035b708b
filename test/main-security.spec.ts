// The Electron shell's security rules, checked without Electron: web preferences, which URLs count
// as the app, navigation / new-window / permission denial, and the window's remembered size.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { Session, WebContents } from 'electron'
import { denyAllPermissions, hardenWebContents, isAppUrl, secureWebPreferences } from '../src/main/security.ts'
import { DEFAULT_STATE, fitToDisplays, loadWindowState, saveWindowState } from '../src/main/window-state.ts'

const APP = 'file:///opt/Lookalike/resources/app.asar/out/renderer/index.html'

describe('web preferences', () => {
  it('isolate, sandbox and keep Node away from the page', () => {
    const prefs = secureWebPreferences('/app/out/preload/index.cjs')
    expect(prefs).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false, webSecurity: true, webviewTag: false, allowRunningInsecureContent: false })
    expect(prefs.preload).toBe('/app/out/preload/index.cjs')
  })
})

describe('isAppUrl', () => {
  it('accepts only the app page itself', () => {
    expect(isAppUrl(APP, APP)).toBe(true)
    expect(isAppUrl(`${APP}#album`, APP)).toBe(true)
    expect(isAppUrl('file:///etc/passwd', APP)).toBe(false)
    expect(isAppUrl('https://example.com/', APP)).toBe(false)
    expect(isAppUrl('lookalike://full/1', APP)).toBe(false)
    expect(isAppUrl('not a url', APP)).toBe(false)
  })
  it('treats the dev server by origin', () => {
    const dev = 'http://localhost:5173/'
    expect(isAppUrl('http://localhost:5173/src/main.ts', dev)).toBe(true)
    expect(isAppUrl('http://localhost:5174/', dev)).toBe(false)
    expect(isAppUrl('https://localhost:5173/', dev)).toBe(false)
  })
})

/** Records what the shell registers on a web contents, so the test can fire events at it. */
function fakeContents() {
  const listeners = new Map<string, (details: { preventDefault(): void; url?: string }) => void>()
  let openHandler: ((details: { url: string }) => { action: string }) | null = null
  const contents = {
    on(name: string, listener: (details: { preventDefault(): void; url?: string }) => void) {
      listeners.set(name, listener)
      return contents
    },
    setWindowOpenHandler(handler: (details: { url: string }) => { action: string }) {
      openHandler = handler
    },
  }
  const fire = (name: string, url?: string) => {
    let prevented = false
    listeners.get(name)!({ preventDefault: () => (prevented = true), url })
    return prevented
  }
  return { contents: contents as unknown as WebContents, fire, open: (url: string) => openHandler!({ url }) }
}

describe('hardenWebContents', () => {
  it('blocks navigation and redirects away from the app, and every new window', () => {
    const { contents, fire, open } = fakeContents()
    hardenWebContents(contents, APP)
    expect(fire('will-navigate', 'https://evil.example/')).toBe(true)
    expect(fire('will-redirect', 'file:///home/user/.ssh/id_rsa')).toBe(true)
    expect(fire('will-frame-navigate', 'https://evil.example/frame')).toBe(true)
    expect(fire('will-navigate', `${APP}#reload`)).toBe(false)
    expect(fire('will-attach-webview')).toBe(true)
    expect(open('https://example.com/').action).toBe('deny')
    expect(open(APP).action).toBe('deny')
  })
})

describe('denyAllPermissions', () => {
  it('answers no to every permission request and check', () => {
    let request: ((c: unknown, p: string, cb: (granted: boolean) => void) => void) | null = null
    let check: ((c: unknown, p: string) => boolean) | null = null
    const session = {
      setPermissionRequestHandler: (h: typeof request) => (request = h),
      setPermissionCheckHandler: (h: typeof check) => (check = h),
    } as unknown as Session
    denyAllPermissions(session)
    for (const permission of ['media', 'geolocation', 'notifications', 'openExternal', 'clipboard-read']) {
      let granted: boolean | null = null
      request!(null, permission, (g) => (granted = g))
      expect(granted).toBe(false)
      expect(check!(null, permission)).toBe(false)
    }
  })
})

describe('window state', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lookalike-window-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('reopens at the size and place it was closed', () => {
    const file = join(dir, 'state.json')
    saveWindowState(file, { bounds: { x: 100, y: 80, width: 1400, height: 900 }, maximized: false })
    expect(loadWindowState(file)).toEqual({ bounds: { x: 100, y: 80, width: 1400, height: 900 }, maximized: false })
  })

  it('falls back to the default on a missing or garbled file', () => {
    expect(loadWindowState(join(dir, 'none.json'))).toEqual(DEFAULT_STATE)
    const garbled = join(dir, 'garbled.json')
    writeFileSync(garbled, '{"bounds": {"width": "wide"')
    expect(loadWindowState(garbled)).toEqual(DEFAULT_STATE)
  })

  it('forgets a position on a display that is gone and shrinks to the largest screen', () => {
    const laptop = [{ x: 0, y: 0, width: 1440, height: 860 }]
    const fitted = fitToDisplays({ bounds: { x: 2200, y: 100, width: 1800, height: 1000 }, maximized: false }, laptop)
    expect(fitted.bounds).toEqual({ width: 1440, height: 860 })
    const kept = fitToDisplays({ bounds: { x: 50, y: 40, width: 1000, height: 700 }, maximized: false }, laptop)
    expect(kept.bounds).toEqual({ x: 50, y: 40, width: 1000, height: 700 })
  })
})

describe('content security policy', () => {
  it('lets the page run only its own scripts and load images from itself or lookalike://', () => {
    const html = readFileSync(join(import.meta.dirname, '..', 'src', 'renderer', 'index.html'), 'utf8')
    const csp = /http-equiv="Content-Security-Policy"\s+content="([^"]+)"/.exec(html)?.[1]
    expect(csp).toBeDefined()
    const directives = new Map(csp!.split(';').map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name, values]))
    expect(directives.get('default-src')).toEqual(["'none'"])
    expect(directives.get('script-src')).toEqual(["'self'"])
    expect(directives.get('img-src')).toContain('lookalike:')
    expect(csp).not.toMatch(/unsafe-eval/)
    // No inline script anywhere in the page.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/)
  })
})
