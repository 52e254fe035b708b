// What the library keeps per content hash (features, activation maps, codes) outlives the photos
// that had that content: a deleted or changed file leaves them behind. They are orphans once no
// photo row has the hash. After a feature upgrade the features and activation maps of the replaced
// image feature are orphans too: only replaced models read them. Orphans are removed in one
// transaction. Perceptual hashes (8 bytes each) go with their content too, uncounted.
import type { Db } from './db.ts'

export interface StoredOrphans {
  features: number
  activations: number
  codes: number
}

const tables = ['features', 'activations', 'codes'] as const
const orphan = (table: string) => `NOT EXISTS (SELECT 1 FROM photos p WHERE p.hash = ${table}.hash)`

/**
 * The backbone in `column` is one only replaced models read: a finished, inactive model was
 * trained on it, the active model reads another, and it is not @keep (the feature this Lookalike
 * computes, which an older version may have replaced before).
 */
const replaced = (column: string) =>
  `(${column} IN (SELECT backbone FROM models WHERE active = 0 AND status = 'ready')
    AND EXISTS (SELECT 1 FROM models WHERE active = 1) AND ${column} NOT IN (SELECT backbone FROM models WHERE active = 1)
    AND (@keep IS NULL OR ${column} <> @keep))`

/** Activation maps are keyed `<backbone>>`<layer> (dpq/tail-spec.ts' mapKey). */
const layerBackbone = "substr(layer, 1, instr(layer, '>') - 1)"

const garbage: Record<(typeof tables)[number], string> = {
  features: `${orphan('features')} OR ${replaced('backbone')}`,
  activations: `${orphan('activations')} OR ${replaced(layerBackbone)}`,
  // Codes of replaced models go when the new model is activated (store/models.activateModel).
  codes: orphan('codes'),
}

/** `keep`: a backbone whose features stay whatever the models say (the one this Lookalike computes). */
export function countStoredOrphans(db: Db, keep: string | null = null): StoredOrphans {
  const count = (table: (typeof tables)[number]) => db.prepare<[{ keep: string | null }], { n: number }>(`SELECT COUNT(*) AS n FROM ${table} WHERE ${garbage[table]}`).get({ keep })!.n
  return { features: count('features'), activations: count('activations'), codes: count('codes') }
}

export function deleteStoredOrphans(db: Db, keep: string | null = null): StoredOrphans {
  return db.transaction(() => {
    db.prepare(`DELETE FROM perceptual_hashes WHERE ${orphan('perceptual_hashes')}`).run()
    const remove = (table: (typeof tables)[number]) => db.prepare(`DELETE FROM ${table} WHERE ${garbage[table]}`).run({ keep }).changes
    return { features: remove('features'), activations: remove('activations'), codes: remove('codes') }
  }).immediate()
}

/** Removes what is stored for those of these content hashes that no photo has any more. */
export function deleteStoredOrphansOf(db: Db, hashes: Iterable<string>): StoredOrphans {
  return db.transaction(() => {
    const removed: StoredOrphans = { features: 0, activations: 0, codes: 0 }
    const statements = tables.map((table) => [table, db.prepare(`DELETE FROM ${table} WHERE hash = ? AND ${orphan(table)}`)] as const)
    const perceptual = db.prepare(`DELETE FROM perceptual_hashes WHERE hash = ? AND ${orphan('perceptual_hashes')}`)
    for (const hash of hashes) {
      for (const [table, remove] of statements) removed[table] += remove.run(hash).changes
      perceptual.run(hash)
    }
    return removed
  }).immediate()
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
