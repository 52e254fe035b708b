// Labelled photos of a dataset folder indexed into a library file (`lookalike index <folder> --db
// FILE`, or a previous `lookalike eval`): the product's own cached feature, no image decoded.
// Labels: the first folder of each path, or a TSV (path, comma-separated labels; header skipped).
import { readFileSync } from 'node:fs'
import type { LabelledPhotos } from '../src/core/dpq/protocol.ts'
import { openDb } from '../src/core/store/db.ts'
import { featuresFor, libraryBackbone } from '../src/core/store/features.ts'

export function libraryPhotos(dbFile: string, labels: string): LabelledPhotos & { backbone: string } {
  const db = openDb(dbFile)
  try {
    const backbone = libraryBackbone(db)
    if (!backbone) throw new Error(`${dbFile} holds no features: index the folder first`)
    const labelsOf = labelReader(labels)
    const rows = db.prepare<[], { rel_path: string; hash: string }>("SELECT rel_path, hash FROM photos WHERE status = 'ok' AND hash IS NOT NULL ORDER BY rel_path").all()
    const features = featuresFor(db, backbone, rows.map((r) => r.hash))
    const kept = rows.filter((r) => features.has(r.hash) && labelsOf(r.rel_path).length > 0)
    const classNames = [...new Set(kept.flatMap((r) => labelsOf(r.rel_path)))].sort()
    const classOf = new Map(classNames.map((c, i) => [c, i]))
    return {
      backbone,
      names: kept.map((r) => r.rel_path),
      labels: kept.map((r) => labelsOf(r.rel_path).map((l) => classOf.get(l)!)),
      classNames,
      features: kept.map((r) => features.get(r.hash)!),
    }
  } finally {
    db.close()
  }
}

function labelReader(spec: string): (relPath: string) => string[] {
  if (spec === 'folders') return (relPath) => (relPath.includes('/') ? [relPath.split('/')[0]] : [])
  if (!spec.startsWith('tsv:')) throw new Error(`labels must be "folders" or "tsv:FILE", got "${spec}"`)
  const byPath = new Map<string, string[]>()
  for (const line of readFileSync(spec.slice(4), 'utf8').split('\n').slice(1)) {
    const [path, labels] = line.split('\t')
    if (path && labels) byPath.set(path.trim(), labels.split(',').map((l) => l.trim()).filter(Boolean))
  }
  return (relPath) => byPath.get(relPath) ?? []
}
