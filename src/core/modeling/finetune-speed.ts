// How fast this machine runs the fine-tuned tail in Node, relative to the 2-core box whose wasm
// timings finetune-plan.ts's costs come from (dpq/tail-timing.ts), once per process. A faster CPU,
// tfjs-node's native kernels or CUDA get a lower factor. The desktop's compute page measures the
// same pass on its own backend.
import { tailSpeedFromMs, timeTailPass } from '../dpq/tail-timing.ts'
import { ensureBackend } from './backend.ts'

let measured: Promise<number> | null = null

/** This machine's time per unit of tail work ÷ the reference box's (1 = the same speed). */
export function tailSpeedFactor(): Promise<number> {
  measured ??= ensureBackend().then(timeTailPass).then(tailSpeedFromMs)
  return measured
}
