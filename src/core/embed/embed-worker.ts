// Worker thread entry: one backbone per worker, batches in, features out. Self-contained (imports
// only core/embed, core/types and packages) so a bundler can emit it as a separate entry.
import { parentPort, workerData } from 'node:worker_threads'
import { createInProcessEmbedder } from './in-process.ts'
import type { EmbedRequest, WorkerInit, WorkerMessage } from './worker-protocol.ts'

const port = parentPort
if (!port) throw new Error('embed-worker.ts must run as a worker thread')
const init = workerData as WorkerInit

const post = (message: WorkerMessage, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer)

try {
  const embedder = await createInProcessEmbedder({ backend: init.backend, threads: init.wasmThreads, feature: init.feature })
  post({ type: 'ready', backboneId: embedder.backboneId, backend: embedder.backend, dim: embedder.dim })
  port.on('message', (request: EmbedRequest | { type: 'close' }) => {
    if (request.type === 'close') {
      void embedder.close().finally(() => port.close())
      return
    }
    embedder.embed(request.inputs).then(
      (features) => post({ type: 'features', id: request.id, features }, features.map((f) => f.buffer as ArrayBuffer)),
      (err: unknown) => post({ type: 'failed', id: request.id, message: err instanceof Error ? err.message : String(err) }),
    )
  })
} catch (err) {
  post({ type: 'failed', id: -1, message: err instanceof Error ? err.message : String(err) })
}
