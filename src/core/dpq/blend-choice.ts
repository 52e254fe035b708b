// The blend weight of a library model chosen on the library's own held-out album photos. Each held-out
// photo is ranked among the *other held-out* photos: neither side was trained on, as with the photos a
// search meets. Ranked among the trained album photos instead, the learned half always looks better
// (the head pulled those photos into their albums), and that favoured the largest weight even where it
// lowered mAP on new photos. The default weight stays unless another is clearly better: a few dozen
// held-out photos cannot tell weights apart finely, and a noisy win is not worth the change.
import { averagePrecision, labelSets, sharesLabel } from './metrics.ts'

/** Leave-one-out mAP@all of held-out embeddings (flat [n, D]) by cosine; null when no photo shares an album with another. */
export function heldOutPeerMap(x: Float32Array, D: number, labels: readonly (readonly number[])[]): number | null {
  const n = labels.length
  const sets = labelSets(labels)
  const cosine = gram(x, D, n)
  const others = new Int32Array(n - 1)
  let sum = 0
  let judged = 0
  for (let q = 0; q < n; q++) {
    for (let j = 0, t = 0; j < n; j++) if (j !== q) others[t++] = j
    // Best first; ties keep photo order, so the choice repeats exactly.
    const ranked = Array.from(others).sort((a, b) => cosine[q * n + b] - cosine[q * n + a] || a - b)
    const relevant = ranked.map((j) => sharesLabel(sets[q], sets[j]))
    // A photo alone in its album among the held-out ones has nothing to find: not judged.
    if (!relevant.includes(true)) continue
    sum += averagePrecision(relevant)
    judged++
  }
  return judged ? sum / judged : null
}

/** Cosine of every pair of rows, flat [n, n]. */
function gram(x: Float32Array, D: number, n: number): Float64Array {
  const unit = x.slice(0, n * D)
  for (let i = 0; i < n; i++) {
    let s = 0
    for (let k = 0; k < D; k++) s += unit[i * D + k] ** 2
    const norm = Math.sqrt(s) || 1
    for (let k = 0; k < D; k++) unit[i * D + k] /= norm
  }
  const out = new Float64Array(n * n)
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      let s = 0
      for (let k = 0; k < D; k++) s += unit[i * D + k] * unit[j * D + k]
      out[i * n + j] = s
      out[j * n + i] = s
    }
  }
  return out
}

export interface BlendChoice {
  /** Weights tried, the default among them. */
  candidates: readonly number[]
  /** The weight kept unless another ranks the held-out photos better by more than `margin`. */
  default: number
  /** Held-out sets are small (20 photos at 10 per album): smaller differences are their noise. */
  margin: number
}

/**
 * The weight whose embedding ranks the held-out photos best, if it beats the default by more than the
 * margin (ties between the others go to the smaller weight: photos in no album keep more of the
 * unsupervised embedding). `embed(w)` embeds the held-out photos under weight w. Null when nothing can be judged.
 */
export function chooseBlend(o: BlendChoice, embed: (weight: number) => { x: Float32Array; D: number }, labels: readonly (readonly number[])[]): { weight: number; peerMap: Record<string, number> } | null {
  const peerMap: Record<string, number> = {}
  const maps = new Map<number, number>()
  for (const weight of [...new Set([...o.candidates, o.default])].sort((a, b) => a - b)) {
    const { x, D } = embed(weight)
    const map = heldOutPeerMap(x, D, labels)
    if (map === null) return null
    maps.set(weight, map)
    peerMap[String(weight)] = Math.round(map * 10_000) / 10_000
  }
  let best = o.default
  let bestMap = maps.get(o.default)! + o.margin
  for (const [weight, map] of maps) {
    if (map > bestMap) {
      best = weight
      bestMap = map
    }
  }
  return { weight: best, peerMap }
}
