// The backbone running on this thread's tfjs: what each worker runs, and the fallback when
// workers are off (tests, a single embed of an outside image).
import * as tf from '@tensorflow/tfjs'
import type { Embedder, ModelInput } from '../types.ts'
import { FEATURE, type FeatureSpec } from './backbone.ts'
import { readBackboneArtifacts } from './backbone-files.ts'
import { selectBackend, type BackendOptions } from './backend.ts'
import { createFeatureExtractor } from './feature-extractor.ts'

export interface InProcessOptions extends BackendOptions {
  /** The feature to compute (default: the library's). */
  feature?: FeatureSpec
}

export async function createInProcessEmbedder(options: InProcessOptions = {}): Promise<Embedder> {
  const choice = await selectBackend(options)
  const feature = options.feature ?? FEATURE
  const extractor = await createFeatureExtractor(tf, readBackboneArtifacts(feature.network), feature)
  // Batches run one after another: concurrent predict() calls would only fight over the same core.
  let queue: Promise<unknown> = Promise.resolve()
  let closed = false
  return {
    backboneId: extractor.backboneId,
    backend: choice.tfBackend,
    dim: extractor.dim,
    embed(inputs: ModelInput[]): Promise<Float32Array[]> {
      if (closed) return Promise.reject(new Error('embedder is closed'))
      const run = queue.then(() => extractor.embed(inputs))
      queue = run.catch(() => undefined)
      return run
    },
    async close() {
      closed = true
      await queue
      extractor.dispose()
    },
  }
}
