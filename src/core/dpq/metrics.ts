// Mean average precision over a ranked database, as the paper reports it: mAP@all and mAP@R.
// A database item is relevant to a query when they share a label (multi-label safe).

/** Labels as bitsets, so "shares a label" is a few ANDs. */
export type LabelSet = Uint32Array

export function labelSets(labels: readonly (readonly number[])[]): LabelSet[] {
  const classes = labels.reduce((m, l) => Math.max(m, ...l, -1), -1) + 1
  const words = Math.max(1, Math.ceil(classes / 32))
  return labels.map((l) => {
    const set = new Uint32Array(words)
    for (const c of l) set[c >>> 5] |= 1 << (c & 31)
    return set
  })
}

export function sharesLabel(a: LabelSet, b: LabelSet): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] & b[i]) return true
  return false
}

export interface MapResult {
  all: number
  atR: number
}

/**
 * mAP of `queries` against `database`. `score(q, out)` fills out[j] with query q's score for
 * database item j (higher = more similar). Ties keep database order, so results repeat exactly.
 */
export function meanAveragePrecision(
  queryLabels: readonly LabelSet[],
  databaseLabels: readonly LabelSet[],
  score: (q: number, out: Float32Array) => void,
  r = 1000,
): MapResult {
  const n = databaseLabels.length
  if (n >= 1 << 21) throw new Error('meanAveragePrecision: database larger than 2M items')
  const scores = new Float32Array(n)
  const keys = new Float64Array(n)
  const bits = new Uint32Array(1)
  const asFloat = new Float32Array(bits.buffer)
  let sumAll = 0
  let sumR = 0
  for (let q = 0; q < queryLabels.length; q++) {
    score(q, scores)
    for (let j = 0; j < n; j++) {
      // Sortable integer of −score in the high bits, item index in the low 21: one native sort.
      asFloat[0] = -scores[j]
      const u = bits[0] & 0x80000000 ? ~bits[0] >>> 0 : (bits[0] | 0x80000000) >>> 0
      keys[j] = u * 2097152 + j
    }
    keys.sort()
    let hits = 0
    let precisionSum = 0
    let hitsR = 0
    let precisionSumR = 0
    const ql = queryLabels[q]
    for (let rank = 0; rank < n; rank++) {
      const j = keys[rank] % 2097152
      if (!sharesLabel(ql, databaseLabels[j])) continue
      hits++
      precisionSum += hits / (rank + 1)
      if (rank < r) {
        hitsR = hits
        precisionSumR = precisionSum
      }
    }
    sumAll += hits ? precisionSum / hits : 0
    sumR += hitsR ? precisionSumR / hitsR : 0
  }
  const count = Math.max(1, queryLabels.length)
  return { all: sumAll / count, atR: sumR / count }
}

/**
 * Share of relevant items among the first k of one ranking (`relevant[rank]`, best first). A ranking
 * shorter than k is scored on its length, so a perfect short ranking scores 1.
 */
export function precisionAt(relevant: ArrayLike<boolean>, k: number): number {
  if (!Number.isInteger(k) || k < 1) throw new Error(`precision@k needs k ≥ 1, got ${k}`)
  const n = Math.min(k, relevant.length)
  let hits = 0
  for (let rank = 0; rank < n; rank++) if (relevant[rank]) hits++
  return n ? hits / n : 0
}

/**
 * Average precision of one full ranking: the mean, over its relevant items, of the precision at
 * each one's rank; 0 when nothing is relevant (as meanAveragePrecision scores such a query).
 */
export function averagePrecision(relevant: ArrayLike<boolean>): number {
  let hits = 0
  let sum = 0
  for (let rank = 0; rank < relevant.length; rank++) {
    if (!relevant[rank]) continue
    hits++
    sum += hits / (rank + 1)
  }
  return hits ? sum / hits : 0
}
