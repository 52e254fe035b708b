// Virtual grid geometry: which rows of a fixed-tile grid are on screen. Only those rows are in the
// DOM, so 100,000 photos cost the same as 100.

export interface GridGeometry {
  /** Tile edge, px: the target size stretched so the columns fill the width. */
  tile: number
  /** Tile edge plus gap, px. */
  pitch: number
  columns: number
  rows: number
  /** Total scrollable height, px. */
  height: number
}

export function gridGeometry(total: number, width: number, targetTile: number, gap: number): GridGeometry {
  const columns = Math.max(1, Math.floor((width - gap) / (targetTile + gap)))
  const tile = Math.max(16, Math.floor((width - gap) / columns) - gap)
  const pitch = tile + gap
  const rows = Math.ceil(total / columns)
  return { tile, pitch, columns, rows, height: rows * pitch + gap }
}

export interface VisibleRange {
  /** First and one-past-last photo index to render. */
  start: number
  end: number
}

/** Photos in the rows that intersect the viewport, plus `overscan` rows either side. */
export function visibleRange(g: GridGeometry, total: number, scrollTop: number, viewport: number, overscan = 2): VisibleRange {
  const firstRow = Math.max(0, Math.floor(scrollTop / g.pitch) - overscan)
  const lastRow = Math.min(g.rows, Math.ceil((scrollTop + viewport) / g.pitch) + overscan)
  return { start: Math.min(total, firstRow * g.columns), end: Math.min(total, lastRow * g.columns) }
}

/** The scrollTop that brings photo `index` fully into view, or null when it already is. */
export function scrollToReveal(g: GridGeometry, index: number, scrollTop: number, viewport: number): number | null {
  const top = Math.floor(index / g.columns) * g.pitch
  if (top < scrollTop) return top
  if (top + g.pitch > scrollTop + viewport) return top + g.pitch - viewport + g.pitch / 4
  return null
}

/** Index reached from `index` by an arrow key, clamped to the grid; the first key press with nothing focused (-1) lands on the first photo. */
export function moveFocus(index: number, key: string, columns: number, total: number): number {
  const step = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -columns, ArrowDown: columns, Home: -Infinity, End: Infinity }[key]
  if (step === undefined || total === 0) return index
  if (index < 0) return key === 'End' ? total - 1 : 0
  return Math.max(0, Math.min(total - 1, index + step))
}

/**
 * The scrollTop that keeps photo `anchor` where it was on screen after the grid's width (and so its
 * columns) changed: its row keeps its distance from the top of the viewport where it can, and it
 * is always brought fully into view.
 */
export function keepAnchor(before: GridGeometry, after: GridGeometry, anchor: number, scrollTop: number, viewport: number): number {
  const offset = Math.floor(anchor / before.columns) * before.pitch - scrollTop
  const rowTop = Math.floor(anchor / after.columns) * after.pitch
  const maxTop = Math.max(0, after.height - viewport)
  let top = Math.max(0, Math.min(maxTop, rowTop - offset))
  top = scrollToReveal(after, anchor, top, viewport) ?? top
  return Math.max(0, Math.min(maxTop, top))
}
