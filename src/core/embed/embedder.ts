// The one entry point the rest of the app uses to turn photos into backbone features.
import type { Embedder } from '../types.ts'
import { decodePhoto } from '../library/decode.ts'
import { createInProcessEmbedder } from './in-process.ts'

export { selectBackend, type BackendChoice } from './backend.ts'
export { BACKBONE, backboneId } from './backbone.ts'

export interface EmbedderOptions {
  /** 'node-gpu' | 'node' | 'wasm' | 'cpu' | 'auto'; default $LOOKALIKE_BACKEND, else the best that works. */
  backend?: string
  /** Worker threads; 0 runs on the calling thread. */
  threads?: number
}

export async function createEmbedder(options: EmbedderOptions = {}): Promise<Embedder> {
  return createInProcessEmbedder({ backend: options.backend })
}

let shared: Promise<Embedder> | undefined

/**
 * Feature of any image file, in the library or not (drag-and-drop search). Without an embedder,
 * a shared in-process one is created on first use and kept.
 */
export async function embedImage(path: string, embedder?: Embedder): Promise<Float32Array> {
  const { modelInput } = await decodePhoto(path)
  if (!embedder) {
    shared ??= createInProcessEmbedder()
    shared.catch(() => (shared = undefined))
    embedder = await shared
  }
  const [feature] = await embedder.embed([modelInput])
  return feature
}
