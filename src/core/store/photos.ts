// Photos: one row per image file under a root. Identity across moves is the content hash; the row
// id is what albums and the UI hold on to. Only status 'ok' photos are shown and searched.
import { realpathSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { StoreError } from './errors.ts'
import type { Failure, PhotoDetail, PhotoSummary } from '../../shared/types.ts'
import type { Db } from './db.ts'
import { albumsOfPhoto } from './albums.ts'
import { isInside } from './roots.ts'
import { HIDDEN_BY_STACK, stackSizes } from './stacks.ts'

export type PhotoStatus = 'pending' | 'ok' | 'failed'

/** What the indexer learns about a file. */
export interface PhotoFacts {
  size: number
  mtimeMs: number
  hash: string | null
  width: number | null
  height: number | null
  takenAt: number | null
  camera: string | null
  orientation: number | null
  status: PhotoStatus
  error: string | null
}

/** What a scan compares against: enough to skip unchanged files. */
export interface KnownFile {
  id: number
  size: number
  mtimeMs: number
  hash: string | null
  status: PhotoStatus
}

const summaryColumns = `p.id, p.root_id AS rootId, p.rel_path AS relPath, p.width, p.height,
  COALESCE(p.taken_at, p.mtime_ms) AS takenAt`

export interface ListPhotosOptions {
  sort?: 'date' | 'name'
  albumId?: number
  rootId?: number
  /** Folder relative to its root ('a/b'); photos in it and below. Needs rootId to be unambiguous. */
  folder?: string
  offset?: number
  limit?: number
  /** 'collapse' (default): a stack of copies is one photo, the keeper, with its count in `stack`. */
  stacks?: 'collapse' | 'expand'
}

export function listPhotos(db: Db, options: ListPhotosOptions = {}): { total: number; photos: PhotoSummary[] } {
  const where = ["p.status = 'ok'"]
  const params: (string | number)[] = []
  if (options.albumId !== undefined) {
    where.push('p.id IN (SELECT photo_id FROM album_photos WHERE album_id = ?)')
    params.push(options.albumId)
  }
  if (options.rootId !== undefined) {
    where.push('p.root_id = ?')
    params.push(options.rootId)
  }
  const folder = options.folder?.replace(/^\/+|\/+$/g, '')
  if (folder) {
    const prefix = `${folder}/`
    where.push('substr(p.rel_path, 1, ?) = ?')
    params.push(prefix.length, prefix)
  }
  const collapse = options.stacks !== 'expand'
  if (collapse) where.push(`NOT ${HIDDEN_BY_STACK}`)
  const clause = where.join(' AND ')
  const order = options.sort === 'name' ? 'p.rel_path, p.id' : 'takenAt DESC, p.id DESC'
  const total = (db.prepare(`SELECT COUNT(*) AS n FROM photos p WHERE ${clause}`).get(...params) as { n: number }).n
  const photos = db
    .prepare(`SELECT ${summaryColumns} FROM photos p WHERE ${clause} ORDER BY ${order} LIMIT ? OFFSET ?`)
    .all(...params, options.limit ?? 500, options.offset ?? 0) as PhotoSummary[]
  if (collapse) {
    const sizes = stackSizes(db, photos.map((p) => p.id))
    for (const photo of photos) {
      const n = sizes.get(photo.id)
      if (n) photo.stack = n
    }
  }
  return { total, photos }
}

export function getPhoto(db: Db, id: number): PhotoDetail {
  const row = db
    .prepare<[number], Omit<PhotoDetail, 'albums'>>(
      `SELECT ${summaryColumns}, p.size, p.camera, p.orientation, p.hash FROM photos p WHERE p.id = ? AND p.status = 'ok'`,
    )
    .get(id)
  if (!row) throw new StoreError('not-found', `No photo with id ${id}`)
  return { ...row, albums: albumsOfPhoto(db, id) }
}

/** Files that could not be indexed, newest first, with the reason in words. */
export function listFailures(db: Db, limit = 200): Failure[] {
  return db
    .prepare<[number], { id: number; root: string; relPath: string; reason: string }>(
      `SELECT p.id, r.path AS root, p.rel_path AS relPath, COALESCE(p.error, 'unknown error') AS reason
       FROM photos p JOIN roots r ON r.id = p.root_id WHERE p.status = 'failed'
       ORDER BY p.indexed_at DESC, p.id DESC LIMIT ?`,
    )
    .all(limit)
    .map((f) => ({ id: f.id, path: join(f.root, f.relPath), reason: f.reason }))
}

/** Every folder under a root that holds photos (directly or below), with its photo count. */
export function listFolders(db: Db, rootId: number): { path: string; photos: number }[] {
  const counts = new Map<string, number>()
  const rows = db.prepare<[number], { relPath: string }>("SELECT rel_path AS relPath FROM photos WHERE root_id = ? AND status = 'ok'")
  for (const { relPath } of rows.iterate(rootId)) {
    const parts = relPath.split('/')
    for (let i = 1; i < parts.length; i++) {
      const folder = parts.slice(0, i).join('/')
      counts.set(folder, (counts.get(folder) ?? 0) + 1)
    }
  }
  return [...counts].map(([path, photos]) => ({ path, photos })).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
}

/**
 * Absolute path of a photo's file, for serving it. Refuses (not-found) anything that would resolve
 * outside its root, whether by a crafted rel_path or by a symlink pointing elsewhere.
 */
export function photoFile(db: Db, id: number): string {
  const row = db
    .prepare<[number], { root: string; relPath: string }>('SELECT r.path AS root, p.rel_path AS relPath FROM photos p JOIN roots r ON r.id = p.root_id WHERE p.id = ?')
    .get(id)
  if (!row) throw new StoreError('not-found', `No photo with id ${id}`)
  const file = resolve(row.root, row.relPath)
  const outside = new StoreError('not-found', `Photo ${id} lies outside its library folder`)
  if (!isInside(row.root, file)) throw outside
  let real: string
  try {
    real = realpathSync(file)
  } catch {
    throw new StoreError('not-found', `The file of photo ${id} is gone: ${file}`)
  }
  if (!isInside(row.root, real)) throw outside
  return real
}

export function photoCounts(db: Db): Record<PhotoStatus, number> {
  const counts: Record<PhotoStatus, number> = { ok: 0, failed: 0, pending: 0 }
  for (const row of db.prepare<[], { status: PhotoStatus; n: number }>('SELECT status, COUNT(*) AS n FROM photos GROUP BY status').all()) {
    counts[row.status] = row.n
  }
  return counts
}

/** Content hash of a photo (for its thumbnail, feature, code); null when unknown. */
export function photoHash(db: Db, id: number): string | null {
  return db.prepare<[number], { hash: string | null }>('SELECT hash FROM photos WHERE id = ?').get(id)?.hash ?? null
}

/** Relative paths and hashes of a root's ok photos, by path. */
export function okPhotosInRoot(db: Db, rootId: number): { relPath: string; hash: string }[] {
  return db
    .prepare<[number], { relPath: string; hash: string }>("SELECT rel_path AS relPath, hash FROM photos WHERE root_id = ? AND status = 'ok' AND hash IS NOT NULL ORDER BY rel_path")
    .all(rootId)
}

/** Where a photo's file should be (root and relative path), without checking it; null when unknown. */
export function photoLocation(db: Db, id: number): { root: string; relPath: string } | null {
  return db.prepare<[number], { root: string; relPath: string }>('SELECT r.path AS root, p.rel_path AS relPath FROM photos p JOIN roots r ON r.id = p.root_id WHERE p.id = ?').get(id) ?? null
}

/** Ids and paths of a root's photos under a folder (relative to the root). */
export function photosUnderFolder(db: Db, rootId: number, folder: string): { id: number; relPath: string; hash: string | null }[] {
  return db
    .prepare<[number, number, string], { id: number; relPath: string; hash: string | null }>(
      'SELECT id, rel_path AS relPath, hash FROM photos WHERE root_id = ? AND substr(rel_path, 1, ?) = ?',
    )
    .all(rootId, folder.length + 1, `${folder}/`)
}

/** Ok photos inside a sub-folder of their root, by path. */
export function photosInSubfolders(db: Db): { id: number; relPath: string }[] {
  return db.prepare<[], { id: number; relPath: string }>("SELECT id, rel_path AS relPath FROM photos WHERE status = 'ok' AND instr(rel_path, '/') > 0 ORDER BY rel_path").all()
}

/** Ids and hashes of every ok photo, by id (what the search matrix is built from). */
export function okPhotoHashes(db: Db): { id: number; hash: string }[] {
  return db.prepare<[], { id: number; hash: string }>("SELECT id, hash FROM photos WHERE status = 'ok' AND hash IS NOT NULL ORDER BY id").all()
}

// ---- writes used by the indexer --------------------------------------------------------------

export function knownFiles(db: Db, rootId: number): Map<string, KnownFile> {
  const rows = db
    .prepare<[number], KnownFile & { relPath: string }>(
      'SELECT id, rel_path AS relPath, size, mtime_ms AS mtimeMs, hash, status FROM photos WHERE root_id = ?',
    )
    .all(rootId)
  return new Map(rows.map(({ relPath, ...known }) => [relPath, known]))
}

export function knownFile(db: Db, rootId: number, relPath: string): KnownFile | null {
  return (
    db
      .prepare<[number, string], KnownFile>('SELECT id, size, mtime_ms AS mtimeMs, hash, status FROM photos WHERE root_id = ? AND rel_path = ?')
      .get(rootId, relPath) ?? null
  )
}

/** Inserts or updates the row of (root, relPath); returns its id. */
export function writePhoto(db: Db, rootId: number, relPath: string, facts: PhotoFacts): number {
  const row = db
    .prepare<unknown[], { id: number }>(
      `INSERT INTO photos (root_id, rel_path, size, mtime_ms, hash, width, height, taken_at, camera, orientation, status, error, indexed_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (root_id, rel_path) DO UPDATE SET size = excluded.size, mtime_ms = excluded.mtime_ms, hash = excluded.hash,
         width = excluded.width, height = excluded.height, taken_at = excluded.taken_at, camera = excluded.camera,
         orientation = excluded.orientation, status = excluded.status, error = excluded.error, indexed_at = excluded.indexed_at
       RETURNING id`,
    )
    .get(rootId, relPath, facts.size, facts.mtimeMs, facts.hash, facts.width, facts.height, facts.takenAt, facts.camera, facts.orientation, facts.status, facts.error, Date.now())
  return row!.id
}

/** Re-points an existing photo (and so its albums) at a new file; a stale row already at that path gives way. */
export function movePhoto(db: Db, id: number, rootId: number, relPath: string, facts: PhotoFacts): void {
  db.prepare('DELETE FROM photos WHERE root_id = ? AND rel_path = ? AND id <> ?').run(rootId, relPath, id)
  db.prepare(
    `UPDATE photos SET root_id = ?, rel_path = ?, size = ?, mtime_ms = ?, hash = ?, width = ?, height = ?, taken_at = ?,
       camera = ?, orientation = ?, status = ?, error = ?, indexed_at = ? WHERE id = ?`,
  ).run(rootId, relPath, facts.size, facts.mtimeMs, facts.hash, facts.width, facts.height, facts.takenAt, facts.camera, facts.orientation, facts.status, facts.error, Date.now(), id)
}

/** Marks the ok photos with this content failed, with the reason (their file no longer decodes); returns how many. */
export function markContentFailed(db: Db, hash: string, reason: string): number {
  return db.prepare("UPDATE photos SET status = 'failed', error = ? WHERE hash = ? AND status = 'ok'").run(reason, hash).changes
}

/** Ok photos with this content, with their absolute file paths (to tell moved-away ones from duplicates). */
export function photosWithHash(db: Db, hash: string): (PhotoFacts & { id: number; root: string; file: string })[] {
  return db
    .prepare<[string], PhotoFacts & { id: number; file: string; root: string; relPath: string }>(
      `SELECT p.id, r.path AS root, p.rel_path AS relPath, p.size, p.mtime_ms AS mtimeMs, p.hash, p.width, p.height,
         p.taken_at AS takenAt, p.camera, p.orientation, p.status, p.error
       FROM photos p JOIN roots r ON r.id = p.root_id WHERE p.hash = ? AND p.status = 'ok' ORDER BY p.id`,
    )
    .all(hash)
    .map(({ relPath, ...rest }) => ({ ...rest, file: join(rest.root, relPath) }))
}

export function deletePhotos(db: Db, ids: readonly number[]): void {
  const remove = db.prepare('DELETE FROM photos WHERE id = ?')
  db.transaction(() => {
    for (const id of ids) remove.run(id)
  }).immediate()
}
