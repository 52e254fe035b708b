// The duplicate listing as CSV or JSON, for web mode and the CLI (which never delete): one row per
// photo, the suggested keeper marked, so a person or a script can act on the other copies.
import type { DuplicateGroup } from './types.ts'

export interface ExportRow {
  group: number
  keep: boolean
  id: number
  path: string
  width: number | null
  height: number | null
  size: number
  format: string
  takenAt: string
  camera: string | null
  score: number
}

export function exportRows(groups: readonly DuplicateGroup[]): ExportRow[] {
  return groups.flatMap((g, i) =>
    g.photos.map((p) => ({
      group: i + 1,
      keep: p.id === g.keeperId,
      id: p.id,
      path: p.path,
      width: p.width,
      height: p.height,
      size: p.size,
      format: p.format,
      takenAt: new Date(p.takenAt).toISOString(),
      camera: p.camera,
      score: Math.round(p.score * 10_000) / 10_000,
    })),
  )
}

const COLUMNS: (keyof ExportRow)[] = ['group', 'keep', 'id', 'path', 'width', 'height', 'size', 'format', 'takenAt', 'camera', 'score']

/** RFC 4180 CSV with a header line. */
export function duplicatesCsv(groups: readonly DuplicateGroup[]): string {
  const cell = (v: unknown) => {
    const s = v === null || v === undefined ? '' : String(v)
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
  }
  const lines = [COLUMNS.join(',')]
  for (const row of exportRows(groups)) lines.push(COLUMNS.map((c) => cell(row[c])).join(','))
  return `${lines.join('\r\n')}\r\n`
}
