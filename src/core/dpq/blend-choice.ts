// The blend weight of a library model chosen on the library's own held-out album photos. Each held-out
// photo is ranked among the *other held-out* photos: neither side was trained on, as with the photos a
// search meets. Ranked among the trained album photos instead, the learned half always looks better
// (the head pulled those photos into their albums), and that favoured the largest weight even where it
// lowered mAP on new photos.
import { labelSets, meanAveragePrecision } from './metrics.ts'

/** Leave-one-out mAP@all of held-out embeddings (flat [n, D]) by cosine; null when no photo shares an album with another. */
export function heldOutPeerMap(x: Float32Array, D: number, labels: readonly (readonly number[])[]): number | null {
  const n = labels.length
  const sets = labelSets(labels)
  const unit = x.slice(0, n * D)
  for (let i = 0; i < n; i++) {
    let s = 0
    for (let k = 0; k < D; k++) s += unit[i * D + k] ** 2
    const norm = Math.sqrt(s) || 1
    for (let k = 0; k < D; k++) unit[i * D + k] /= norm
  }
  let sum = 0
  let judged = 0
  for (let q = 0; q < n; q++) {
    const others = Array.from({ length: n - 1 }, (_, j) => (j < q ? j : j + 1))
    const relevant = others.some((j) => labels[j].some((l) => labels[q].includes(l)))
    if (!relevant) continue
    const ap = meanAveragePrecision([sets[q]], others.map((j) => sets[j]), (_, out) => {
      others.forEach((j, t) => {
        let s = 0
        for (let k = 0; k < D; k++) s += unit[q * D + k] * unit[j * D + k]
        out[t] = s
      })
    }).all
    sum += ap
    judged++
  }
  return judged ? sum / judged : null
}

/**
 * The weight whose embedding ranks the held-out photos best; a larger weight must beat the best smaller
 * one outright (ties go to the smaller weight: photos in no album keep more of the unsupervised
 * embedding). `embed(w)` embeds the held-out photos under weight w. Null when nothing can be judged.
 */
export function chooseBlend(candidates: readonly number[], embed: (weight: number) => { x: Float32Array; D: number }, labels: readonly (readonly number[])[]): { weight: number; peerMap: Record<string, number> } | null {
  let best: { weight: number; map: number } | null = null
  const peerMap: Record<string, number> = {}
  for (const weight of [...candidates].sort((a, b) => a - b)) {
    const { x, D } = embed(weight)
    const map = heldOutPeerMap(x, D, labels)
    if (map === null) return null
    peerMap[String(weight)] = Math.round(map * 10_000) / 10_000
    if (!best || map > best.map) best = { weight, map }
  }
  return best && { weight: best.weight, peerMap }
}
