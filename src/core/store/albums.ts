// Albums: user-made groups of photos. They are the labels DPQ trains on, so they are also
// readable by content hash (albumLabels). Membership is by photo id, which survives moves.
import { StoreError } from './errors.ts'
import type { Album } from '../../shared/types.ts'
import type { Db } from './db.ts'

const selectAlbums = `
  SELECT a.id, a.name,
    (SELECT COUNT(*) FROM album_photos ap JOIN photos p ON p.id = ap.photo_id
     WHERE ap.album_id = a.id AND p.status = 'ok') AS photos
  FROM albums a`

export function listAlbums(db: Db): Album[] {
  return db.prepare<[], Album>(`${selectAlbums} ORDER BY a.name COLLATE NOCASE, a.id`).all()
}

export function getAlbum(db: Db, id: number): Album {
  const album = db.prepare<[number], Album>(`${selectAlbums} WHERE a.id = ?`).get(id)
  if (!album) throw new StoreError('not-found', `No album with id ${id}`)
  return album
}

export function findAlbumByName(db: Db, name: string): Album | null {
  return db.prepare<[string], Album>(`${selectAlbums} WHERE a.name = ?`).get(name.trim()) ?? null
}

function cleanName(name: string): string {
  const trimmed = name.trim()
  if (!trimmed) throw new StoreError('bad-request', 'An album needs a name')
  return trimmed
}

function refuseDuplicate(db: Db, name: string, exceptId?: number): void {
  const other = findAlbumByName(db, name)
  if (other && other.id !== exceptId) throw new StoreError('conflict', `An album named "${name}" already exists`)
}

export function createAlbum(db: Db, name: string): Album {
  const clean = cleanName(name)
  refuseDuplicate(db, clean)
  const { lastInsertRowid } = db.prepare('INSERT INTO albums (name, created_at) VALUES (?, ?)').run(clean, Date.now())
  return getAlbum(db, Number(lastInsertRowid))
}

export function renameAlbum(db: Db, id: number, name: string): Album {
  const clean = cleanName(name)
  getAlbum(db, id)
  refuseDuplicate(db, clean, id)
  db.prepare('UPDATE albums SET name = ? WHERE id = ?').run(clean, id)
  return getAlbum(db, id)
}

export function deleteAlbum(db: Db, id: number): void {
  const { changes } = db.prepare('DELETE FROM albums WHERE id = ?').run(id)
  if (changes === 0) throw new StoreError('not-found', `No album with id ${id}`)
}

/** Only indexed photos go into albums: a failed or pending file has nothing to train or show. */
function requirePhotos(db: Db, photoIds: readonly number[]): void {
  const statusOf = db.prepare<[number], { status: string }>('SELECT status FROM photos WHERE id = ?')
  const missing: number[] = []
  const unindexed: number[] = []
  for (const id of photoIds) {
    const status = statusOf.get(id)?.status
    if (status === undefined) missing.push(id)
    else if (status !== 'ok') unindexed.push(id)
  }
  const shown = (ids: number[]) => ids.slice(0, 10).join(', ') + (ids.length > 10 ? ', …' : '')
  if (missing.length) throw new StoreError('not-found', `No photo with id ${shown(missing)}`)
  if (unindexed.length) throw new StoreError('not-found', `Not added: photo ${shown(unindexed)} could not be indexed, so it cannot go into an album`)
}

/** Adds photos to an album (already-present ones are left as they are); all or nothing. */
export function addToAlbum(db: Db, albumId: number, photoIds: readonly number[]): Album {
  const insert = db.prepare('INSERT OR IGNORE INTO album_photos (album_id, photo_id, added_at) VALUES (?, ?, ?)')
  db.transaction(() => {
    getAlbum(db, albumId)
    requirePhotos(db, photoIds)
    const now = Date.now()
    for (const id of photoIds) insert.run(albumId, id, now)
  }).immediate()
  return getAlbum(db, albumId)
}

export function removeFromAlbum(db: Db, albumId: number, photoIds: readonly number[]): Album {
  const remove = db.prepare('DELETE FROM album_photos WHERE album_id = ? AND photo_id = ?')
  db.transaction(() => {
    getAlbum(db, albumId)
    for (const id of photoIds) remove.run(albumId, id)
  }).immediate()
  return getAlbum(db, albumId)
}

/** Album ids a photo belongs to. */
export function albumsOfPhoto(db: Db, photoId: number): number[] {
  return db
    .prepare<[number], { album_id: number }>('SELECT album_id FROM album_photos WHERE photo_id = ? ORDER BY album_id')
    .all(photoId)
    .map((r) => r.album_id)
}

/** Album ids of each listed photo (photos in no album get an empty list). */
export function albumsOfPhotos(db: Db, photoIds: readonly number[]): Map<number, number[]> {
  const out = new Map(photoIds.map((id) => [id, [] as number[]]))
  const select = db.prepare<[string], { photo_id: number; album_id: number }>(
    'SELECT photo_id, album_id FROM album_photos WHERE photo_id IN (SELECT value FROM json_each(?)) ORDER BY photo_id, album_id',
  )
  for (const row of select.all(JSON.stringify([...new Set(photoIds)]))) out.get(row.photo_id)?.push(row.album_id)
  return out
}

/** Training labels: for each content hash of an indexed photo in some album, its album ids (sorted). */
export function albumLabels(db: Db): Map<string, number[]> {
  const rows = db
    .prepare<[], { hash: string; album_id: number }>(
      `SELECT DISTINCT p.hash, ap.album_id FROM album_photos ap JOIN photos p ON p.id = ap.photo_id
       WHERE p.status = 'ok' AND p.hash IS NOT NULL ORDER BY p.hash, ap.album_id`,
    )
    .all()
  const labels = new Map<string, number[]>()
  for (const { hash, album_id } of rows) {
    const list = labels.get(hash)
    if (list) list.push(album_id)
    else labels.set(hash, [album_id])
  }
  return labels
}

/** Distinct contents of ok album photos that have a feature for this backbone. */
export function albumPhotoCount(db: Db, backboneId: string): number {
  return db
    .prepare<[string], { n: number }>(
      `SELECT COUNT(DISTINCT p.hash) AS n FROM album_photos ap JOIN photos p ON p.id = ap.photo_id
       JOIN features f ON f.hash = p.hash AND f.backbone = ? WHERE p.status = 'ok'`,
    )
    .get(backboneId)!.n
}
