// Messages between the engine and the compute page (a page with no UI that runs tfjs on the GPU),
// over one MessagePort. Every request carries an id its reply repeats; bulk data travels as
// ArrayBuffers listed in the transfer list, so a batch of pixels is moved, not copied, where the
// transport allows it.
import type { TrainOptions } from '../dpq/train.ts'
import type { BackboneArtifacts } from '../embed/backbone.ts'
import type { ProgressEvent } from '../types.ts'

/** Backends the page tries, best first. */
export type ComputeBackendName = 'webgpu' | 'webgl' | 'wasm'
export const COMPUTE_BACKEND_ORDER: readonly ComputeBackendName[] = ['webgpu', 'webgl', 'wasm']

/** The graphics adapter a backend runs on, as the browser reports it. */
export interface ComputeAdapter {
  vendor: string
  architecture: string
  /** Device or renderer string (WebGL: the unmasked renderer). */
  description: string
  /** A software rasteriser (SwiftShader, llvmpipe, WARP…): correct, never fast. */
  fallback: boolean
}

/** One backend's self-check: the backbone's features of fixed inputs against wasm's. */
export interface BackendCheck {
  backend: ComputeBackendName
  accepted: boolean
  /** Lowest cosine between this backend's and wasm's features (null when it could not run). */
  cosine: number | null
  adapter: ComputeAdapter | null
  /** Why it was passed over. */
  reason?: string
}

/** Self-check threshold: features within this cosine of wasm's on every fixed input. */
export const SELF_CHECK_COSINE = 0.999

/** The string a host posts to the page's window, with the port, to connect. */
export const COMPUTE_PORT_MESSAGE = 'lookalike:compute-port'
/** Electron: the IPC channel main sends the port on, to the compute page's preload (once). */
export const COMPUTE_PORT_CHANNEL = 'lookalike:compute-port'

export type ComputeRequest =
  /** Choose a backend (self-checked) and build the backbone from these artifacts. */
  | { type: 'init'; id: number; artifacts: BackboneArtifacts; backends?: ComputeBackendName[] }
  /** `count` photos of 224×224 RGB pixels, one after another in `pixels`. */
  | { type: 'embed'; id: number; count: number; pixels: ArrayBuffer }
  /**
   * trainDpq on `rows` model inputs of `dim` floats (one after another in `features`), with album
   * labels per row (null: unsupervised). The options' tail (fine-tuning's start) travels as is.
   */
  | { type: 'train'; id: number; rows: number; dim: number; features: ArrayBuffer; labels: number[][] | null; options: TrainOptions }
  /** Milliseconds of the fixed timed pass through the fine-tuning tail (see finetune-speed). */
  | { type: 'tail-speed'; id: number }
  /** Stop the training request `target` (it answers 'failed'); handled at once, not queued. */
  | { type: 'cancel'; id: number; target: number }

export interface ComputeReady {
  backend: ComputeBackendName
  adapter: ComputeAdapter | null
  /**
   * Where the page trains DPQ (supervised, fine-tuning's tail included): the backend it embeds on.
   * On WebGPU every read in training is awaited, since tfjs-backend-webgpu 4.22's synchronous read
   * goes through a canvas copy that returns zeros on Chromium's software adapter; unsupervised
   * training, which reads synchronously, runs on wasm there (trainingBackendOf).
   */
  training: { backend: ComputeBackendName; adapter: ComputeAdapter | null }
  backboneId: string
  dim: number
  checks: BackendCheck[]
}

/** Where the page runs one training: `labels` with no album photo means unsupervised. */
export function trainingBackendOf(training: ComputeBackendName, labels: readonly (readonly number[])[] | null): ComputeBackendName {
  return training === 'webgpu' && !labels?.some((l) => l.length > 0) ? 'wasm' : training
}

export type ComputeReply =
  | ({ type: 'ready'; id: number } & ComputeReady)
  /** `count` features of `dim` floats, one after another. */
  | { type: 'features'; id: number; count: number; dim: number; features: ArrayBuffer }
  /** Training progress (not an answer: the request is still running). */
  | { type: 'progress'; id: number; event: ProgressEvent }
  /** The trained model, DpqModel.serialize()'s bytes, and how long training took on the page. */
  | { type: 'model'; id: number; model: ArrayBuffer; seconds: number }
  | { type: 'tail-ms'; id: number; ms: number }
  | { type: 'failed'; id: number; message: string }

/** The buffers a message can hand over instead of copying. */
export function transferablesOf(message: ComputeRequest | ComputeReply): ArrayBuffer[] {
  switch (message.type) {
    case 'init':
      return [message.artifacts.weightData]
    case 'embed':
      return [message.pixels]
    case 'features':
      return [message.features]
    case 'train':
      return [message.features]
    case 'model':
      return [message.model]
    default:
      return []
  }
}
