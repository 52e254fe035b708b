// Residual codebooks fitted on fixed embeddings, block by block, optionally checked on held-out
// album photos: a block whose codewords lower the held-out mAP of its prefix is weakened or
// dropped (all-zero codewords add nothing to any score), so a longer code never ranks worse
// than a shorter one on the photos it was checked on. "Lower" means by more than the tolerance
// and by more than twice the standard error of the per-photo change (up to 0.005): ten held-out photos cannot
// tell a block that hurts from noise, and a block dropped on noise is lost to every photo in no
// album (docs/dpq.md, "Block check").
import { gatherRows, kmeans } from './kmeans.ts'
import { labelSets, meanAveragePrecision, type LabelSet } from './metrics.ts'
import { DpqModel } from './model.ts'
import { createRng, sampleIndices } from './prng.ts'
import { quantize, reconstruct } from './quantize.ts'

export interface CodebookOptions {
  M: number
  K: number
  seed: number
  iterations?: number
  /** Points each block's k-means uses (a sample of large libraries). */
  maxPoints?: number
  /**
   * Scale of blocks 2…M as fitted (default 1: plain residual quantization). Below 1 a photo's code
   * stays nearer its first block's codeword, the centre of its cluster, and a long code ranks a
   * photo by its cluster and by itself together.
   */
  refineWeight?: number
  /** Each block's scale as an earlier check chose it, in place of a check (a model fitted again on the photos it was checked on). */
  blockScale?: readonly number[]
}

/**
 * Held-out album photos and the library they are ranked against, as in the Retrain summary:
 * queries keep their float embedding, database rows (indices into the fitted embeddings) are codes.
 */
export interface PrefixCheck {
  queries: Float32Array
  queryLabels: readonly LabelSet[]
  database: readonly number[]
  databaseLabels: readonly LabelSet[]
  /** A block is kept as it is when its prefix loses at most this much mAP (default 0). */
  tolerance?: number
}

export interface FittedCodebooks {
  /** Flat [M, K, D]. */
  codebooks: Float32Array
  /** Scale applied to each block's codewords: 1 as fitted (or the refine weight), smaller weakened, 0 dropped. */
  blockScale: number[]
  /** Held-out mAP@all per prefix (blocks 1…M) when checked. */
  prefixMap?: number[]
}

/** Scales tried, in order, for a block that hurts as fitted; 0 (dropped) always keeps the prefix's mAP. */
const WEAKER = [0.5, 0.25, 0]

export function fitCheckedCodebooks(x: Float32Array, D: number, o: CodebookOptions, check?: PrefixCheck): FittedCodebooks {
  const { M, K } = o
  const codebooks = new Float32Array(M * K * D)
  const blockScale: number[] = []
  const prefixMap: number[] = []
  const residual = x.slice()
  const scores = check ? check.queryLabels.map(() => new Float32Array(check.database.length)) : []
  // Per-photo APs of the best prefix so far and of the prefix as kept. The first block is always
  // kept: there is no shorter code to compare it with.
  let best: Float64Array | null = null
  let kept: Float64Array = new Float64Array(0)
  for (let m = 0; m < M; m++) {
    const block = kmeans(residual, D, { k: K, assign: 'cosine', seed: o.seed + 31 * (m + 1), iterations: o.iterations ?? 10, maxPoints: o.maxPoints ?? 8000 })
    const q = { M: 1, K, D, codebooks: block }
    const codes = quantize(q, residual)
    const weight = o.blockScale?.[m] ?? (m === 0 ? 1 : (o.refineWeight ?? 1))
    let scale = weight
    if (check) {
      const table = queryTable(check.queries, block, D, K)
      const tolerance = check.tolerance ?? 0
      for (const s of [1, ...WEAKER]) {
        scale = s * weight
        if (s === 0) break
        const trial = scores.map((row, i) => addBlock(row, table, i, K, codes, check.database, scale))
        const aps = apsOf(check, trial)
        if (!best || !harmed(aps, best, tolerance)) {
          trial.forEach((row, i) => scores[i].set(row))
          kept = aps
          if (!best || mean(aps) > mean(best)) best = aps
          break
        }
      }
      prefixMap.push(mean(kept))
    }
    blockScale.push(scale)
    if (scale !== 0) {
      for (let i = 0; i < block.length; i++) block[i] *= scale
      const hard = reconstruct(q, codes)
      for (let i = 0; i < residual.length; i++) residual[i] -= hard[i]
      codebooks.set(block, m * K * D)
    }
  }
  return { codebooks, blockScale, ...(check ? { prefixMap: prefixMap.map(round) } : {}) }
}

