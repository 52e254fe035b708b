// CNN features, cached once per file content (sha256) and backbone: a duplicate or a moved file is
// never embedded twice, and a change of backbone re-embeds instead of mixing features.
import type { Db } from './db.ts'
import { fromBlob, toBlob } from './float-blobs.ts'

export function getFeature(db: Db, hash: string, backboneId: string): Float32Array | null {
  const row = db.prepare<[string, string], { vector: Buffer }>('SELECT vector FROM features WHERE hash = ? AND backbone = ?').get(hash, backboneId)
  return row ? fromBlob(row.vector) : null
}

/** Stores features in one transaction (joins the caller's transaction when there is one). */
export function putFeatures(db: Db, backboneId: string, rows: { hash: string; vector: Float32Array }[]): void {
  const insert = db.prepare('INSERT OR REPLACE INTO features (hash, backbone, dim, vector) VALUES (?, ?, ?, ?)')
  db.transaction(() => {
    for (const { hash, vector } of rows) insert.run(hash, backboneId, vector.length, toBlob(vector))
  }).immediate()
}

export function hasFeature(db: Db, hash: string, backboneId: string): boolean {
  return db.prepare('SELECT 1 FROM features WHERE hash = ? AND backbone = ?').get(hash, backboneId) !== undefined
}

/** Content hashes of indexed photos that have no feature yet for this backbone. */
export function hashesWithoutFeature(db: Db, backboneId: string): string[] {
  return db
    .prepare<[string], { hash: string }>(
      `SELECT DISTINCT p.hash FROM photos p
       WHERE p.status = 'ok' AND p.hash IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM features f WHERE f.hash = p.hash AND f.backbone = ?)
       ORDER BY p.hash`,
    )
    .all(backboneId)
    .map((r) => r.hash)
}

/** Features by content hash: for the given hashes (missing ones left out), or every stored one. */
export function featuresFor(db: Db, backboneId: string, hashes?: Iterable<string>): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>()
  if (hashes) {
    const get = db.prepare<[string, string], { vector: Buffer }>('SELECT vector FROM features WHERE hash = ? AND backbone = ?')
    for (const hash of hashes) {
      const row = get.get(hash, backboneId)
      if (row) out.set(hash, fromBlob(row.vector))
    }
    return out
  }
  const all = db.prepare<[string], { hash: string; vector: Buffer }>('SELECT hash, vector FROM features WHERE backbone = ? ORDER BY hash')
  for (const row of all.iterate(backboneId)) out.set(row.hash, fromBlob(row.vector))
  return out
}

/** Content hashes with a feature for this backbone, in hash order. */
export function featureHashes(db: Db, backboneId: string): string[] {
  return db
    .prepare<[string], { hash: string }>('SELECT hash FROM features WHERE backbone = ? ORDER BY hash')
    .all(backboneId)
    .map((r) => r.hash)
}

/** Backbones with stored features and how many each has. */
export function featureCounts(db: Db): { backbone: string; count: number; dim: number }[] {
  return db
    .prepare<[], { backbone: string; count: number; dim: number }>('SELECT backbone, COUNT(*) AS count, MAX(dim) AS dim FROM features GROUP BY backbone ORDER BY backbone')
    .all()
}

/** Photos with a feature for this backbone. */
export function featureCount(db: Db, backboneId: string): number {
  return db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM features WHERE backbone = ?').get(backboneId)!.n
}

/** The backbone most features were computed with (the one the library is embedded with). */
export function libraryBackbone(db: Db): string | null {
  const row = db.prepare<[], { backbone: string }>('SELECT backbone FROM features GROUP BY backbone ORDER BY COUNT(*) DESC, backbone LIMIT 1').get()
  return row?.backbone ?? null
}

/** Distinct contents of ok photos (`total`), and how many of them have a feature for this backbone (`done`). */
export function featureCoverage(db: Db, backboneId: string): { done: number; total: number } {
  const row = db
    .prepare<[string], { done: number | null; total: number }>(
      `SELECT COUNT(*) AS total, SUM(EXISTS (SELECT 1 FROM features f WHERE f.hash = h.hash AND f.backbone = ?)) AS done
       FROM (SELECT DISTINCT hash FROM photos WHERE status = 'ok' AND hash IS NOT NULL) h`,
    )
    .get(backboneId)!
  return { done: row.done ?? 0, total: row.total }
}
