// The compute page in headless Chromium (playwright-core, the system's /usr/bin/chromium): how
// tests and `bench --compute chromium` run the desktop app's GPU path without Electron. The page
// is served from out/compute through playwright's request routing (no port is opened) on a
// 127.0.0.1 URL, a secure context as WebGPU requires. Without a GPU, `--enable-unsafe-webgpu`
// gives Chromium's software adapter (SwiftShader): right answers, never GPU timings.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, extname, join, resolve } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import type { ComputeChannel } from './client.ts'
import { COMPUTE_PORT_MESSAGE, type ComputeReply, type ComputeRequest } from './protocol.ts'

export const CHROMIUM = process.env.LOOKALIKE_CHROMIUM ?? '/usr/bin/chromium'
const REPO = resolve(import.meta.dirname, '..', '..', '..')
const PAGE_DIR = join(REPO, 'out', 'compute')
/** Never listened on: playwright answers every request to it from PAGE_DIR. */
const ORIGIN = 'http://127.0.0.1:1'

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  // WebGL on SwiftShader where there is no GPU (Chromium asks for this explicitly since 2024).
  '--enable-unsafe-swiftshader',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
]

function newestMtime(dir: string): number {
  let newest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs)
  }
  return newest
}

/**
 * Builds out/compute (vite.compute.config.ts) unless it is newer than the page's sources and the
 * engine modules it bundles.
 */
export function buildComputePage(): string {
  const built = join(PAGE_DIR, 'index.html')
  const sources = Math.max(...['src/compute', 'src/core/compute', 'src/core/embed', 'src/core/dpq'].map((d) => newestMtime(join(REPO, d))), statSync(join(REPO, 'vite.compute.config.ts')).mtimeMs)
  if (existsSync(built) && statSync(built).mtimeMs > sources) return PAGE_DIR
  const vite = join(dirname(createRequire(import.meta.url).resolve('vite/package.json')), 'bin', 'vite.js')
  const run = spawnSync(process.execPath, [vite, 'build', '--config', 'vite.compute.config.ts', '--logLevel', 'warn'], { cwd: REPO, encoding: 'utf8' })
  if (run.status !== 0) throw new Error(`compute page build failed:\n${run.stdout}\n${run.stderr}`)
  return PAGE_DIR
}

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.css': 'text/css' }

export interface ChromiumCompute {
  channel: ComputeChannel
  page: Page
  /** Chromium's own version string. */
  version: string
  /** Kills the page's renderer process, as a GPU driver crash would. */
  crash(): Promise<void>
  close(): Promise<void>
}

/**
 * A Dawn switch that makes software WebGPU faster (no API validation). For tests on SwiftShader
 * only: the desktop app never runs with it. Never `disable_robustness` as well: tfjs-backend-webgpu
 * relies on robust buffer access. Its matmul (every 1×1 convolution) reads the weights' rows past
 * the shared dimension unguarded when that is not a multiple of its 32-row tile and multiplies
 * them by zero; without robustness those reads land beyond the buffer, NaN or infinity times zero
 * poisons the sums, and the region feature came out at 0.996 cosine of wasm's.
 */
export const FAST_SOFTWARE_WEBGPU = ['--enable-dawn-features=skip_validation']

