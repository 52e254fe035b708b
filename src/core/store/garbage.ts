// What the library keeps per content hash (features, activation maps, codes) outlives the photos
// that had that content: a deleted or changed file leaves them behind. They are orphans once no
// photo row has the hash, and are removed in one transaction.
import type { Db } from './db.ts'

export interface StoredOrphans {
  features: number
  activations: number
  codes: number
}

const tables = ['features', 'activations', 'codes'] as const
const orphan = (table: string) => `NOT EXISTS (SELECT 1 FROM photos p WHERE p.hash = ${table}.hash)`

export function countStoredOrphans(db: Db): StoredOrphans {
  const count = (table: (typeof tables)[number]) => db.prepare<[], { n: number }>(`SELECT COUNT(*) AS n FROM ${table} WHERE ${orphan(table)}`).get()!.n
  return { features: count('features'), activations: count('activations'), codes: count('codes') }
}

export function deleteStoredOrphans(db: Db): StoredOrphans {
  return db.transaction(() => {
    const remove = (table: (typeof tables)[number]) => db.prepare(`DELETE FROM ${table} WHERE ${orphan(table)}`).run().changes
    return { features: remove('features'), activations: remove('activations'), codes: remove('codes') }
  })()
}

/** Removes what is stored for those of these content hashes that no photo has any more. */
export function deleteStoredOrphansOf(db: Db, hashes: Iterable<string>): StoredOrphans {
  return db.transaction(() => {
    const removed: StoredOrphans = { features: 0, activations: 0, codes: 0 }
    const statements = tables.map((table) => [table, db.prepare(`DELETE FROM ${table} WHERE hash = ? AND ${orphan(table)}`)] as const)
    for (const hash of hashes) for (const [table, remove] of statements) removed[table] += remove.run(hash).changes
    return removed
  })()
}

/** Which of these content hashes no photo row has (for the thumbnail files on disk). */
export function hashesWithoutPhoto(db: Db, hashes: Iterable<string>): string[] {
  const has = db.prepare<[string], { one: number }>('SELECT 1 AS one FROM photos WHERE hash = ? LIMIT 1')
  return [...hashes].filter((hash) => has.get(hash) === undefined)
}

/** Rewrites the file without its free pages (and empties the log): what `vacuum` reclaims. */
export function vacuumFile(db: Db): void {
  db.exec('VACUUM')
  db.pragma('wal_checkpoint(TRUNCATE)')
}
