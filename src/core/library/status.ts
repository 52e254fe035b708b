// The library at a glance: counts, roots, albums, the active model and recent jobs.
import type { LibraryStatus } from '../../shared/types.ts'
import type { Db } from '../store/db.ts'
import { listAlbums } from '../store/albums.ts'
import { duplicateDecisions } from '../store/duplicates.ts'
import { jobProgress, recentJobs } from '../store/jobs.ts'
import { activeModelInfo } from '../store/models.ts'
import { photoCounts } from '../store/photos.ts'
import { listRoots } from '../store/roots.ts'

export function libraryStatus(db: Db, backend: string, jobLimit = 10): LibraryStatus {
  const counts = photoCounts(db)
  return {
    photos: counts.ok,
    failed: counts.failed,
    pending: counts.pending,
    roots: listRoots(db),
    albums: listAlbums(db).length,
    model: activeModelInfo(db),
    backend,
    jobs: recentJobs(db, jobLimit).map(jobProgress),
    duplicates: duplicateDecisions(db),
  }
}