/** Launches Chromium on the compute page and connects a channel to it. */
export async function launchChromiumCompute(options: { extraArgs?: string[] } = {}): Promise<ChromiumCompute> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is not installed (apt-get install chromium, or set LOOKALIKE_CHROMIUM)`)
  const dir = buildComputePage()
  const { chromium } = (await import('playwright-core')) as typeof import('playwright-core')
  const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS, ...(options.extraArgs ?? [])] })
  try {
    const page = await browser.newPage()
    await page.route(`${ORIGIN}/**`, async (route) => {
      const path = new URL(route.request().url()).pathname
      const file = resolve(dir, `.${path === '/' ? '/index.html' : decodeURIComponent(path)}`)
      if (!file.startsWith(dir) || !existsSync(file)) return route.fulfill({ status: 404, body: 'not found' })
      await route.fulfill({ status: 200, body: readFileSync(file), contentType: TYPES[extname(file)] ?? 'application/octet-stream' })
    })
    const messages: ((m: ComputeReply) => void)[] = []
    const lost: ((reason: string) => void)[] = []
    let gone: string | null = null
    const goneWith = (reason: string) => {
      if (gone) return
      gone = reason
      for (const l of lost) l(reason)
    }
    page.on('crash', () => goneWith('the page crashed'))
    page.on('close', () => goneWith('the page closed'))
    // Replies come back through a binding; ArrayBuffers travel as byte arrays (playwright
    // serialises typed arrays, not bare buffers) and are turned back here.
    await page.exposeBinding('__lookalikeComputeReply', (_source, reply: ComputeReply & { bytes?: Uint8Array }) => {
      const message = reviveReply(reply)
      for (const m of messages) m(message)
    })
    const errors: string[] = []
    page.on('pageerror', (err) => errors.push(err.message))
    await page.goto(`${ORIGIN}/index.html`)
    await page.evaluate((portMessage) => {
      const channel = new MessageChannel()
      const host = channel.port1
      const w = window as unknown as { __lookalikeComputeHost: MessagePort; __lookalikeComputeReply(m: unknown): void }
      w.__lookalikeComputeHost = host
      host.onmessage = (event: MessageEvent) => {
        const m = event.data as { type: string; features?: ArrayBuffer; model?: ArrayBuffer }
        const buffer = m.type === 'features' ? m.features : m.type === 'model' ? m.model : undefined
        w.__lookalikeComputeReply(buffer ? { ...m, features: undefined, model: undefined, bytes: new Uint8Array(buffer) } : m)
      }
      window.postMessage(portMessage, '*', [channel.port2])
    }, COMPUTE_PORT_MESSAGE)
    if (errors.length) throw new Error(`compute page failed to start: ${errors.join('; ')}`)

    const channel: ComputeChannel = {
      post(message: ComputeRequest) {
        const wire = toWire(message)
        page
          .evaluate((m) => {
            const w = window as unknown as { __lookalikeComputeHost: MessagePort }
            const r = m as { type: string; bytes?: Uint8Array; artifacts?: { bytes?: Uint8Array } }
            if (r.type === 'embed') {
              const pixels = r.bytes!.slice().buffer
              w.__lookalikeComputeHost.postMessage({ ...r, bytes: undefined, pixels }, [pixels])
            } else if (r.type === 'train') {
              const features = r.bytes!.slice().buffer
              w.__lookalikeComputeHost.postMessage({ ...r, bytes: undefined, features }, [features])
            } else if (r.type === 'init') {
              const weightData = r.artifacts!.bytes!.slice().buffer
              w.__lookalikeComputeHost.postMessage({ ...r, artifacts: { ...r.artifacts, bytes: undefined, weightData } }, [weightData])
            } else w.__lookalikeComputeHost.postMessage(r)
          }, wire)
          .catch((err: Error) => goneWith(`the page stopped taking requests: ${err.message.split('\n')[0]}`))
      },
      onMessage: (listener) => messages.push(listener),
      onLost: (listener) => (gone ? listener(gone) : lost.push(listener)),
      close() {},
    }
    return {
      channel,
      page,
      version: browser.version(),
      async crash() {
        const cdp = await page.context().newCDPSession(page)
        const crashed = new Promise<void>((resolve) => page.once('crash', () => resolve()))
        // Page.crash never answers: its renderer is gone before it could.
        void cdp.send('Page.crash').catch(() => undefined)
        await crashed
      },
      close: () => browser.close(),
    }
  } catch (err) {
    await browser.close()
    throw err
  }
}

/** Requests with their ArrayBuffers as Uint8Arrays, which playwright can carry. */
function toWire(message: ComputeRequest): unknown {
  if (message.type === 'embed') return { ...message, pixels: undefined, bytes: new Uint8Array(message.pixels) }
  if (message.type === 'train') return { ...message, features: undefined, bytes: new Uint8Array(message.features) }
  if (message.type === 'init') return { ...message, artifacts: { ...message.artifacts, weightData: undefined, bytes: new Uint8Array(message.artifacts.weightData) } }
  return message
}

function reviveReply(reply: ComputeReply & { bytes?: Uint8Array }): ComputeReply {
  if (reply.type !== 'features' && reply.type !== 'model') return reply
  const bytes = reply.bytes!
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer
  const { bytes: _bytes, ...rest } = reply
  return reply.type === 'features' ? { ...(rest as Extract<ComputeReply, { type: 'features' }>), features: buffer } : { ...(rest as Extract<ComputeReply, { type: 'model' }>), model: buffer }
}
