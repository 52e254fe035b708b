// The backbone running on this thread's tfjs: what each worker runs, and the fallback when
// workers are off (tests, a single embed of an outside image).
import * as tf from '@tensorflow/tfjs'
import type { Embedder, ModelInput } from '../types.ts'
import { MODEL_INPUT_SIZE } from '../types.ts'
import { BACKBONE, backboneId, extractFeatures, layerDims, loadMobilenet, type BackboneSpec } from './backbone.ts'
import { fuseBackbone } from './fused-backbone.ts'
import { selectBackend, type BackendOptions } from './backend.ts'

export interface InProcessOptions extends BackendOptions {
  spec?: BackboneSpec
}

export async function createInProcessEmbedder(options: InProcessOptions = {}): Promise<Embedder> {
  const spec = options.spec ?? BACKBONE
  const choice = await selectBackend(options)
  const mobilenet = await loadMobilenet(tf)
  // Conv + batch norm + ReLU6 folded into single ops: same features, ~2.4× less CPU on wasm.
  const backbone = fuseBackbone(tf, mobilenet, spec.layers)
  const dim = layerDims(mobilenet, spec).reduce((a, b) => a + b, 0)
  // Batches run one after another: concurrent predict() calls would only fight over the same core.
  let queue: Promise<unknown> = Promise.resolve()
  let closed = false
  return {
    backboneId: backboneId(spec),
    backend: choice.tfBackend,
    dim,
    embed(inputs: ModelInput[]): Promise<Float32Array[]> {
      if (closed) return Promise.reject(new Error('embedder is closed'))
      const run = queue.then(() => extractFeatures(tf, backbone, spec, inputs, MODEL_INPUT_SIZE))
      queue = run.catch(() => undefined)
      return run
    },
    async close() {
      closed = true
      await queue
      backbone.dispose()
      mobilenet.dispose()
    },
  }
}
