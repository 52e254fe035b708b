// What the duplicate finder reads and what the user decided about duplicates: "not duplicates"
// pairs and the tiers' thresholds (both kept by content hash or in settings, so they survive
// rescans and moves), the facts the review shows per photo, and features packed for the pass.
import { join } from 'node:path'
import type { DuplicateDecisions, DuplicateTier } from '../../shared/types.ts'
import { DEFAULT_THRESHOLDS } from '../duplicates/defaults.ts'
import type { Db } from './db.ts'
import { stackCounts } from './stacks.ts'

// ---- "not duplicates" ------------------------------------------------------------------------

/**
 * Marks every pair among these photos' contents as not duplicates; a content given twice (files
 * with the same bytes) is paired with itself.
 */
export function dismissHashes(db: Db, hashes: readonly string[]): number {
  const distinct = [...new Set(hashes)].sort()
  const insert = db.prepare('INSERT OR IGNORE INTO duplicate_dismissals (hash_a, hash_b, created_at) VALUES (?, ?, ?)')
  const now = Date.now()
  let added = 0
  db.transaction(() => {
    for (let i = 0; i < distinct.length; i++) {
      if (hashes.indexOf(distinct[i]) !== hashes.lastIndexOf(distinct[i])) added += insert.run(distinct[i], distinct[i], now).changes
      for (let j = i + 1; j < distinct.length; j++) added += insert.run(distinct[i], distinct[j], now).changes
    }
  }).immediate()
  return added
}

export function dismissedPairs(db: Db): { a: string; b: string }[] {
  return db.prepare<[], { a: string; b: string }>('SELECT hash_a AS a, hash_b AS b FROM duplicate_dismissals').all()
}

// ---- thresholds --------------------------------------------------------------------------------

export function savedThreshold(db: Db, tier: DuplicateTier): number | null {
  return db.prepare<[string], { threshold: number }>('SELECT threshold FROM duplicate_thresholds WHERE tier = ?').get(tier)?.threshold ?? null
}

export function saveThreshold(db: Db, tier: DuplicateTier, threshold: number): void {
  db.prepare('INSERT INTO duplicate_thresholds (tier, threshold) VALUES (?, ?) ON CONFLICT (tier) DO UPDATE SET threshold = excluded.threshold').run(tier, threshold)
}

/** Forgets the saved thresholds (they were cosines of a feature the library no longer uses). */
export function clearThresholds(db: Db): void {
  db.prepare('DELETE FROM duplicate_thresholds').run()
}

/** What `status` shows about duplicates. */
export function duplicateDecisions(db: Db): DuplicateDecisions {
  const dismissed = db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM duplicate_dismissals').get()!.n
  return {
    dismissedPairs: dismissed,
    ...stackCounts(db),
    thresholds: { duplicates: savedThreshold(db, 'duplicates') ?? DEFAULT_THRESHOLDS.duplicates, similar: savedThreshold(db, 'similar') ?? DEFAULT_THRESHOLDS.similar },
  }
}

// ---- what the review shows ---------------------------------------------------------------------

export interface CopyRow {
  id: number
  hash: string
  path: string
  width: number | null
  height: number | null
  size: number
  /** EXIF time or null. */
  exifTakenAt: number | null
  mtimeMs: number
  camera: string | null
}

/** Facts of the given ok photos (missing ones left out), by id. */
export function copyFacts(db: Db, ids: readonly number[]): Map<number, CopyRow> {
  const get = db.prepare<[number], Omit<CopyRow, 'path'> & { root: string; relPath: string }>(
    `SELECT p.id, p.hash, r.path AS root, p.rel_path AS relPath, p.width, p.height, p.size, p.taken_at AS exifTakenAt,
       p.mtime_ms AS mtimeMs, p.camera
     FROM photos p JOIN roots r ON r.id = p.root_id WHERE p.id = ? AND p.status = 'ok'`,
  )
  const out = new Map<number, CopyRow>()
  for (const id of ids) {
    const row = get.get(id)
    if (!row) continue
    const { root, relPath, ...rest } = row
    out.set(id, { ...rest, path: join(root, relPath) })
  }
  return out
}

/** Capture times from EXIF of every ok photo that has one (the similar tier's burst hint). */
export function exifTimes(db: Db): Map<number, number> {
  const rows = db.prepare<[], { id: number; t: number }>("SELECT id, taken_at AS t FROM photos WHERE status = 'ok' AND taken_at IS NOT NULL").all()
  return new Map(rows.map((r) => [r.id, r.t]))
}

/** Albums of the given photos, by photo id. */
export function albumsOf(db: Db, ids: readonly number[]): Map<number, number[]> {
  const get = db.prepare<[number], { albumId: number }>('SELECT album_id AS albumId FROM album_photos WHERE photo_id = ? ORDER BY album_id')
  return new Map(ids.map((id) => [id, get.all(id).map((r) => r.albumId)]))
}

/**
 * Puts the keeper into every album any of `from` is in, in one transaction: done before those
 * copies leave, so no album loses the picture.
 */
export function carryAlbums(db: Db, keeperId: number, from: readonly number[]): number {
  const carry = db.prepare('INSERT OR IGNORE INTO album_photos (album_id, photo_id, added_at) SELECT album_id, ?, ? FROM album_photos WHERE photo_id = ?')
  const now = Date.now()
  let added = 0
  db.transaction(() => {
    for (const id of from) added += carry.run(keeperId, now, id).changes
  }).immediate()
  return added
}

// ---- features for the pass ---------------------------------------------------------------------

/**
 * Features of the given contents packed row by row (n × dim, in the order given; a content without
 * a feature stays all zeros), so the pass holds one array rather than n small ones.
 */
export function packedFeatures(db: Db, backbone: string, hashes: readonly string[]): { dim: number; vectors: Float32Array } {
  const get = db.prepare<[string, string], { vector: Buffer; dim: number }>('SELECT vector, dim FROM features WHERE hash = ? AND backbone = ?')
  let dim = 0
  let vectors = new Float32Array(0)
  for (let i = 0; i < hashes.length; i++) {
    const row = get.get(hashes[i], backbone)
    if (!row) continue
    if (dim === 0) {
      dim = row.dim
      vectors = new Float32Array(hashes.length * dim)
    }
    if (row.dim !== dim) continue
    const bytes = new Uint8Array(vectors.buffer, i * dim * 4, dim * 4)
    bytes.set(row.vector.subarray(0, dim * 4))
  }
  return { dim, vectors }
}
