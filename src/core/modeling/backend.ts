// The tfjs backend DPQ trains and encodes with in Node: core/embed's order (node-gpu → node →
// wasm → cpu, or $LOOKALIKE_BACKEND), with every core for wasm since training runs in this thread.
import '@tensorflow/tfjs-backend-wasm'
import { availableParallelism } from 'node:os'
import { tf } from '../dpq/tf.ts'
import { selectBackend } from '../embed/backend.ts'

let ready: Promise<string> | null = null

/** Activates the best backend once per process; returns its name. */
export function ensureBackend(): Promise<string> {
  ready ??= (async () => {
    // Already chosen in this process (e.g. by the embedder): keep it. Not tf.getBackend(), which
    // would initialise a default backend as a side effect.
    const current = tf.engine().backendName
    if (current === 'tensorflow' || current === 'wasm') return current
    try {
      return (await selectBackend({ threads: Number(process.env.DPQ_THREADS ?? availableParallelism()) })).name
    } catch {
      await tf.setBackend('cpu')
      return 'cpu'
    }
  })()
  return ready
}
