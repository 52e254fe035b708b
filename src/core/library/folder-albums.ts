// "Albums from folders": a library already sorted into folders (Holidays/, Cats/, …) gets one
// album per first-level sub-folder of each root, holding every photo beneath it.
import type { FolderAlbum } from '../../shared/types.ts'
import type { Db } from '../store/db.ts'
import { addToAlbum, createAlbum, findAlbumByName } from '../store/albums.ts'
import { photosInSubfolders } from '../store/photos.ts'

/** Creates (or tops up) one album per first-level folder; same-named folders of two roots share one. */
export function importFolderAlbums(db: Db): FolderAlbum[] {
  const rows = photosInSubfolders(db)
  const byFolder = new Map<string, number[]>()
  for (const { id, relPath } of rows) {
    const folder = relPath.slice(0, relPath.indexOf('/'))
    byFolder.set(folder, [...(byFolder.get(folder) ?? []), id])
  }
  return db.transaction(() =>
    [...byFolder].map(([name, ids]) => {
      const existing = findAlbumByName(db, name) ?? createAlbum(db, name)
      const album = addToAlbum(db, existing.id, ids)
      return { album, added: album.photos - existing.photos }
    }),
  ).immediate()
}
