// The one entry point the rest of the app uses to turn photos into backbone features.
import { availableParallelism } from 'node:os'
import { decodePhoto } from '../library/decode.ts'
import type { Embedder } from '../types.ts'
import { selectBackend, type BackendChoice } from './backend.ts'
import { createInProcessEmbedder } from './in-process.ts'
import { createWorkerPoolEmbedder } from './worker-pool.ts'

export { selectBackend, type BackendChoice } from './backend.ts'
export { FEATURE, FEATURES, LEGACY_FEATURE, backboneId, type FeatureSpec } from './backbone.ts'
import { framingOf, type FeatureSpec } from './backbone.ts'

export interface EmbedderOptions {
  /** 'node-gpu' | 'node' | 'wasm' | 'cpu' | 'auto'; default $LOOKALIKE_BACKEND, else the best that works. */
  backend?: string
  /** Worker threads; 0 embeds on the calling thread. Default: one per core on wasm/cpu, 0 on native TensorFlow. */
  threads?: number
  /** The feature to compute (default: the library's, FEATURE). */
  feature?: FeatureSpec
}

/**
 * The backbone behind the Embedder seam. On wasm, tfjs cannot use threads inside Node, so
 * parallelism comes from one worker per core, each with its own single-threaded backend.
 * Native TensorFlow (tfjs-node, -gpu) parallelises internally and runs on the calling thread.
 */
export async function createEmbedder(options: EmbedderOptions = {}): Promise<Embedder> {
  const choice = await selectBackend({ backend: options.backend })
  const workers = options.threads ?? defaultWorkers(choice)
  const feature = options.feature
  if (workers <= 0) return createInProcessEmbedder({ backend: choice.name, feature })
  try {
    return await createWorkerPoolEmbedder({ workers, backend: choice.name, feature })
  } catch (err) {
    // Workers are an optimisation: where they cannot start (an unusual bundle, a locked-down
    // runtime) the same backbone runs on this thread, slower but correct.
    console.warn(`lookalike: embedding on the main thread (worker threads unavailable: ${err instanceof Error ? err.message : String(err)})`)
    return createInProcessEmbedder({ backend: choice.name, feature })
  }
}

/** One worker per core where tfjs computes on the calling thread (wasm, cpu); none for native TensorFlow. */
export function defaultWorkers(choice: BackendChoice): number {
  return choice.kind === 'wasm' || choice.name === 'cpu' ? availableParallelism() : 0
}

let shared: Promise<Embedder> | undefined

/**
 * Feature of any image, a file in the library or not, or dropped bytes (drag-and-drop search).
 * Without an embedder, a shared in-process one is created on first use and kept.
 */
export async function embedImage(image: string | Buffer, embedder?: Embedder): Promise<Float32Array> {
  if (!embedder) {
    shared ??= createInProcessEmbedder()
    shared.catch(() => (shared = undefined))
    embedder = await shared
  }
  const { modelInput } = await decodePhoto(image, framingOf(embedder.backboneId))
  const [feature] = await embedder.embed([modelInput])
  return feature
}
