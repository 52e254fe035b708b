// Embedding and training on the compute page, with Node behind it: a batch the page fails (it
// crashed, hung, or answered with an error) is embedded again by the fallback embedder, a training
// it fails is run again by trainDpq in this process, so no work is lost; once the page is gone
// everything goes to Node directly.
import { tailSpeedFromMs } from '../dpq/tail-timing.ts'
import { trainDpq, TrainingCancelled } from '../dpq/train.ts'
import type { Embedder, ModelInput } from '../types.ts'
import type { ComputeClient } from './client.ts'
import { trainingBackendOf } from './protocol.ts'

/** Training on the compute page, as the service's Retrain uses it. */
export interface PageTrainer {
  /** 'webgpu' | 'webgl' | 'wasm' */
  backend: string
  /** trainDpq's arguments and answer; a failure of the page trains here instead. */
  train: typeof trainDpq
  /** The page's time for the fixed tail pass against the reference box (dpq/tail-timing.ts). */
  tailSpeed(): Promise<number>
}

export interface RoutedEmbedder extends Embedder {
  /** Where the next batch goes. */
  route(): 'compute' | 'fallback'
  /** Why the page was left, or null while it is used. */
  fallbackReason(): string | null
  /** Training on the page while it is used; null once it was left. */
  trainer(): PageTrainer | null
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
  let tailSpeed: Promise<number> | null = null
  // Training goes to the page only on a hardware adapter (its backend may differ from embedding's).
  const trainsOnGpu = compute.training.backend !== 'wasm' && compute.training.adapter !== null && !compute.training.adapter.fallback
  const pageTrainer: PageTrainer = {
    backend: compute.training.backend,
    async train(features, labels, options, hooks) {
      // A run the page would do on wasm (unsupervised beside WebGPU) is as well done here.
      if (!reason && trainingBackendOf(compute.training.backend, labels) !== 'wasm') {
        try {
          return await compute.train(features, labels, options, hooks)
        } catch (err) {
          if (err instanceof TrainingCancelled) throw err
          leave(err instanceof Error ? err.message : String(err))
        }
      }
      return trainDpq(features, labels, options, hooks)
    },
    tailSpeed() {
      tailSpeed ??= compute.tailMs().then(tailSpeedFromMs)
      tailSpeed.catch(() => (tailSpeed = null))
      return tailSpeed
    },
  }

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
    trainer: () => (reason || !trainsOnGpu ? null : pageTrainer),
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
