// The packaged app's hardening, checked without the Electron binary: the fuses electron-builder
// flips, and the app:// scheme that serves the renderer (only files of its build folder).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { APP_URL, appResponse, resolveAppRequest } from '../src/main/app-protocol.ts'
import { isAppUrl } from '../src/main/security.ts'
import { repo } from './fixtures/cli.ts'

/** A top-level YAML mapping of booleans (`key:` then indented `name: true|false` lines), read plainly. */
function mapping(text: string, key: string): Record<string, boolean> | undefined {
  const lines = text.split('\n')
  const start = lines.indexOf(`${key}:`)
  if (start < 0) return undefined
  const out: Record<string, boolean> = {}
  for (const line of lines.slice(start + 1)) {
    if (/^\S/.test(line)) break
    const m = /^\s+([A-Za-z]+):\s*(true|false)\s*(#.*)?$/.exec(line)
    if (m) out[m[1]] = m[2] === 'true'
    else if (line.trim() && !line.trim().startsWith('#')) throw new Error(`unexpected line under ${key}: ${line}`)
  }
  return out
}

describe('Electron fuses in electron-builder.yml', () => {
  const config = { electronFuses: mapping(readFileSync(join(repo, 'electron-builder.yml'), 'utf8'), 'electronFuses') }

  it('turn off Node entry points, encrypt cookies, load only an intact app.asar', () => {
    expect(config.electronFuses).toEqual({
      runAsNode: false,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableCookieEncryption: true,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
      grantFileProtocolExtraPrivileges: false,
    })
  })

  it('names only fuses electron-builder knows (a typo would be ignored silently)', () => {
    const scheme = JSON.parse(readFileSync(join(repo, 'node_modules', 'app-builder-lib', 'scheme.json'), 'utf8'))
    const known = Object.keys(scheme.definitions.FuseOptionsV1.properties)
    for (const fuse of Object.keys(config.electronFuses ?? {})) expect(known, fuse).toContain(fuse)
  })
})

describe('the app:// scheme', () => {
  const base = mkdtempSync(join(tmpdir(), 'lookalike-app-scheme-'))
  const renderer = join(base, 'renderer')
  mkdirSync(join(renderer, 'assets'), { recursive: true })
  writeFileSync(join(renderer, 'index.html'), '<!doctype html><title>Lookalike</title>')
  writeFileSync(join(renderer, 'assets', 'app.js'), 'console.log(1)')
  writeFileSync(join(base, 'secret.txt'), 'not for the page')
  symlinkSync(join(base, 'secret.txt'), join(renderer, 'assets', 'link.js'))
  afterAll(() => rmSync(base, { recursive: true, force: true }))

  it('serves the page (never cached) and its assets', async () => {
    const page = await resolveAppRequest(renderer, 'GET', APP_URL)
    expect(page).toMatchObject({ file: join(renderer, 'index.html'), headers: { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' } })
    expect(await resolveAppRequest(renderer, 'GET', 'app://lookalike/')).toMatchObject({ file: join(renderer, 'index.html') })
    expect(await resolveAppRequest(renderer, 'GET', 'app://lookalike/assets/app.js?v=1')).toMatchObject({ file: join(renderer, 'assets', 'app.js') })
    const response = await appResponse(page)
    expect(response.status).toBe(200)
    expect(await response.text()).toContain('<title>Lookalike</title>')
  })

  it('serves nothing outside the build folder: traversal, encoded separators, symlinks, other hosts, writes', async () => {
    const refused = [
      'app://lookalike/../secret.txt',
      'app://lookalike/%2e%2e/secret.txt',
      'app://lookalike/assets/..%2f..%2fsecret.txt',
      'app://lookalike/assets/%2e%2e%2f%2e%2e%2fsecret.txt',
      'app://lookalike/..%5csecret.txt',
      'app://lookalike/assets/%00.js',
      'app://lookalike/assets/link.js',
      `app://lookalike/${encodeURIComponent(join(base, 'secret.txt'))}`,
      'app://lookalike//etc/passwd',
      'app://other/index.html',
      'app://user@lookalike/index.html',
      'file:///etc/passwd',
      'app://lookalike/missing.js',
    ]
    for (const url of refused) {
      const answer = await resolveAppRequest(renderer, 'GET', url)
      expect(answer, url).toMatchObject({ status: 404 })
    }
    expect(await resolveAppRequest(renderer, 'POST', APP_URL)).toMatchObject({ status: 405 })
    const response = await appResponse({ status: 404, message: 'Not found' })
    expect(response.status).toBe(404)
  })

  it('the window trusts exactly the app page on that scheme', () => {
    expect(isAppUrl('app://lookalike/index.html#album', APP_URL)).toBe(true)
    expect(isAppUrl('app://lookalike/index.html?x=1', APP_URL)).toBe(true)
    expect(isAppUrl('app://evil/index.html', APP_URL)).toBe(false)
    expect(isAppUrl('app://lookalike.evil/index.html', APP_URL)).toBe(false)
    expect(isAppUrl('app://lookalike:8080/index.html', APP_URL)).toBe(false)
    expect(isAppUrl('file:///opt/Lookalike/index.html', APP_URL)).toBe(false)
    expect(isAppUrl('lookalike://full/1', APP_URL)).toBe(false)
  })
})
