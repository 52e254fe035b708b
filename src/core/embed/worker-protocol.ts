// Messages between the worker pool and embed-worker.ts.
import type { FeatureSpec } from './backbone.ts'

export interface WorkerInit {
  backend?: string
  feature?: FeatureSpec
  /** XNNPACK threads inside the worker (wasm only). */
  wasmThreads?: number
}

export interface EmbedRequest {
  type: 'embed'
  id: number
  inputs: Uint8Array[]
}

export type WorkerMessage =
  | { type: 'ready'; backboneId: string; backend: string; dim: number }
  | { type: 'features'; id: number; features: Float32Array[] }
  /** id -1: the worker could not start. */
  | { type: 'failed'; id: number; message: string }
