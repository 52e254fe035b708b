// Groups of look-alike photos: connected components of the pairs whose score reaches a threshold.
// Pairs a person marked "not duplicates" never end up in one group: edges are joined strongest
// first, and a join that would put two such photos together is skipped (single linkage with
// cannot-links), so a third photo close to both cannot bring them back together either.

export interface ScoredPairs {
  /** Photo ids; pair i is (a[i], b[i]). */
  a: Int32Array
  b: Int32Array
  score: Float32Array
}

/** Photo id → the photos it must never be grouped with. */
export type Separations = ReadonlyMap<number, ReadonlySet<number>>

/**
 * Groups (each sorted by id, at least two photos), largest first, then by smallest id. Only pairs
 * with score ≥ threshold join photos; `include` may leave photos out (gone from the library).
 */
export function groupPairs(pairs: ScoredPairs, threshold: number, separations: Separations = new Map(), include?: (id: number) => boolean): Int32Array[] {
  // scores are float32: a pair at 0.9 must pass a threshold of 0.9
  const bar = Math.fround(threshold)
  const order: number[] = []
  for (let i = 0; i < pairs.score.length; i++) {
    if (!(pairs.score[i] >= bar)) continue
    if (include && !(include(pairs.a[i]) && include(pairs.b[i]))) continue
    if (pairs.a[i] === pairs.b[i]) continue
    order.push(i)
  }
  order.sort((x, y) => pairs.score[y] - pairs.score[x] || x - y)

  // union-find over the photos these edges touch, with members kept per root for the checks
  const index = new Map<number, number>()
  const ids: number[] = []
  const node = (id: number) => {
    let i = index.get(id)
    if (i === undefined) {
      i = ids.length
      index.set(id, i)
      ids.push(id)
    }
    return i
  }
  const parent: number[] = []
  const members: number[][] = []
  const find = (i: number): number => {
    while (parent[i] !== i) {
      parent[i] = parent[parent[i]]
      i = parent[i]
    }
    return i
  }
  /** Would joining these two roots put two separated photos in one group? */
  const separated = (x: number, y: number): boolean => {
    // walk the smaller side's photos that have separations
    const [small, other] = members[x].length <= members[y].length ? [x, y] : [y, x]
    for (const m of members[small]) {
      const apart = separations.get(ids[m])
      if (!apart) continue
      for (const id of apart) {
        const j = index.get(id)
        if (j !== undefined && find(j) === other) return true
      }
    }
    return false
  }
  for (const e of order) {
    const a = node(pairs.a[e])
    const b = node(pairs.b[e])
    while (parent.length < ids.length) {
      parent.push(parent.length)
      members.push([members.length])
    }
    const ra = find(a)
    const rb = find(b)
    if (ra === rb) continue
    if (separations.size && separated(ra, rb)) continue
    const [big, small] = members[ra].length >= members[rb].length ? [ra, rb] : [rb, ra]
    parent[small] = big
    for (const m of members[small]) members[big].push(m)
    members[small] = []
  }
  const groups: Int32Array[] = []
  for (let i = 0; i < ids.length; i++) {
    if (parent[i] !== i || members[i].length < 2) continue
    groups.push(Int32Array.from(members[i], (m) => ids[m]).sort())
  }
  return groups.sort((x, y) => y.length - x.length || x[0] - y[0])
}

/**
 * A pair's score for the similar-shots tier: its cosine, plus `bonus` when both photos carry a
 * capture time (EXIF) less than `windowMs` apart. Time only lowers the bar a little: two photos
 * taken a second apart of different things still need looking alike.
 */
export function burstScores(pairs: ScoredPairs, exifTime: (id: number) => number | null, windowMs: number, bonus: number): Float32Array {
  const out = Float32Array.from(pairs.score)
  for (let i = 0; i < out.length; i++) {
    const ta = exifTime(pairs.a[i])
    const tb = exifTime(pairs.b[i])
    if (ta !== null && tb !== null && Math.abs(ta - tb) <= windowMs) out[i] += bonus
  }
  return out
}
