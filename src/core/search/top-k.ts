// Bounded top-k: a min-heap of the k best (score, photo id) pairs seen so far, with the worst at the
// root. Best = higher score, then smaller photo id, so equal scores rank the same way every time.

export interface SearchResult {
  /** Photo ids, best first. */
  ids: Int32Array
  scores: Float32Array
}

export class TopK {
  readonly k: number
  private readonly scores: Float64Array
  private readonly ids: Int32Array
  private count = 0
  /** A photo that never enters (the query photo itself). */
  private readonly excluded: number

  constructor(k: number, excludeId = -1) {
    if (!Number.isInteger(k) || k < 0) throw new Error(`k must be a non-negative integer, got ${k}`)
    this.k = k
    this.scores = new Float64Array(k)
    this.ids = new Int32Array(k)
    this.excluded = excludeId
  }

  get size(): number {
    return this.count
  }

  /**
   * Scores below this can never enter; scanners skip the call for them. A score equal to it may
   * still enter on a smaller id, so scanners pass `score >= threshold` on to `offer`.
   */
  get threshold(): number {
    if (this.k === 0) return Infinity
    return this.count < this.k ? -Infinity : this.scores[0]
  }

  /** Considers one photo; returns the new threshold. */
  offer(score: number, id: number): number {
    if (this.k === 0 || id === this.excluded || score !== score) return this.threshold
    const s = this.scores
    const ids = this.ids
    if (this.count < this.k) {
      // sift up from the new leaf
      let i = this.count++
      while (i > 0) {
        const parent = (i - 1) >> 1
        if (!worse(score, id, s[parent], ids[parent])) break
        s[i] = s[parent]
        ids[i] = ids[parent]
        i = parent
      }
      s[i] = score
      ids[i] = id
    } else {
      if (!worse(s[0], ids[0], score, id)) return s[0]
      // replace the root and sift down
      const n = this.count
      let i = 0
      for (;;) {
        const left = 2 * i + 1
        if (left >= n) break
        const right = left + 1
        const child = right < n && worse(s[right], ids[right], s[left], ids[left]) ? right : left
        if (!worse(s[child], ids[child], score, id)) break
        s[i] = s[child]
        ids[i] = ids[child]
        i = child
      }
      s[i] = score
      ids[i] = id
    }
    return this.threshold
  }

  /** The kept photos, best first. */
  result(): SearchResult {
    const order = Array.from({ length: this.count }, (_, i) => i)
    const s = this.scores
    const ids = this.ids
    order.sort((a, b) => s[b] - s[a] || ids[a] - ids[b])
    return {
      ids: Int32Array.from(order, (i) => ids[i]),
      scores: Float32Array.from(order, (i) => s[i]),
    }
  }
}

/** Does (scoreA, idA) rank below (scoreB, idB)? */
function worse(scoreA: number, idA: number, scoreB: number, idB: number): boolean {
  return scoreA < scoreB || (scoreA === scoreB && idA > idB)
}
