// Backend choice on the compute page: webgpu → webgl → wasm, each accepted only when the
// library's own backbone computes, on it, the same features as on wasm for fixed inputs.
// A backend that loads but computes garbage (driver bugs, half-float textures) is passed over.
import type * as tfType from '@tensorflow/tfjs'
import { COMPUTE_BACKEND_ORDER, SELF_CHECK_COSINE, type BackendCheck, type ComputeAdapter, type ComputeBackendName } from '../core/compute/protocol.ts'
import { MODEL_INPUT_SIZE } from '../core/types.ts'
import { adapterOf } from './adapter.ts'

type Tf = typeof tfType

/** Features of `inputs` on the active backend (built there, released after). */
export type FeaturesOn = (inputs: readonly Uint8Array[]) => Promise<Float32Array[]>

export interface BackendChoice {
  backend: ComputeBackendName
  adapter: ComputeAdapter | null
  checks: BackendCheck[]
  /** The backend training runs on (see ComputeReady.training). */
  training: { backend: ComputeBackendName; adapter: ComputeAdapter | null }
}

/**
 * Two fixed 224² images (smooth colour gradients and stripes, the same every time): at the real
 * input size, so every kernel the backbone uses runs at the shapes it will run at.
 */
export function selfCheckInputs(size = MODEL_INPUT_SIZE): Uint8Array[] {
  return [0, 1].map((k) => {
    const pixels = new Uint8Array(size * size * 3)
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const i = (y * size + x) * 3
        pixels[i] = (127.5 + 127.5 * Math.sin((x * (k + 1)) / 17 + k)) | 0
        pixels[i + 1] = (127.5 + 127.5 * Math.cos((y * (k + 2)) / 23 - k)) | 0
        pixels[i + 2] = ((x + y) * (k + 3)) & 255
      }
    }
    return pixels
  })
}

/** Lowest cosine similarity between corresponding rows. */
export function lowestCosine(a: readonly Float32Array[], b: readonly Float32Array[]): number {
  let lowest = 1
  a.forEach((row, i) => {
    let dot = 0
    let na = 0
    let nb = 0
    for (let j = 0; j < row.length; j++) {
      dot += row[j] * b[i][j]
      na += row[j] * row[j]
      nb += b[i][j] * b[i][j]
    }
    lowest = Math.min(lowest, dot / Math.sqrt(na * nb || 1))
  })
  return lowest
}

/**
 * Activates the first backend of `order` that passes its self-check and leaves it active;
 * wasm is the reference and the last resort. Every check is reported.
 */
export async function chooseBackend(tf: Tf, featuresOn: FeaturesOn, order: readonly ComputeBackendName[] = COMPUTE_BACKEND_ORDER): Promise<BackendChoice> {
  const inputs = selfCheckInputs()
  if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend, the reference every other is checked against, did not start')
  await tf.ready()
  const reference = await featuresOn(inputs)
  const checks: BackendCheck[] = []
  for (const backend of order) {
    if (backend === 'wasm') break
    const check = await checkBackend(tf, backend, featuresOn, inputs, reference)
    checks.push(check)
    if (!check.accepted) continue
    return { backend, adapter: check.adapter, checks, training: { backend, adapter: check.adapter } }
  }
  await tf.setBackend('wasm')
  checks.push({ backend: 'wasm', accepted: true, cosine: 1, adapter: null })
  return { backend: 'wasm', adapter: null, checks, training: { backend: 'wasm', adapter: null } }
}

async function checkBackend(tf: Tf, backend: ComputeBackendName, featuresOn: FeaturesOn, inputs: Uint8Array[], reference: Float32Array[]): Promise<BackendCheck> {
  let adapter: ComputeAdapter | null = null
  try {
    adapter = await adapterOf(backend)
    if (!(await tf.setBackend(backend))) return { backend, accepted: false, cosine: null, adapter, reason: `tfjs could not initialise ${backend}` }
    await tf.ready()
    const cosine = lowestCosine(await featuresOn(inputs), reference)
    const accepted = cosine >= SELF_CHECK_COSINE
    return { backend, accepted, cosine, adapter, ...(accepted ? {} : { reason: `features differ from wasm's (cosine ${cosine.toFixed(4)} < ${SELF_CHECK_COSINE})` }) }
  } catch (err) {
    return { backend, accepted: false, cosine: null, adapter, reason: err instanceof Error ? err.message : String(err) }
  }
}
