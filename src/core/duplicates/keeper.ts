// Which copy to keep: the largest resolution, then the least compressed (more bytes per pixel),
// then the oldest. Re-saves of one photo differ in bytes per pixel by a few per cent without being
// better or worse, so compression only decides beyond COMPRESSION_TOLERANCE.

export interface CopyFacts {
  id: number
  width: number | null
  height: number | null
  /** File size in bytes. */
  size: number
  /** Capture time (EXIF, else file time), ms since epoch. */
  takenAt: number
}

const COMPRESSION_TOLERANCE = 0.05

/** Negative when `a` is the better copy to keep. */
export function compareCopies(a: CopyFacts, b: CopyFacts): number {
  const pixelsA = (a.width ?? 0) * (a.height ?? 0)
  const pixelsB = (b.width ?? 0) * (b.height ?? 0)
  if (pixelsA !== pixelsB) return pixelsB - pixelsA
  if (pixelsA > 0) {
    const bppA = a.size / pixelsA
    const bppB = b.size / pixelsB
    if (Math.abs(bppA - bppB) > COMPRESSION_TOLERANCE * Math.max(bppA, bppB)) return bppB - bppA
  }
  if (a.takenAt !== b.takenAt) return a.takenAt - b.takenAt
  return a.id - b.id
}

/** The id of the copy to keep. */
export function suggestKeeper(copies: readonly CopyFacts[]): number {
  if (copies.length === 0) throw new Error('suggestKeeper: no copies')
  return copies.reduce((best, c) => (compareCopies(c, best) < 0 ? c : best)).id
}
