// Confirming candidates: the exact cosine of two photos' stored features (the backbone's vectors,
// not the codes), which is what the duplicate thresholds are measured on, lifted a little where
// the photos' perceptual hashes say they are the same picture.
import { hammingDistance } from './perceptual-hash.ts'

/** ‖v‖ of each of the n = features.length / dim rows. */
export function rowNorms(features: Float32Array, dim: number): Float32Array {
  const n = Math.floor(features.length / dim)
  const norms = new Float32Array(n)
  for (let r = 0; r < n; r++) {
    let s = 0
    for (let d = r * dim, end = d + dim; d < end; d++) s += features[d] * features[d]
    norms[r] = Math.sqrt(s)
  }
  return norms
}

/**
 * Cosine of rows rowA[i] and rowB[i] of `features` (n × dim, row-major), for every i; 0 where
 * either row is all zeros (a photo without a feature).
 */
export function pairCosines(features: Float32Array, dim: number, rowA: Int32Array, rowB: Int32Array, norms = rowNorms(features, dim)): Float32Array {
  if (rowA.length !== rowB.length) throw new Error(`pairCosines: ${rowA.length} rows against ${rowB.length}`)
  const out = new Float32Array(rowA.length)
  for (let i = 0; i < rowA.length; i++) {
    const a = rowA[i]
    const b = rowB[i]
    const denom = norms[a] * norms[b]
    if (!(denom > 0)) continue
    let dot = 0
    for (let d = 0, x = a * dim, y = b * dim; d < dim; d++) dot += features[x + d] * features[y + d]
    out[i] = dot / denom
  }
  return out
}

/** When a pair's perceptual hashes are close enough to lift its cosine, and how far. */
export interface HashRule {
  /** Hashes at most this many bits apart… */
  maxDistance: number
  /** …multiply the pair's distance from a perfect match (1 − cosine) by this (0 < shrink ≤ 1). */
  shrink: number
}

/**
 * Each pair's score: its cosine, lifted towards 1 where both photos have a perceptual hash
 * (`known`) and the two are at most maxDistance bits apart: 1 − (1 − cosine) · shrink. The lift
 * keeps the order of pairs and never passes 1, so the threshold still means what it says (at 1
 * only identical features group) and a hash only lowers the bar: at a threshold t a pair still
 * needs a cosine of 1 − (1 − t) / shrink, so two photos of one layout with unrelated content are
 * not taken for copies.
 */
export function hashLiftedScores(cosines: Float32Array, hashes: Uint32Array, known: Uint8Array, rowA: Int32Array, rowB: Int32Array, rule: HashRule): Float32Array {
  const out = Float32Array.from(cosines)
  for (let i = 0; i < out.length; i++) {
    const a = rowA[i]
    const b = rowB[i]
    if (out[i] < 1 && known[a] && known[b] && hammingDistance(hashes, a, b) <= rule.maxDistance) out[i] = 1 - (1 - out[i]) * rule.shrink
  }
  return out
}
