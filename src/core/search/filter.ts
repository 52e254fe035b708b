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
  // the whole library, row by row: one tight loop per kind of filter
  const size = matrix.size
  const rows = new Int32Array(size)
  let n = 0
  if (filter.from === undefined && filter.to === undefined) {
    for (let row = 0; row < size; row++) if (roots[row] === rootId) rows[n++] = row
  } else if (rootId === undefined) {
    for (let row = 0; row < size; row++) if (times[row] >= from && times[row] <= to) rows[n++] = row
  } else {
    for (let row = 0; row < size; row++) if (passes(row)) rows[n++] = row
  }
  return rows.subarray(0, n)
}
