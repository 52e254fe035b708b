// Seams between the engine's modules. Each module owns its implementation; these shapes are
// what the others may rely on (see the owning module for details).
import type { ModelStage } from '../shared/types.ts'

/** Side of the square image the backbone sees. */
export const MODEL_INPUT_SIZE = 224

/**
 * What one sharp decode of a photo yields for the backbone: RGB, 8-bit, EXIF orientation applied,
 * MODEL_INPUT_SIZE² pixels framed as the feature asks (Framing), row-major HWC. The thumbnail comes
 * from the same decode.
 */
export type ModelInput = Uint8Array

/**
 * How a photo fills the backbone's square input: the whole photo inside it with bars
 * (`letterbox`), or its centre cut to a square (`centre-crop`, what features were first made from).
 */
export type Framing = 'letterbox' | 'centre-crop'

/** Turns decoded photos into CNN features (implemented in core/embed). */
export interface Embedder {
  /** Identifies model + layers + preprocessing; stored with every feature so a change re-embeds. */
  readonly backboneId: string
  /** tfjs backend in use: 'tensorflow' (node / node-gpu), 'wasm' or 'cpu'. */
  readonly backend: string
  readonly dim: number
  /**
   * Where it computes, for people, when the backend name alone does not say it (the desktop's
   * compute page: "WebGPU · nvidia ampere"); absent otherwise.
   */
  readonly device?: string
  /** One feature per input, same order. */
  embed(inputs: ModelInput[]): Promise<Float32Array[]>
  close(): Promise<void>
}

/** Progress of a long-running job, as it reaches listeners. */
export interface ProgressEvent {
  done: number
  total: number
  stage?: ModelStage
  /** Training only. */
  epoch?: number
  loss?: Record<string, number>
}

export type ProgressListener = (event: ProgressEvent) => void
