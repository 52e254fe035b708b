// What every browser test needs: the web renderer built, `lookalike serve` running on a temp
// library, and Debian's Chromium driven by playwright-core (no browser download).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { chromium, type Browser, type Page } from 'playwright-core'

export const REPO = resolve(import.meta.dirname, '..', '..')
export const CHROMIUM = '/usr/bin/chromium'
export const chromiumMissing = existsSync(CHROMIUM) ? null : `${CHROMIUM} is not installed (apt-get install chromium); browser tests skipped`
export const SCREENSHOTS = join(REPO, 'test-results')

function newestMtime(dir: string): number {
  let newest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs)
  }
  return newest
}

/** `npm run build:web`, unless out/web is newer than every renderer and shared source file. */
export function buildWebRenderer(): void {
  const built = join(REPO, 'out', 'web', 'index.html')
  const sources = Math.max(newestMtime(join(REPO, 'src', 'renderer')), newestMtime(join(REPO, 'src', 'shared')), statSync(join(REPO, 'vite.web.config.ts')).mtimeMs)
  if (existsSync(built) && statSync(built).mtimeMs > sources) return
  const run = spawnSync(process.execPath, [join(REPO, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', 'vite.web.config.ts', '--logLevel', 'warn'], {
    cwd: REPO,
    encoding: 'utf8',
  })
  if (run.status !== 0) throw new Error(`web build failed:\n${run.stdout}\n${run.stderr}`)
}

export interface Served {
  url: string
  child: ChildProcess
  stop(): Promise<void>
}

/** Starts `lookalike serve --db FILE --port 0 --json` and waits for its one-line URL. */
export async function serve(dbFile: string, extraArgs: string[] = [], env: Record<string, string> = {}): Promise<Served> {
  const child = spawn(process.execPath, [join(REPO, 'bin', 'lookalike.js'), 'serve', '--db', dbFile, '--port', '0', '--json', ...extraArgs], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LOOKALIKE_HOME: join(dbFile, '..'), ...env },
  })
  let stderr = ''
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000)
  })
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`lookalike serve printed no URL in 60 s:\n${stderr}`)), 60_000)
    child.once('exit', (code) => reject(new Error(`lookalike serve exited with ${code}:\n${stderr}`)))
    createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer)
      try {
        resolveUrl((JSON.parse(line) as { url: string }).url)
      } catch {
        reject(new Error(`lookalike serve printed "${line}", not {"url":…}`))
      }
    })
  })
  return {
    url,
    child,
    stop: () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null) return done()
        const kill = setTimeout(() => child.kill('SIGKILL'), 10_000)
        child.once('exit', () => {
          clearTimeout(kill)
          done()
        })
        child.kill('SIGTERM')
      }),
  }
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  })
}

/** Console errors and page errors of a page, collected for an assertion that there were none. */
export function collectErrors(page: Page): string[] {
  const errors: string[] = []
  page.on('pageerror', (err) => errors.push(`page error: ${err.message}`))
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`console: ${msg.text()}`)
  })
  return errors
}

/** Saves `test-results/<name>.png`. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true })
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) })
}
