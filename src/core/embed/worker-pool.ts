// Embedding on worker threads: each worker owns a backbone, a batch is cut into one slice per
// worker, so N cores embed one batch together while the caller's thread decodes the next photos.
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'
import type { Embedder, ModelInput } from '../types.ts'
import type { WorkerInit, WorkerMessage } from './worker-protocol.ts'

export interface WorkerPoolOptions extends WorkerInit {
  workers: number
}

/**
 * Where the worker's code is: the .ts source when running from source (tsx, vitest), or the
 * .js a bundler emitted beside this module (Electron build: add embed-worker.ts as an entry).
 */
export function embedWorkerUrl(): URL {
  // Not written as `new URL('./x', import.meta.url)`: Vite would copy the .ts as a static asset.
  const here = import.meta.url
  const ts = new URL('embed-worker.ts', here)
  return existsSync(fileURLToPath(ts)) ? ts : new URL('embed-worker.js', here)
}

/**
 * A TypeScript worker needs tsx's loader. `execArgv: ['--import', 'tsx']` does not reach a worker's
 * entry module on Node 20, so a tiny bootstrap registers tsx first, then imports the worker.
 */
function spawn(url: URL, workerData: WorkerInit): Worker {
  if (!url.pathname.endsWith('.ts')) return new Worker(url, { workerData })
  const require = createRequire(import.meta.url)
  const manifest = require.resolve('tsx/package.json')
  const exportsMap = (require(manifest) as { exports: Record<string, { import: { default: string } }> }).exports
  const api = new URL(exportsMap['./esm/api'].import.default, pathToFileURL(manifest)).href
  const bootstrap = `import(${JSON.stringify(api)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(url.href)}) })`
  return new Worker(bootstrap, { eval: true, workerData })
}

interface Slot {
  worker: Worker
  pending: Map<number, { resolve: (f: Float32Array[]) => void; reject: (e: Error) => void }>
  queued: number
  /** False once the thread is gone (crashed, or out of memory): replaced before the next batch. */
  alive: boolean
}

type Ready = Extract<WorkerMessage, { type: 'ready' }>

export interface WorkerPoolEmbedder extends Embedder {
  /** The live worker threads (diagnostics and tests). */
  threads(): readonly Worker[]
}

export async function createWorkerPoolEmbedder(options: WorkerPoolOptions): Promise<WorkerPoolEmbedder> {
  const url = embedWorkerUrl()
  const init: WorkerInit = { backend: options.backend, wasmThreads: options.wasmThreads, feature: options.feature }
  let nextId = 0
  let closing = false

  const start = (): Promise<{ slot: Slot; ready: Ready }> =>
    new Promise((resolve, reject) => {
      const worker = spawn(url, init)
      const slot: Slot = { worker, pending: new Map(), queued: 0, alive: true }
      let started = false
      worker.on('message', (m: WorkerMessage) => {
        if (m.type === 'ready') {
          started = true
          // An idle pool must not keep the process alive; a busy one must (see send()).
          worker.unref()
          resolve({ slot, ready: m })
        } else if (m.type === 'failed' && m.id === -1) {
          reject(new Error(m.message))
        } else {
          const p = slot.pending.get(m.id)
          slot.pending.delete(m.id)
          if (m.type === 'features') p?.resolve(m.features)
          else p?.reject(new Error(m.message))
        }
      })
      const lost = (err: Error) => {
        if (!slot.alive) return
        slot.alive = false
        for (const p of slot.pending.values()) p.reject(err)
        slot.pending.clear()
        if (!started) reject(err)
      }
      worker.on('error', lost)
      worker.on('exit', (code) => lost(new Error(`embedding worker stopped (exit code ${code})`)))
    })

  const started = await Promise.allSettled(Array.from({ length: Math.max(1, options.workers) }, start))
  const slots = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value.slot] : []))
  const firstError = started.find((s) => s.status === 'rejected')
  if (firstError) {
    await Promise.all(slots.map((s) => s.worker.terminate()))
    throw (firstError as PromiseRejectedResult).reason
  }
  const info = (started[0] as PromiseFulfilledResult<{ ready: Ready }>).value.ready

  /** A lost worker fails only the batches it held; the next batch gets a fresh one. */
  let reviving: Promise<void> | null = null
  const revive = (): Promise<void> => {
    if (slots.every((s) => s.alive)) return Promise.resolve()
    reviving ??= (async () => {
      for (let i = 0; i < slots.length; i++) if (!slots[i].alive) slots[i] = (await start()).slot
    })().finally(() => (reviving = null))
    return reviving
  }

  const send = (slot: Slot, inputs: ModelInput[]): Promise<Float32Array[]> =>
    new Promise((resolve, reject) => {
      const id = nextId++
      slot.queued += inputs.length
      slot.worker.ref()
      const settle = () => {
        slot.queued -= inputs.length
        if (slot.queued === 0) slot.worker.unref()
      }
      slot.pending.set(id, {
        resolve: (f) => (settle(), resolve(f)),
        reject: (e) => (settle(), reject(e)),
      })
      slot.worker.postMessage({ type: 'embed', id, inputs })
    })

  return {
    backboneId: info.backboneId,
    backend: info.backend,
    dim: info.dim,
    threads: () => slots.filter((s) => s.alive).map((s) => s.worker),
    async embed(inputs: ModelInput[]): Promise<Float32Array[]> {
      if (closing) throw new Error('embedder is closed')
      if (inputs.length === 0) return []
      await revive()
      // Least-loaded workers first; contiguous slices keep the output order trivial.
      const order = [...slots].sort((a, b) => a.queued - b.queued)
      const per = Math.ceil(inputs.length / order.length)
      const parts = order
        .map((slot, i) => ({ slot, inputs: inputs.slice(i * per, (i + 1) * per) }))
        .filter((p) => p.inputs.length > 0)
      const results = await Promise.all(parts.map((p) => send(p.slot, p.inputs)))
      return results.flat()
    },
    async close() {
      closing = true
      await Promise.all(
        slots
          .filter((s) => s.alive)
          .map(
            (s) =>
              new Promise<void>((resolve) => {
                s.worker.once('exit', () => resolve())
                s.worker.ref() // keep the process alive until the worker has let go of its model
                s.worker.postMessage({ type: 'close' })
                // A worker stuck in a long batch is not worth waiting for on shutdown.
                setTimeout(() => void s.worker.terminate(), 5000).unref()
              }),
          ),
      )
    },
  }
}
