// Where the desktop app embeds (and trains): on the compute page when it found a real GPU whose
// self-check passed, else in the Node worker pool as the CLI does. No Electron import here: the
// window comes in through `open`, so tests drive this with a stand-in page.
import { connectCompute, type ComputeClient, type ComputeDeadlines } from '../core/compute/client.ts'
import type { ComputeReady } from '../core/compute/protocol.ts'
import { createRoutedEmbedder, type PageTrainer } from '../core/compute/routed-embedder.ts'
import type { BackboneArtifacts } from '../core/embed/backbone.ts'
import type { Embedder } from '../core/types.ts'
import type { ComputeWindow } from './compute-window.ts'

/** Use the page only for a hardware adapter on webgpu/webgl that passed its self-check. */
export function computeRoute(ready: Pick<ComputeReady, 'backend' | 'adapter' | 'checks'>): { page: boolean; reason: string } {
  if (ready.backend === 'wasm') return { page: false, reason: `no GPU backend passed its self-check (${ready.checks.map((c) => `${c.backend}: ${c.reason ?? 'ok'}`).join('; ')})` }
  if (!ready.checks.some((c) => c.backend === ready.backend && c.accepted)) return { page: false, reason: `${ready.backend} was not self-checked` }
  if (!ready.adapter) return { page: false, reason: `${ready.backend} names no adapter` }
  if (ready.adapter.fallback) return { page: false, reason: `${ready.backend} runs on a software adapter (${describeAdapter(ready.adapter)})` }
  return { page: true, reason: `${ready.backend} on ${describeAdapter(ready.adapter)}` }
}

const BACKEND_LABEL = { webgpu: 'WebGPU', webgl: 'WebGL', wasm: 'wasm' } as const

/** What the status bar shows: "WebGPU · nvidia ampere", "WebGL · ANGLE (…)", "wasm". */
export function deviceLabel(ready: Pick<ComputeReady, 'backend' | 'adapter'>): string {
  const adapter = ready.adapter ? describeAdapter(ready.adapter) : ''
  return adapter ? `${BACKEND_LABEL[ready.backend]} · ${adapter}` : BACKEND_LABEL[ready.backend]
}

function describeAdapter(adapter: NonNullable<ComputeReady['adapter']>): string {
  return [adapter.vendor, adapter.architecture, adapter.description].filter(Boolean).join(' ') || 'unknown adapter'
}

/** The embedder; while the page is used, also training there. */
export type DesktopEmbedder = Embedder & { trainer?(): PageTrainer | null }

export interface DesktopEmbedderOptions {
  open: () => ComputeWindow
  artifacts: () => BackboneArtifacts
  /** The Node embedder (worker pool): used when the page is not worth it, and when it fails. */
  fallback: () => Promise<Embedder>
  deadlines?: Partial<ComputeDeadlines>
  log?: (line: string) => void
}

/**
 * Opens the compute page and decides. The page's failure at any point (it does not load, its
 * self-check fails, it crashes mid-batch) costs time, never a photo: the batch goes to the pool.
 */
export async function createDesktopEmbedder(options: DesktopEmbedderOptions): Promise<DesktopEmbedder> {
  const log = options.log ?? ((line: string) => console.log(`lookalike: ${line}`))
  let window: ComputeWindow | null = null
  let client: ComputeClient
  try {
    window = options.open()
    client = await connectCompute(window.channel, { artifacts: options.artifacts(), deadlines: options.deadlines })
  } catch (err) {
    window?.close()
    log(`compute page unavailable, embedding in Node: ${err instanceof Error ? err.message : String(err)}`)
    return options.fallback()
  }
  const route = computeRoute(client)
  if (!route.page) {
    client.close()
    window.close()
    log(`embedding in Node: ${route.reason}`)
    return options.fallback()
  }
  log(`embedding on the compute page: ${route.reason}`)
  return createRoutedEmbedder(client, {
    fallback: options.fallback,
    device: deviceLabel(client),
    onFallback: (reason) => {
      window?.close()
      log(`compute page left, embedding in Node from now on: ${reason}`)
    },
  })
}
