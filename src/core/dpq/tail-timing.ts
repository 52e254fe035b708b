// The fixed piece of fine-tuning work whose time says how fast a backend runs the tail: one
// forward pass of 32 photos through the legacy network's block_16 + Conv_1, timed on whatever backend is active. The
// same code runs in Node (modeling/finetune-speed.ts) and on the compute page, so their speeds
// compare with each other and with the reference box the plan's costs come from.
import { applyTailAsync, LEGACY_TAIL, mapSize, randomTail } from './finetune.ts'
import { createRng } from './prng.ts'

/** Milliseconds the pass took on the reference box (2 cores, wasm, quiet; the plan's costs' source). */
export const TAIL_REFERENCE_MS = 130

/** Best of two timed passes after one that compiles kernels and grows the heap (ms), reads included. */
export async function timeTailPass(): Promise<number> {
  // The legacy tail's sizes, whatever tail a library trains: the reference timing was taken with them.
  const tail = randomTail(createRng(1), LEGACY_TAIL)
  const rows = new Float32Array(32 * (mapSize(LEGACY_TAIL) + 8))
  await applyTailAsync(tail, rows, 32)
  let best = Infinity
  for (let i = 0; i < 2; i++) {
    const started = performance.now()
    await applyTailAsync(tail, rows, 32)
    best = Math.min(best, performance.now() - started)
  }
  return best
}

/** Time per unit of tail work ÷ the reference box's (1 = the same speed), kept within sane bounds. */
export function tailSpeedFromMs(ms: number): number {
  return Math.min(20, Math.max(0.01, ms / TAIL_REFERENCE_MS))
}
