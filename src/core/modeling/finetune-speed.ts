// How fast this machine runs the fine-tuned tail, relative to the 2-core box whose wasm timings
// finetune-plan.ts's costs come from: one timed forward pass of 32 photos through block_16 +
// Conv_1, once per process. A faster CPU (or tfjs-node's native kernels) gets a lower factor.
import { applyTail, MAP_SIZE, randomTail } from '../dpq/finetune.ts'
import { createRng } from '../dpq/prng.ts'
import { ensureBackend } from './backend.ts'

/** Milliseconds the 32-photo pass took on the reference box (wasm, quiet; the costs' source). */
const REFERENCE_MS = 130

let measured: Promise<number> | null = null

/** This machine's time per unit of tail work ÷ the reference box's (1 = the same speed). */
export function tailSpeedFactor(): Promise<number> {
  measured ??= measure()
  return measured
}

async function measure(): Promise<number> {
  await ensureBackend()
  const tail = randomTail(createRng(1))
  const rows = new Float32Array(32 * (MAP_SIZE + 8))
  applyTail(tail, rows, 32) // the first pass compiles kernels and grows the heap
  let best = Infinity
  for (let i = 0; i < 2; i++) {
    const started = performance.now()
    applyTail(tail, rows, 32)
    best = Math.min(best, performance.now() - started)
  }
  return Math.min(20, Math.max(0.05, best / REFERENCE_MS))
}
