// The engine's end of the compute page's port: typed requests with ids, replies matched to them,
// and the two ways a page can let a caller down made into errors: it goes away (crash, closed
// window: every request it held fails at once) or stops answering (a request past its deadline
// fails, and the page is treated as gone, since what it does next cannot be trusted).
import { DpqModel } from '../dpq/model.ts'
import { TrainingCancelled, type TrainHooks, type TrainOptions } from '../dpq/train.ts'
import type { BackboneArtifacts } from '../embed/backbone.ts'
import { MODEL_INPUT_SIZE } from '../types.ts'
import { transferablesOf, type ComputeBackendName, type ComputeReady, type ComputeReply, type ComputeRequest } from './protocol.ts'

/** One end of a MessagePort, whatever carries it (Electron's MessagePortMain, a browser bridge). */
export interface ComputeChannel {
  post(message: ComputeRequest, transfer: ArrayBuffer[]): void
  onMessage(listener: (message: ComputeReply) => void): void
  /** Called once when the page is gone (crashed, closed, unresponsive as its host sees it). */
  onLost(listener: (reason: string) => void): void
  close(): void
}

export interface ComputeDeadlines {
  /** Backend choice with its self-checks and loading the backbone. */
  initMs: number
  /** A batch of embeddings: fixed part plus a part per photo. */
  embedMs: number
  embedPerPhotoMs: number
  /** Training: the longest silence between two progress reports (an epoch on a slow device). */
  trainSilenceMs: number
}

/** Generous: a real GPU answers a 32-photo batch in well under a second, software WebGPU in ~20 s. */
export const DEFAULT_DEADLINES: ComputeDeadlines = { initMs: 180_000, embedMs: 30_000, embedPerPhotoMs: 3_000, trainSilenceMs: 600_000 }

export class ComputeLostError extends Error {}

export interface ComputeClient extends ComputeReady {
  /** Features of 224² RGB pixel buffers; the inputs are copied, never handed over. */
  embed(inputs: readonly Uint8Array[]): Promise<Float32Array[]>
  /** trainDpq on the page, with the same arguments; progress arrives as the page reports it. */
  train(features: readonly Float32Array[], labels: number[][] | null, options?: TrainOptions, hooks?: TrainHooks): Promise<DpqModel>
  /** The fixed timed pass through the fine-tuning tail, on the page's backend (ms). */
  tailMs(): Promise<number>
  /** Why the page is gone, or null while it answers. */
  lost(): string | null
  close(): void
}

export interface ConnectOptions {
  artifacts: BackboneArtifacts
  backends?: ComputeBackendName[]
  deadlines?: Partial<ComputeDeadlines>
}

