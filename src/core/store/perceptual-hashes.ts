// Perceptual hashes (duplicates/perceptual-hash.ts), one per content like features: a duplicate
// or moved file is never hashed twice. A library indexed before hashes existed has none until the
// duplicate finder's pass hashes its stored thumbnails.
import { hashFromBytes, hashToBytes } from '../duplicates/perceptual-hash.ts'
import type { Db } from './db.ts'

/** Stores hashes in one transaction (joins the caller's transaction when there is one). */
export function putPerceptualHashes(db: Db, rows: readonly { hash: string; value: Uint32Array }[]): void {
  const insert = db.prepare('INSERT OR REPLACE INTO perceptual_hashes (hash, value) VALUES (?, ?)')
  db.transaction(() => {
    for (const { hash, value } of rows) insert.run(hash, hashToBytes(value))
  }).immediate()
}

export function hasPerceptualHash(db: Db, hash: string): boolean {
  return db.prepare('SELECT 1 FROM perceptual_hashes WHERE hash = ?').get(hash) !== undefined
}

/** Contents of ok photos that have no perceptual hash yet. */
export function hashesWithoutPerceptualHash(db: Db): string[] {
  return db
    .prepare<[], { hash: string }>(
      `SELECT DISTINCT p.hash FROM photos p
       WHERE p.status = 'ok' AND p.hash IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM perceptual_hashes h WHERE h.hash = p.hash)
       ORDER BY p.hash`,
    )
    .all()
    .map((r) => r.hash)
}

/**
 * Hashes of the given contents packed two 32-bit words each, in the order given, and which of
 * them have one (a content without a hash stays zeros and `known` 0).
 */
export function packedPerceptualHashes(db: Db, hashes: readonly string[]): { values: Uint32Array; known: Uint8Array } {
  const get = db.prepare<[string], { value: Buffer }>('SELECT value FROM perceptual_hashes WHERE hash = ?')
  const values = new Uint32Array(hashes.length * 2)
  const known = new Uint8Array(hashes.length)
  for (let i = 0; i < hashes.length; i++) {
    const row = get.get(hashes[i])
    if (!row || row.value.length !== 8) continue
    values.set(hashFromBytes(row.value), 2 * i)
    known[i] = 1
  }
  return { values, known }
}
