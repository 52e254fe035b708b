// A labelled folder in the library: which classes each photo belongs to (its first sub-folder, or its
// row in a TSV file), and the photos that have both a class and a cached feature.
import { readFileSync } from 'node:fs'
import type { LabelledPhotos } from '../core/dpq/protocol.ts'
import type { FeatureSpec } from '../core/embed/backbone.ts'
import { indexRoot } from '../core/library/indexer.ts'
import { thumbnailDirFor } from '../core/paths.ts'
import type { Db } from '../core/store/db.ts'
import { addRoot } from '../core/store/roots.ts'
import { featuresFor } from '../core/store/features.ts'
import { okPhotosInRoot } from '../core/store/photos.ts'
import { CliError } from './args.ts'

/** rel_path → class names: the first folder of the path, or the photo's row in a TSV (path, labels). */
export function labelReader(spec: string): (relPath: string) => string[] {
  if (spec === 'folders') {
    return (relPath) => (relPath.includes('/') ? [relPath.split('/')[0]] : [])
  }
  if (spec.startsWith('tsv:')) {
    const file = spec.slice(4)
    let text: string
    try {
      text = readFileSync(file, 'utf8')
    } catch (err) {
      throw new CliError(`cannot read labels file ${file}: ${(err as Error).message}`)
    }
    // Columns: path (relative to the folder), comma-separated labels; a header line is skipped.
    const byPath = new Map<string, string[]>()
    for (const line of text.split('\n').slice(1)) {
      const [path, labels] = line.split('\t')
      if (path && labels) byPath.set(path.trim(), labels.split(',').map((l) => l.trim()).filter(Boolean))
    }
    return (relPath) => byPath.get(relPath) ?? []
  }
  throw new CliError(`--labels must be "folders" or "tsv:FILE", got "${spec}"`)
}

export interface FolderPhotos extends LabelledPhotos {
  /** Content hash of each labelled photo. */
  hashes: string[]
  /** Every distinct content in the folder with a feature, labelled or not. */
  contents: string[]
}

/** The folder's photos with a class and a feature, in file-name order. */
export function labelledPhotos(db: Db, rootId: number, backboneId: string, labelsOf: (relPath: string) => string[]): FolderPhotos {
  const rows = okPhotosInRoot(db, rootId)
  const features = featuresFor(db, backboneId, rows.map((r) => r.hash))
  const kept = rows.filter((r) => features.has(r.hash) && labelsOf(r.relPath).length > 0)
  const classNames = [...new Set(kept.flatMap((r) => labelsOf(r.relPath)))].sort()
  const classOf = new Map(classNames.map((c, i) => [c, i]))
  return {
    names: kept.map((r) => r.relPath),
    labels: kept.map((r) => labelsOf(r.relPath).map((l) => classOf.get(l)!)),
    classNames,
    features: kept.map((r) => features.get(r.hash)!),
    hashes: kept.map((r) => r.hash),
    contents: [...features.keys()],
  }
}

export interface IndexedFolder {
  photos: FolderPhotos
  /** The image feature the folder's photos were indexed with. */
  backboneId: string
}

/**
 * Indexes `folder` into the library file `dbFile` (a rerun reuses every cached feature) with the
 * given image feature, then reads its labelled photos; throws when none has both a class and a feature.
 */
export async function indexLabelledFolder(
  db: Db,
  dbFile: string,
  folder: string,
  o: { labelsOf: (relPath: string) => string[]; feature?: FeatureSpec; backend?: string; log: (line: string) => void },
): Promise<IndexedFolder> {
  const root = addRoot(db, folder)
  const { createEmbedder } = await import('../core/embed/embedder.ts')
  const embedder = await createEmbedder({ backend: o.backend, feature: o.feature })
  try {
    o.log(`indexing ${folder} …`)
    await indexRoot(db, root.id, { thumbnailDir: thumbnailDirFor(dbFile), embedder })
    const photos = labelledPhotos(db, root.id, embedder.backboneId, o.labelsOf)
    if (photos.names.length === 0) throw new CliError(`no labelled photo with a feature in ${folder}`)
    return { photos, backboneId: embedder.backboneId }
  } finally {
    await embedder.close()
  }
}
