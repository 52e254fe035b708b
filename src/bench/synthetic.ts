// Seeded synthetic libraries for the search benchmark and tests: codebooks with the real shapes
// (M blocks × K codewords × D dims, later blocks smaller, as residual quantization makes them),
// random codes, and embeddings that the codes approximate (reconstruction + a small residual).

import { createRng, normal } from '../core/dpq/prng.ts'

/** A seeded PRNG in [0, 1) (the one DPQ trains with). */
export const seededRandom: (seed: number) => () => number = createRng

/** Standard normal samples (Box–Muller). */
export function gaussian(random: () => number): () => number {
  return () => normal(random)
}

export interface SyntheticModel {
  M: number
  K: number
  D: number
  /** M × K × D */
  codebooks: Float32Array
  /** Standard deviation of the residual an embedding keeps beyond its reconstruction, per dimension. */
  residual: number
}

/** Block m's codewords have norm ≈ decay^m; the residual is about as large as one more block. */
export function syntheticModel(M: number, K: number, D: number, seed = 1, decay = 0.6): SyntheticModel {
  const normal = gaussian(seededRandom(seed))
  const codebooks = new Float32Array(M * K * D)
  for (let m = 0; m < M; m++) {
    const sd = decay ** m / Math.sqrt(D)
    for (let i = m * K * D; i < (m + 1) * K * D; i++) codebooks[i] = normal() * sd
  }
  return { M, K, D, codebooks, residual: decay ** M / Math.sqrt(D) }
}

/** Fills `codes` (N × M bytes) with uniform random codeword indices below K. */
export function randomCodes(codes: Uint8Array, K: number, seed = 2): Uint8Array {
  const random = seededRandom(seed)
  for (let i = 0; i < codes.length; i++) codes[i] = Math.floor(random() * K)
  return codes
}

/** Σ_m c_{m, code[m]}: the embedding the code stands for. */
export function reconstruct(model: SyntheticModel, code: ArrayLike<number>): Float32Array {
  const { K, D, codebooks } = model
  const out = new Float32Array(D)
  for (let m = 0; m < code.length; m++) {
    const base = (m * K + code[m]) * D
    for (let d = 0; d < D; d++) out[d] += codebooks[base + d]
  }
  return out
}

/** A photo's float embedding: its code's reconstruction plus a residual fixed by the photo id. */
export function syntheticEmbedding(model: SyntheticModel, code: ArrayLike<number>, photoId: number): Float32Array {
  const out = reconstruct(model, code)
  const normal = gaussian(seededRandom(0x9e3779b9 ^ photoId))
  for (let d = 0; d < out.length; d++) out[d] += normal() * model.residual
  return out
}
