// Held-out evaluation of a library model: album photos held out of training are queries against
// every other photo, scored with the evaluation protocol's own scorers.
import { labelSets, meanAveragePrecision } from '../dpq/metrics.ts'
import type { DpqModel } from '../dpq/model.ts'
import { codeMaps, cosineScorer } from '../dpq/protocol.ts'
import { rowsOf } from '../dpq/tf.ts'
import type { LibraryEmbedding } from './encode.ts'

/**
 * The most album photos held out. Measuring costs held-out photos × album photos per setting (the
 * Retrain summary's nine, each block check's trials), so large albums hold out a smaller share: a
 * 5,000-photo library with 500 photos per album spent about 27 of Retrain's 59 s measuring its
 * 1,000 held-out photos (50 s in all with 500).
 */
export const MAX_HELD_OUT = 500

/**
 * Per album, in hash order, every ⌈1/share⌉-th photo is held out (albums of 3 or more); where that
 * would hold out more than `max` photos in all, every k-th with k large enough to stay within it. A
 * held-out photo judges the head only beside another of its album (blend-choice.ts), so an album
 * that holds out two keeps two as the share shrinks; where even that passes `max`, albums are taken
 * in order until it is reached, two each.
 */
export function holdOutQueries(labels: number[][], share: number, max = MAX_HELD_OUT): Set<number> {
  const out = new Set<number>()
  if (share <= 0) return out
  const byAlbum = new Map<number, number[]>()
  labels.forEach((l, i) => {
    if (l.length) byAlbum.set(l[0], [...(byAlbum.get(l[0]) ?? []), i])
  })
  const albums = [...byAlbum.values()].filter((members) => members.length >= 3)
  const first = Math.max(2, Math.round(1 / share))
  const count = (members: number[], every: number): number => {
    const n = Math.floor(members.length / every)
    return Math.floor(members.length / first) >= 2 ? Math.max(2, n) : n
  }
  const total = (every: number): number => albums.reduce((n, members) => n + count(members, every), 0)
  const largest = Math.max(0, ...albums.map((members) => members.length))
  let every = first
  while (every <= largest && total(every) > max) every++
  let left = max
  for (const members of albums) {
    const wanted = count(members, every)
    const n = Math.min(wanted, left)
    // One photo of an album that would hold out a pair judges nothing: skip it.
    if (n === 0 || (n === 1 && wanted > 1)) continue
    const step = Math.floor(members.length / n)
    for (let k = 1; k <= n; k++) out.add(members[k * step - 1])
    left -= n
  }
  return out
}

/** mAP@all of held-out album photos against the other album photos, per code length and for 'exact' (cosine of x). */
export function heldOutMap(model: DpqModel, library: LibraryEmbedding, labels: number[][], heldOut: number[]): Record<string, number> {
  const { x, codes: all, present } = library
  const { M } = model
  const queries = heldOut.filter((i) => present[i])
  const isQuery = new Set(heldOut)
  // Relevance is known among album photos only (a photo in no album may well belong to one).
  const database = labels.map((_, i) => i).filter((i) => !isQuery.has(i) && present[i] && labels[i].length > 0)
  if (queries.length === 0 || database.length === 0) return {}
  const sets = labelSets(labels)
  const qs = queries.map((i) => sets[i])
  const ds = database.map((i) => sets[i])
  const rows = rowsOf(x, model.D)
  const codes = new Uint8Array(database.length * M)
  database.forEach((r, j) => codes.set(all.subarray(r * M, (r + 1) * M), j * M))
  const out: Record<string, number> = {}
  const maps = codeMaps(model, queries.map((i) => rows[i]), codes, qs, ds)
  for (const [bits, map] of Object.entries(maps)) out[bits] = round(map.all)
  out.exact = round(meanAveragePrecision(qs, ds, cosineScorer(rows, queries, database)).all)
  return out
}

function round(x: number): number {
  return Math.round(x * 10_000) / 10_000
}