export async function connectCompute(channel: ComputeChannel, options: ConnectOptions): Promise<ComputeClient> {
  const deadlines = { ...DEFAULT_DEADLINES, ...options.deadlines }
  const pending = new Map<
    number,
    { resolve: (reply: ComputeReply) => void; reject: (err: Error) => void; timer: ReturnType<typeof setTimeout>; progress?: (reply: Extract<ComputeReply, { type: 'progress' }>) => void }
  >()
  let nextId = 1
  let lostReason: string | null = null

  const lose = (reason: string) => {
    if (lostReason) return
    lostReason = reason
    for (const p of pending.values()) {
      clearTimeout(p.timer)
      p.reject(new ComputeLostError(`the compute page is gone: ${reason}`))
    }
    pending.clear()
    channel.close()
  }
  channel.onLost(lose)
  channel.onMessage((reply) => {
    const p = pending.get(reply.id)
    if (!p) return
    if (reply.type === 'progress') return p.progress?.(reply)
    pending.delete(reply.id)
    clearTimeout(p.timer)
    if (reply.type === 'failed') p.reject(new Error(reply.message))
    else p.resolve(reply)
  })

  /** Sends a request; its deadline restarts at every progress report it gets. */
  const request = <T extends ComputeReply['type']>(
    message: ComputeRequest,
    expect: T,
    deadlineMs: number,
    onProgress?: (reply: Extract<ComputeReply, { type: 'progress' }>) => void,
  ): Promise<Extract<ComputeReply, { type: T }>> =>
    new Promise((resolve, reject) => {
      if (lostReason) return reject(new ComputeLostError(`the compute page is gone: ${lostReason}`))
      const arm = () => {
        const t = setTimeout(() => lose(`no answer to ${message.type} in ${Math.round(deadlineMs / 1000)} s`), deadlineMs)
        t.unref?.()
        return t
      }
      const entry = {
        resolve: (reply: ComputeReply) => (reply.type === expect ? resolve(reply as Extract<ComputeReply, { type: T }>) : reject(new Error(`expected ${expect}, got ${reply.type}`))),
        reject,
        timer: arm(),
        progress: (reply: Extract<ComputeReply, { type: 'progress' }>) => {
          clearTimeout(entry.timer)
          entry.timer = arm()
          onProgress?.(reply)
        },
      }
      pending.set(message.id, entry)
      channel.post(message, transferablesOf(message))
    })

  // The weights are copied: the caller's artifacts stay usable (the worker pool may need them).
  const artifacts = { ...options.artifacts, weightData: options.artifacts.weightData.slice(0) }
  const ready = await request({ type: 'init', id: nextId++, artifacts, backends: options.backends }, 'ready', deadlines.initMs)
  const per = MODEL_INPUT_SIZE * MODEL_INPUT_SIZE * 3

  return {
    backend: ready.backend,
    adapter: ready.adapter,
    training: ready.training,
    backboneId: ready.backboneId,
    dim: ready.dim,
    checks: ready.checks,
    lost: () => lostReason,
    async embed(inputs) {
      if (inputs.length === 0) return []
      const pixels = new Uint8Array(inputs.length * per)
      inputs.forEach((input, i) => {
        if (input.length !== per) throw new Error(`model input must be ${MODEL_INPUT_SIZE}×${MODEL_INPUT_SIZE} RGB (${per} bytes), got ${input.length}`)
        pixels.set(input, i * per)
      })
      const deadline = deadlines.embedMs + deadlines.embedPerPhotoMs * inputs.length
      const reply = await request({ type: 'embed', id: nextId++, count: inputs.length, pixels: pixels.buffer }, 'features', deadline)
      const flat = new Float32Array(reply.features)
      return Array.from({ length: reply.count }, (_, i) => flat.slice(i * reply.dim, (i + 1) * reply.dim))
    },
    async train(features, labels, options = {}, hooks = {}) {
      const dim = features[0]?.length ?? 0
      const flat = new Float32Array(features.length * dim)
      features.forEach((f, i) => flat.set(f, i * dim))
      const id = nextId++
      if (hooks.signal?.aborted) throw new TrainingCancelled()
      // The page stops at its next step; the caller hears at once.
      let cancelled!: (err: Error) => void
      const cancellation = new Promise<never>((_, reject) => (cancelled = reject))
      const abort = () => {
        if (!lostReason) channel.post({ type: 'cancel', id: nextId++, target: id }, [])
        cancelled(new TrainingCancelled())
      }
      hooks.signal?.addEventListener('abort', abort, { once: true })
      try {
        const trained = request({ type: 'train', id, rows: features.length, dim, features: flat.buffer, labels, options }, 'model', deadlines.trainSilenceMs, (p) => hooks.onProgress?.(p.event))
        trained.catch(() => undefined)
        const reply = await Promise.race([trained, cancellation])
        return DpqModel.deserialize(new Uint8Array(reply.model))
      } finally {
        hooks.signal?.removeEventListener('abort', abort)
      }
    },
    async tailMs() {
      return (await request({ type: 'tail-speed', id: nextId++ }, 'tail-ms', deadlines.initMs)).ms
    },
    close: () => lose('closed'),
  }
}
