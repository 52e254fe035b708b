// Neighbour blending (database-side augmentation): a library photo is encoded as its feature plus
// those of its most similar photos in the library, each weighted by its cosine cubed, so a photo's
// code leans towards the crowd it belongs to and away from what sets it apart by accident (light,
// background, framing). A query is blended the same way. The similar photos are searched among a
// pool (the library, or a sample of a large one) by cosine about part of the pool's mean, as the
// unsupervised model compares photos. Measured in docs/dpq.md, "Neighbour blending".
import { tf } from './tf.ts'
import { createRng, sampleIndices } from './prng.ts'
import { CENTRING } from './unsupervised.ts'

export interface NeighbourBlend {
  /** Neighbours blended into each photo. */
  k: number
  /** Each neighbour's weight is its cosine to the photo raised to this power (0 for a negative cosine). */
  power: number
  /** Photos the neighbours are searched among at most (a deterministic sample of a larger library). */
  pool: number
  /**
   * Share of the pool's mean taken off before similarities are measured (0 or unset: the features'
   * own cosine). Photos of one kind share a large direction that makes every pair look alike; taking
   * part of it off ranks neighbours by what sets them apart.
   */
  centring?: number
}

/** Chosen on clothing-small and COCO-256 (docs/dpq.md); centring as the unsupervised model's PCA. */
export const NEIGHBOUR_BLEND: NeighbourBlend = { k: 10, power: 3, pool: 5000, centring: CENTRING }

/**
 * The same blending of a learned embedding: a model trained on albums places a photo among its
 * album's kind, so its nearest photos there are mostly of that kind and their mean is a steadier
 * description than the photo alone (measured in docs/dpq.md, "Embedding neighbours").
 */
export const EMBEDDING_NEIGHBOURS: NeighbourBlend = { k: 10, power: 3, pool: 5000 }

/**
 * Every row of flat [n, D] blended with its neighbours among a sample of the rows (at most
 * `o.pool`, seeded), as blendWithNeighbours does; flat [n, D] at unit length.
 */
export function blendAmongRows(x: Float32Array, D: number, o: NeighbourBlend, seed: number): Float32Array {
  const n = x.length / D
  const rows = Array.from({ length: n }, (_, i) => x.subarray(i * D, (i + 1) * D))
  const sample = sampleIndices(n, o.pool, createRng(seed))
  const selfIndex = new Int32Array(n).fill(-1)
  sample.forEach((r, j) => (selfIndex[r] = j))
  return flatten(blendWithNeighbours(rows, sample.map((r) => rows[r]), selfIndex, o), D)
}

/** Rows a chunk of the similarity search compares with the whole pool at once. */
const CHUNK = 512

/**
 * A pool made ready to blend against, once for many calls: its rows at unit length, and flat, the
 * rows the similarity is measured on (at unit length about `centring` × the mean of the unit rows).
 */
export interface ReadyPool {
  centring: number
  unit: Float32Array[]
  about: (v: Float32Array) => Float32Array
  measured: Float32Array
}

export function readyPool(pool: readonly Float32Array[], centring = 0): ReadyPool {
  const unitPool = pool.map(unit)
  const about = unitPool.length ? aboutMean(unitPool, centring) : (v: Float32Array) => v
  return { centring, unit: unitPool, about, measured: flatten(unitPool.map(about), pool[0]?.length ?? 0) }
}

/**
 * Each row, at unit length, plus its k most similar pool rows at unit length weighted by
 * max(0, cosine)^power, back at unit length; the cosine is taken about `centring` × the mean of
 * the pool's unit rows. `selfIndex[i]` is row i's own position in the pool (never its own
 * neighbour), -1 when it is not in the pool.
 */
export function blendWithNeighbours(
  rows: readonly Float32Array[],
  pool: readonly Float32Array[],
  selfIndex: ArrayLike<number>,
  o: Pick<NeighbourBlend, 'k' | 'power' | 'centring'>,
): Float32Array[] {
  return blendWithPool(rows, readyPool(pool, o.centring ?? 0), selfIndex, o)
}

/** blendWithNeighbours against a pool made ready before (its own centring). */
export function blendWithPool(rows: readonly Float32Array[], pool: ReadyPool, selfIndex: ArrayLike<number>, o: Pick<NeighbourBlend, 'k' | 'power'>): Float32Array[] {
  if (rows.length === 0) return []
  const D = rows[0].length
  const size = pool.unit.length
  const k = Math.min(o.k, Math.max(0, size - 1))
  if (k === 0 || size === 0) return rows.map(unit)
  const poolTensor = tf.tensor2d(pool.measured, [size, D])
  const out: Float32Array[] = []
  try {
    for (let from = 0; from < rows.length; from += CHUNK) {
      const part = rows.slice(from, from + CHUNK).map(unit)
      const { values, indices } = tf.tidy(() => {
        const similarity = tf.matMul(tf.tensor2d(flatten(part.map(pool.about), D), [part.length, D]), poolTensor, false, true)
        return tf.topk(similarity, Math.min(size, k + 1))
      })
      const cosines = values.dataSync() as Float32Array
      const found = indices.dataSync() as Int32Array
      values.dispose()
      indices.dispose()
      const width = cosines.length / part.length
      part.forEach((row, i) => {
        const blended = row.slice()
        let taken = 0
        for (let t = 0; t < width && taken < k; t++) {
          const j = found[i * width + t]
          if (j === selfIndex[from + i]) continue
          const weight = Math.max(0, cosines[i * width + t]) ** o.power
          const neighbour = pool.unit[j]
          for (let d = 0; d < D; d++) blended[d] += weight * neighbour[d]
          taken++
        }
        out.push(unit(blended))
      })
    }
  } finally {
    poolTensor.dispose()
  }
  return out
}

/** Each vector less `share` of the pool's mean, at unit length (the vector itself when share is 0). */
function aboutMean(unitPool: readonly Float32Array[], share: number): (v: Float32Array) => Float32Array {
  if (share === 0) return (v) => v
  const mean = new Float32Array(unitPool[0].length)
  for (const v of unitPool) for (let d = 0; d < mean.length; d++) mean[d] += v[d]
  for (let d = 0; d < mean.length; d++) mean[d] *= share / unitPool.length
  return (v) => unit(v.map((x, d) => x - mean[d]))
}

function unit(v: Float32Array): Float32Array {
  let s = 0
  for (let d = 0; d < v.length; d++) s += v[d] * v[d]
  const norm = Math.sqrt(s)
  return norm > 0 ? v.map((x) => x / norm) : v.slice()
}

function flatten(rows: readonly Float32Array[], D: number): Float32Array {
  const flat = new Float32Array(rows.length * D)
  rows.forEach((r, i) => flat.set(r, i * D))
  return flat
}
