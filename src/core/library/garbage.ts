// Garbage collection: thumbnails, features, activation maps and codes of content no photo has
// any more (deleted files, files whose content changed), features of an image feature only
// replaced models read (after a feature upgrade), and temporary files of dead writers. Runs after
// every index and watcher change, so a settled library has no orphans; `vacuum` also gives the
// freed pages back to the disk. `keep`, where given, is the backbone this Lookalike computes: its
// features are never garbage.
import { existsSync, statSync } from 'node:fs'
import { unlink } from 'node:fs/promises'
import type { LibraryStorage, Orphans, VacuumResult } from '../../shared/types.ts'
import type { Db } from '../store/db.ts'
import { countStoredOrphans, deleteStoredOrphans, deleteStoredOrphansOf, hashesWithoutPhoto, vacuumFile } from '../store/garbage.ts'
import { isUncommitted, removeLeftoverTemporaries, thumbnailInventory, thumbnailPath } from './thumbnails.ts'

export async function countOrphans(db: Db, thumbnailDir: string, keep: string | null = null): Promise<Orphans> {
  const { hashes } = await thumbnailInventory(thumbnailDir)
  return { thumbnails: hashesWithoutPhoto(db, hashes).length, ...countStoredOrphans(db, keep) }
}

export async function libraryStorage(db: Db, thumbnailDir: string, keep: string | null = null): Promise<LibraryStorage> {
  return { fileBytes: libraryFileBytes(db), orphans: await countOrphans(db, thumbnailDir, keep) }
}

/** Removes every orphan; returns how many of each went. */
export async function collectGarbage(db: Db, thumbnailDir: string, keep: string | null = null): Promise<Orphans> {
  const stored = deleteStoredOrphans(db, keep)
  const inventory = await thumbnailInventory(thumbnailDir)
  await removeLeftoverTemporaries(inventory)
  let thumbnails = 0
  // Checked one by one just before removal: a photo with this content may have arrived meanwhile.
  for (const hash of hashesWithoutPhoto(db, inventory.hashes)) {
    if (isUncommitted(hash) || hashesWithoutPhoto(db, [hash]).length === 0) continue
    await unlink(thumbnailPath(thumbnailDir, hash)).then(
      () => thumbnails++,
      () => {},
    )
  }
  return { thumbnails, ...stored }
}

/** The same for a few content hashes only (those a watcher change just let go of): no listing. */
export async function collectGarbageOf(db: Db, thumbnailDir: string, hashes: Iterable<string | null>): Promise<Orphans> {
  const candidates = [...new Set([...hashes].filter((h): h is string => h !== null))]
  const stored = deleteStoredOrphansOf(db, candidates)
  let thumbnails = 0
  for (const hash of hashesWithoutPhoto(db, candidates)) {
    if (isUncommitted(hash)) continue
    await unlink(thumbnailPath(thumbnailDir, hash)).then(
      () => thumbnails++,
      () => {},
    )
  }
  return { thumbnails, ...stored }
}

/** Bytes the library takes on disk: the file and its write-ahead log. */
export function libraryFileBytes(db: Db): number {
  const size = (file: string) => (existsSync(file) ? statSync(file).size : 0)
  return db.memory ? 0 : size(db.name) + size(`${db.name}-wal`)
}

export async function vacuumLibrary(db: Db, thumbnailDir: string, keep: string | null = null): Promise<VacuumResult> {
  const bytesBefore = libraryFileBytes(db)
  const removed = await collectGarbage(db, thumbnailDir, keep)
  vacuumFile(db)
  return { removed, bytesBefore, bytesAfter: libraryFileBytes(db) }
}
