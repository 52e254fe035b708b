// The compute page's side of the port: one request at a time, each answered with its id.
// Uses the engine's own modules (the backbone's feature extractor, built from the artifacts the
// host sends; DPQ's trainer; the tail timing), so the page computes what Node would, nothing of
// its own. A cancel is handled at once, outside the queue.
import type * as tfType from '@tensorflow/tfjs'
import type { ComputeReply, ComputeRequest } from '../core/compute/protocol.ts'
import { trainingBackendOf, transferablesOf, type ComputeBackendName } from '../core/compute/protocol.ts'
import { rowsOf } from '../core/dpq/tf.ts'
import { trainDpq } from '../core/dpq/train.ts'
import { timeTailPass } from '../core/dpq/tail-timing.ts'
import { createFeatureExtractor, type FeatureExtractor } from '../core/embed/feature-extractor.ts'
import { MODEL_INPUT_SIZE } from '../core/types.ts'
import { chooseBackend } from './backends.ts'

type Tf = typeof tfType

export interface ComputePort {
  postMessage(message: ComputeReply, transfer: Transferable[]): void
  onmessage: ((event: MessageEvent<ComputeRequest>) => void) | null
  start?(): void
}

export function serveCompute(tf: Tf, port: ComputePort): void {
  let extractor: FeatureExtractor | null = null
  // Requests run one after another: two batches at once would only contend for the same device.
  let queue: Promise<void> = Promise.resolve()
  /** Training requests still running, by id: a 'cancel' aborts one at once. */
  const running = new Map<number, AbortController>()
  /** The backend training runs on (ComputeReady.training), switched to for the request only. */
  let training: ComputeBackendName | null = null
  const onTrainingBackend = async <T>(work: () => Promise<T> | T, backend = training): Promise<T> => {
    const embedding = tf.getBackend()
    if (!backend) throw new Error('the compute page was asked to train before init')
    if (backend !== embedding) await tf.setBackend(backend)
    try {
      return await work()
    } finally {
      if (backend !== embedding) await tf.setBackend(embedding)
    }
  }

  const reply = (message: ComputeReply) => port.postMessage(message, transferablesOf(message))

  const handle = async (request: ComputeRequest): Promise<ComputeReply> => {
    switch (request.type) {
      case 'init': {
        extractor?.dispose()
        extractor = null
        const featuresOn = async (inputs: readonly Uint8Array[]) => {
          const probe = await createFeatureExtractor(tf, request.artifacts)
          try {
            return await probe.embed(inputs)
          } finally {
            probe.dispose()
          }
        }
        const choice = await chooseBackend(tf, featuresOn, request.backends)
        extractor = await createFeatureExtractor(tf, request.artifacts)
        training = choice.training.backend
        return { type: 'ready', id: request.id, backend: choice.backend, adapter: choice.adapter, training: choice.training, checks: choice.checks, backboneId: extractor.backboneId, dim: extractor.dim }
      }
      case 'embed': {
        if (!extractor) throw new Error('the compute page was asked to embed before init')
        const per = MODEL_INPUT_SIZE * MODEL_INPUT_SIZE * 3
        const pixels = new Uint8Array(request.pixels)
        if (pixels.length !== request.count * per) throw new Error(`embed: ${pixels.length} bytes for ${request.count} photos of ${per}`)
        const inputs = Array.from({ length: request.count }, (_, i) => pixels.subarray(i * per, (i + 1) * per))
        const features = await extractor.embed(inputs)
        const flat = new Float32Array(request.count * extractor.dim)
        features.forEach((f, i) => flat.set(f, i * extractor!.dim))
        return { type: 'features', id: request.id, count: request.count, dim: extractor.dim, features: flat.buffer }
      }
      case 'train': {
        const controller = new AbortController()
        running.set(request.id, controller)
        try {
          const started = performance.now()
          const rows = rowsOf(new Float32Array(request.features), request.dim)
          const model = await onTrainingBackend(
            () =>
              trainDpq(rows, request.labels, request.options, {
                signal: controller.signal,
                onProgress: (event) => reply({ type: 'progress', id: request.id, event }),
              }),
            training && trainingBackendOf(training, request.labels),
          )
          const bytes = model.serialize()
          const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer
          return { type: 'model', id: request.id, model: buffer, seconds: (performance.now() - started) / 1000 }
        } finally {
          running.delete(request.id)
        }
      }
      case 'tail-speed':
        return { type: 'tail-ms', id: request.id, ms: await onTrainingBackend(timeTailPass) }
      default:
        throw new Error(`unknown request ${(request as { type: string }).type}`)
    }
  }

  port.onmessage = (event) => {
    const request = event.data
    if (request.type === 'cancel') return void running.get(request.target)?.abort()
    queue = queue.then(() =>
      handle(request).then(reply, (err: unknown) => reply({ type: 'failed', id: request.id, message: err instanceof Error ? err.message : String(err) })),
    )
  }
  port.start?.()
}
