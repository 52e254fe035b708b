import Database from 'better-sqlite3'
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { checkLibraryIdentity, explainCorruption, LIBRARY_APPLICATION_ID, LibraryFileError, quickCheck } from './library-file.ts'
import { migrations } from './migrations.ts'
import { nodeNativeBinding } from './native-binding.ts'

export type Db = Database.Database

/**
 * Opens (creating if needed) a library file and brings its schema up to date. Nothing is written
 * before the file has shown it is a whole Lookalike library (identity, then SQLite's quick_check).
 */
export function openDb(file: string, options: { readonly?: boolean } = {}): Db {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true })
  let db: Db
  try {
    db = new Database(file, { readonly: options.readonly ?? false, nativeBinding: nodeNativeBinding() })
  } catch (err) {
    throw new LibraryFileError(`Cannot open the library file ${file}: ${(err as Error).message}`)
  }
  try {
    // Writers wait this long for one another. Every write transaction is BEGIN IMMEDIATE: one that
    // has already read cannot wait for another writer and would fail with SQLITE_BUSY at once.
    db.pragma('busy_timeout = 10000')
    const { fresh } = checkLibraryIdentity(db, file)
    if (!fresh) quickCheck(db, file)
    if (!options.readonly) {
      db.pragma('journal_mode = WAL')
      db.pragma('synchronous = NORMAL')
      if (fresh) db.pragma(`application_id = ${LIBRARY_APPLICATION_ID}`)
    }
    db.pragma('foreign_keys = ON')
    if (!options.readonly) migrate(db)
    // Libraries from before the application id get it once they are known to be ours and whole.
    if (!options.readonly && !fresh && db.pragma('application_id', { simple: true }) === 0) db.pragma(`application_id = ${LIBRARY_APPLICATION_ID}`)
  } catch (err) {
    db.close()
    throw explainCorruption(err, file)
  }
  return db
}

export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number
}

/** Runs every migration the file has not seen yet; each one atomically with its version bump. */
export function migrate(db: Db): void {
  const from = schemaVersion(db)
  if (from > migrations.length) {
    throw new Error(
      `This library was written by a newer Lookalike (schema ${from}, this build knows ${migrations.length}). ` +
        'Update Lookalike to open it.',
    )
  }
  for (let v = from; v < migrations.length; v++) {
    db.transaction(() => {
      // Another process opening the same file may have run this step while we waited for the lock.
      if (schemaVersion(db) > v) return
      db.exec(migrations[v])
      db.pragma(`user_version = ${v + 1}`)
    }).immediate()
  }
}
