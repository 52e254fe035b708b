// Is this file a Lookalike library, and is it whole? Asked before anything is written to it: a
// foreign SQLite file or a damaged library is refused with one sentence that names the file and
// says what to do, and is left byte for byte as it was.
import { closeSync, openSync, readSync, statSync } from 'node:fs'
import type Database from 'better-sqlite3'

/** `PRAGMA application_id` of every library ("LOOK"); 0 on files written before it was set. */
export const LIBRARY_APPLICATION_ID = 0x4c4f4f4b

/** The tables every library has had since its first schema. */
const CORE_TABLES = ['roots', 'photos', 'features', 'models', 'codes', 'jobs']

/**
 * A library file that cannot be used as it is; the message is the whole story for the user. (A
 * plain Error: the store stays free of the API contract, and no library is ever opened over the wire.)
 */
export class LibraryFileError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'LibraryFileError'
  }
}

export function damagedLibrary(file: string, detail: string): LibraryFileError {
  return new LibraryFileError(
    `The library file ${file} is damaged (${detail}). Restore it from a backup, or index your folders into a new file ` +
      `(lookalike index <folder> --db <new file>): the photos' features are recomputed and albums must be made again.`,
  )
}

function foreignFile(file: string, what: string): LibraryFileError {
  return new LibraryFileError(`${file} is not a Lookalike library (${what}); it was left unchanged. Choose another file with --db (or LOOKALIKE_DB).`)
}

/** SQLite's own words for a file it cannot read as a database. */
function isCorruption(err: unknown): boolean {
  const code = (err as { code?: unknown }).code
  return code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB' || (typeof code === 'string' && code.startsWith('SQLITE_CORRUPT'))
}

/** The first 16 bytes of a non-empty file: every SQLite database starts with this string. */
export function looksLikeSqlite(file: string): boolean | null {
  let size: number
  try {
    size = statSync(file).size
  } catch {
    return null // no file yet: a new library
  }
  if (size === 0) return null
  const head = Buffer.alloc(16)
  const fd = openSync(file, 'r')
  try {
    readSync(fd, head, 0, 16, 0)
  } finally {
    closeSync(fd)
  }
  return head.toString('latin1') === 'SQLite format 3\0'
}

/**
 * Refuses a file that is not a library of ours, reading only. A file written by a Lookalike from
 * before the application id was set is recognised by its tables. Returns whether the file is new
 * (no schema at all), so the caller knows to mark it.
 */
export function checkLibraryIdentity(db: Database.Database, file: string): { fresh: boolean } {
  if (file !== ':memory:' && looksLikeSqlite(file) === false) throw foreignFile(file, 'not an SQLite database')
  try {
    const applicationId = db.pragma('application_id', { simple: true }) as number
    const tables = new Set(db.prepare<[], { name: string }>("SELECT name FROM sqlite_schema WHERE type = 'table'").all().map((t) => t.name))
    if (applicationId === LIBRARY_APPLICATION_ID) return { fresh: false }
    if (applicationId !== 0) throw foreignFile(file, `an SQLite file of another application, id 0x${(applicationId >>> 0).toString(16)}`)
    if (tables.size === 0) return { fresh: true }
    const missing = CORE_TABLES.filter((t) => !tables.has(t))
    if (missing.length) throw foreignFile(file, `an SQLite database without Lookalike's tables`)
    return { fresh: false }
  } catch (err) {
    if (isCorruption(err)) throw damagedLibrary(file, (err as Error).message)
    throw err
  }
}

/** SQLite's quick_check (structure of every page, not index contents): cheap enough for every open. */
export function quickCheck(db: Database.Database, file: string): void {
  let problems: string[]
  try {
    problems = (db.pragma('quick_check(5)') as object[]).map((row) => String(Object.values(row)[0]))
  } catch (err) {
    if (isCorruption(err)) throw damagedLibrary(file, (err as Error).message)
    throw err
  }
  if (problems.length && problems[0] !== 'ok') throw damagedLibrary(file, problems[0])
}

/** The full integrity_check (every index against its table): what `lookalike check` runs. */
export function integrityProblems(db: Database.Database, limit = 100): string[] {
  try {
    const rows = (db.pragma(`integrity_check(${limit})`) as object[]).map((row) => String(Object.values(row)[0]))
    return rows.length === 1 && rows[0] === 'ok' ? [] : rows
  } catch (err) {
    if (isCorruption(err)) return [(err as Error).message]
    throw err
  }
}

/** Turns SQLite's corruption errors met later (a page read mid-run) into the same message. */
export function explainCorruption(err: unknown, file: string): unknown {
  return isCorruption(err) ? damagedLibrary(file, (err as Error).message) : err
}
