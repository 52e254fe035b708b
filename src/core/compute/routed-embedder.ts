// Embedding on the compute page, with the Node embedder behind it: a batch the page fails (it
// crashed, hung, or answered with an error) is embedded again by the fallback, so no batch is lost,
// and once the page is gone every later batch goes to the fallback directly.
import type { Embedder, ModelInput } from '../types.ts'
import type { ComputeClient } from './client.ts'

export interface RoutedEmbedder extends Embedder {
  /** Where the next batch goes. */
  route(): 'compute' | 'fallback'
  /** Why the page was left, or null while it is used. */
  fallbackReason(): string | null
}

export interface RoutedEmbedderOptions {
  /** Started on the first batch that needs it (the worker pool costs seconds and memory). */
  fallback: () => Promise<Embedder>
  onFallback?: (reason: string) => void
  /** What `device` says while the page is used ("WebGPU · nvidia ampere"). */
  device?: string
}

export function createRoutedEmbedder(compute: ComputeClient, options: RoutedEmbedderOptions): RoutedEmbedder {
  let reason: string | null = null
  let fallback: Promise<Embedder> | null = null
  const backup = () => {
    fallback ??= options.fallback()
    fallback.catch(() => (fallback = null))
    return fallback
  }
  const leave = (why: string) => {
    if (reason) return
    reason = why
    compute.close()
    options.onFallback?.(why)
  }
  const name = `${compute.backend}`
  let fallbackBackend: string | null = null

  return {
    backboneId: compute.backboneId,
    dim: compute.dim,
    get backend() {
      return reason ? (fallbackBackend ?? 'fallback') : name
    },
    get device() {
      return reason ? undefined : options.device
    },
    route: () => (reason ? 'fallback' : 'compute'),
    fallbackReason: () => reason,
    async embed(inputs: ModelInput[]): Promise<Float32Array[]> {
      if (!reason) {
        try {
          return await compute.embed(inputs)
        } catch (err) {
          leave(err instanceof Error ? err.message : String(err))
        }
      }
      const embedder = await backup()
      if (embedder.backboneId !== compute.backboneId) throw new Error(`fallback embedder computes ${embedder.backboneId}, the page ${compute.backboneId}`)
      fallbackBackend = embedder.backend
      return embedder.embed(inputs)
    },
    async close() {
      compute.close()
      if (fallback) await (await fallback.catch(() => null))?.close()
    },
  }
}
