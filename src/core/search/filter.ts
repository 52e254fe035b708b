// Which photos a search may return: an album, a library root, a capture-date range, or several at once.

import type { CodeMatrix } from './code-matrix.ts'

export interface SearchFilter {
  /** Photo ids of one album, resolved by the caller. */
  album?: Iterable<number>
  rootId?: number
  /** Capture time range, ms since epoch, both ends inclusive. */
  from?: number
  to?: number
}

/** True when the filter lets every photo through (the fast, unfiltered path applies). */
export function isOpen(filter: SearchFilter | undefined): boolean {
  return !filter || (filter.album === undefined && filter.rootId === undefined && filter.from === undefined && filter.to === undefined)
}

/**
 * Rows that pass the filter, in ascending row order. An album is walked member by member (albums are
 * small next to the library); root and date are checked row by row.
 */
export function filteredRows(matrix: CodeMatrix, filter: SearchFilter): Int32Array {
  const roots = matrix.roots
  const times = matrix.takenAt
  const rootId = filter.rootId
  const from = filter.from ?? -Infinity
  const to = filter.to ?? Infinity
  const passes = (row: number) => (rootId === undefined || roots[row] === rootId) && times[row] >= from && times[row] <= to

  if (filter.album !== undefined) {
    const rows: number[] = []
    for (const photoId of new Set(filter.album)) {
      const row = matrix.rowOf(photoId)
      if (row >= 0 && passes(row)) rows.push(row)
    }
    return Int32Array.from(rows).sort()
  }
  const rows = new Int32Array(matrix.size)
  let n = 0
  for (let row = 0; row < matrix.size; row++) if (passes(row)) rows[n++] = row
  return rows.slice(0, n)
}
