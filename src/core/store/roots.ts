// Library roots: the folders a user asked Lookalike to index. Stored as absolute real paths so a
// symlinked or relative spelling of the same folder is recognised, and roots never nest.
import { realpathSync, statSync } from 'node:fs'
import { resolve, sep } from 'node:path'
import { StoreError } from './errors.ts'
import type { Root } from '../../shared/types.ts'
import type { Db } from './db.ts'

interface RootRow {
  id: number
  path: string
  photos: number
}

const selectRoots = `
  SELECT r.id, r.path, (SELECT COUNT(*) FROM photos p WHERE p.root_id = r.id AND p.status = 'ok') AS photos
  FROM roots r`

export function listRoots(db: Db): Root[] {
  return db.prepare<[], RootRow>(`${selectRoots} ORDER BY r.path`).all()
}

export function getRoot(db: Db, id: number): Root {
  const root = db.prepare<[number], RootRow>(`${selectRoots} WHERE r.id = ?`).get(id)
  if (!root) throw new StoreError('not-found', `No library folder with id ${id}`)
  return root
}

/** The folder's canonical form: absolute, symlinks resolved. Throws a readable error if unusable. */
export function canonicalFolder(path: string): string {
  let real: string
  try {
    real = realpathSync(resolve(path))
  } catch {
    throw new StoreError('bad-request', `Folder does not exist: ${path}`)
  }
  if (!statSync(real).isDirectory()) throw new StoreError('bad-request', `Not a folder: ${path}`)
  return real
}

/** a contains b (or equals it). */
export function isInside(parent: string, child: string): boolean {
  if (parent === child) return true
  const prefix = parent.endsWith(sep) ? parent : parent + sep
  return child.startsWith(prefix)
}

/** Adds a folder as a root; adding an existing root returns it unchanged. Nested roots are refused. */
export function addRoot(db: Db, path: string): Root {
  const real = canonicalFolder(path)
  // Check and insert under one write lock: two processes adding the same folder get the same root.
  return db.transaction(() => insertRoot(db, real)).immediate()
}

function insertRoot(db: Db, real: string): Root {
  for (const root of listRoots(db)) {
    if (root.path === real) return root
    if (isInside(root.path, real)) {
      throw new StoreError('conflict', `${real} is already in the library, inside ${root.path}`)
    }
    if (isInside(real, root.path)) {
      throw new StoreError('conflict', `${real} contains ${root.path}, which is already in the library; remove that folder first`)
    }
  }
  const { lastInsertRowid } = db.prepare('INSERT INTO roots (path, added_at) VALUES (?, ?)').run(real, Date.now())
  return getRoot(db, Number(lastInsertRowid))
}

/** Looks a folder up among the roots (by canonical path); null when it is not one. */
export function findRoot(db: Db, path: string): Root | null {
  const real = canonicalFolder(path)
  return listRoots(db).find((r) => r.path === real) ?? null
}

/** Forgets a root and its photos (album membership of those photos goes with them). */
export function removeRoot(db: Db, id: number): void {
  const { changes } = db.prepare('DELETE FROM roots WHERE id = ?').run(id)
  if (changes === 0) throw new StoreError('not-found', `No library folder with id ${id}`)
}