/** ⟨query_i, c_k⟩ for every held-out query and codeword, flat [nq, K]. */
function queryTable(queries: Float32Array, block: Float32Array, D: number, K: number): Float32Array {
  const nq = queries.length / D
  const table = new Float32Array(nq * K)
  for (let i = 0; i < nq; i++) {
    for (let k = 0; k < K; k++) {
      let s = 0
      for (let j = 0; j < D; j++) s += queries[i * D + j] * block[k * D + j]
      table[i * K + k] = s
    }
  }
  return table
}

function addBlock(row: Float32Array, table: Float32Array, query: number, K: number, codes: Uint8Array, database: readonly number[], scale: number): Float32Array {
  const out = row.slice()
  for (let j = 0; j < database.length; j++) out[j] += scale * table[query * K + codes[database[j]]]
  return out
}

/** Average precision of each held-out photo ranking the database by its scores. */
function apsOf(check: PrefixCheck, scores: Float32Array[]): Float64Array {
  return Float64Array.from(scores, (row, q) => meanAveragePrecision([check.queryLabels[q]], check.databaseLabels, (_, out) => out.set(row)).all)
}

/**
 * Whether the prefix's per-photo APs fall below the best prefix's by more than the tolerance and
 * two standard errors of the change, or by more than NOISE_ALLOWANCE whatever the noise.
 */
export function harmed(aps: Float64Array, best: Float64Array, tolerance: number): boolean {
  const n = aps.length
  const change = mean(aps) - mean(best)
  let spread = 0
  for (let i = 0; i < n; i++) spread += (aps[i] - best[i] - change) ** 2
  const standardError = n > 1 ? Math.sqrt(spread / (n - 1) / n) : 0
  return change < -Math.max(tolerance, Math.min(2 * standardError, NOISE_ALLOWANCE))
}

/** The most a block may lower the held-out mAP: the Retrain summary never shows a longer code more than this below a shorter one. */
export const NOISE_ALLOWANCE = 0.005

function mean(xs: Float64Array): number {
  let s = 0
  for (const x of xs) s += x
  return xs.length ? s / xs.length : 0
}

function round(x: number): number {
  return Math.round(x * 10_000) / 10_000
}

export interface LibraryRefit {
  /** Photos used to fit the codebooks: every album photo plus at most this many others (sampled). */
  maxOthers?: number
  tolerance?: number
  seed?: number
  refineWeight?: number
  blockScale?: readonly number[]
}

/**
 * A trained model's codebooks refitted on the embeddings of the whole library (album photos and
 * photos in no album) and checked block by block on the held-out album photos, ranked among the
 * other album photos (the only photos whose relevance is known). `x` holds every library photo's
 * embedding (flat [n, D]); `labels` their albums ([] for none); `heldOut` rows were not trained on.
 */
export function refitOnLibrary(model: DpqModel, x: Float32Array, labels: readonly (readonly number[])[], heldOut: readonly number[], o: LibraryRefit = {}): { model: DpqModel; fitted: FittedCodebooks } {
  const { M, K, D } = model
  const seed = o.seed ?? Number(model.params.seed ?? 42)
  const isHeld = new Set(heldOut)
  const albums = labels.map((_, i) => i).filter((i) => labels[i].length > 0 && !isHeld.has(i))
  const others = labels.map((_, i) => i).filter((i) => labels[i].length === 0 && !isHeld.has(i))
  const sampled = sampleIndices(others.length, o.maxOthers ?? 10_000, createRng(seed)).map((j) => others[j])
  const rows = [...albums, ...sampled].sort((a, b) => a - b)
  const position = new Map(rows.map((r, j) => [r, j]))
  const sets = labelSets(labels)
  const check: PrefixCheck | undefined =
    heldOut.length && albums.length
      ? {
          queries: gatherRows(x, D, heldOut),
          queryLabels: heldOut.map((i) => sets[i]),
          database: albums.map((i) => position.get(i)!),
          databaseLabels: albums.map((i) => sets[i]),
          tolerance: o.tolerance ?? 0.005,
        }
      : undefined
  const fitted = fitCheckedCodebooks(gatherRows(x, D, rows), D, { M, K, seed, refineWeight: o.refineWeight, blockScale: o.blockScale }, check)
  const params = { ...model.params, codebookPhotos: rows.length, blockScale: fitted.blockScale }
  return { model: new DpqModel(params, model.head, fitted.codebooks), fitted }
}
