// The library at a glance: counts, roots, albums, the active model and recent jobs.
import type { LibraryStatus, ModelInfo } from '../../shared/types.ts'
import type { Db } from '../store/db.ts'
import { listAlbums } from '../store/albums.ts'
import { duplicateDecisions } from '../store/duplicates.ts'
import { jobProgress, recentJobs } from '../store/jobs.ts'
import { photoCounts } from '../store/photos.ts'
import { listRoots } from '../store/roots.ts'

/** The active DPQ model as the UI shows it; null until one is trained. */
export function activeModel(db: Db): ModelInfo | null {
  const row = db
    .prepare<[], { id: number; kind: ModelInfo['kind']; created_at: number; params: string }>(
      'SELECT id, kind, created_at, params FROM models WHERE active = 1',
    )
    .get()
  if (!row) return null
  let albums = 0
  let finetune: ModelInfo['finetune'] = 'off'
  try {
    const params = JSON.parse(row.params) as { albums?: unknown; classes?: unknown; finetune?: unknown }
    const value = params.albums ?? params.classes
    albums = Array.isArray(value) ? value.length : typeof value === 'number' ? value : 0
    if (params.finetune === 'late') finetune = 'late'
  } catch {
    // params written by another version: the count is cosmetic
  }
  return { id: row.id, kind: row.kind, createdAt: row.created_at, albums, finetune }
}

export function libraryStatus(db: Db, backend: string, jobLimit = 10): LibraryStatus {
  const counts = photoCounts(db)
  return {
    photos: counts.ok,
    failed: counts.failed,
    pending: counts.pending,
    roots: listRoots(db),
    albums: listAlbums(db).length,
    model: activeModel(db),
    backend,
    jobs: recentJobs(db, jobLimit).map(jobProgress),
    duplicates: duplicateDecisions(db),
  }
}
