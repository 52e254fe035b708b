// Stacks: copies of one picture shown as a single tile, the keeper's. Kept by content hash, so a
// stack survives rescans and moves; files are never touched. A stack whose keeper is no longer in
// the library hides nothing.
import type { Db } from './db.ts'

export interface StackRow {
  stackId: number
  keeperHash: string
  hashes: string[]
}

/**
 * SQL condition, on photos aliased `p`, that is true for photos a stack hides: every copy but the
 * keeper (and, of several files with the keeper's content, all but the first).
 */
export const HIDDEN_BY_STACK = `EXISTS (
  SELECT 1 FROM stack_members sm JOIN stacks s ON s.id = sm.stack_id
  WHERE sm.hash = p.hash AND p.id <> (SELECT MIN(k.id) FROM photos k WHERE k.hash = s.keeper_hash AND k.status = 'ok'))`

/**
 * Stacks these contents under `keeperHash`. Stacks they already belong to are merged into the new
 * one, so stacking is transitive. Returns the stack id.
 */
export function createStack(db: Db, keeperHash: string, hashes: readonly string[]): number {
  return db.transaction(() => {
    const members = new Set([keeperHash, ...hashes])
    const oldStacks = db.prepare<[string], { stackId: number }>('SELECT stack_id AS stackId FROM stack_members WHERE hash = ?')
    const membersOf = db.prepare<[number], { hash: string }>('SELECT hash FROM stack_members WHERE stack_id = ?')
    const merged = new Set<number>()
    for (const hash of members) {
      const old = oldStacks.get(hash)
      if (old) merged.add(old.stackId)
    }
    for (const stackId of merged) for (const { hash } of membersOf.all(stackId)) members.add(hash)
    const drop = db.prepare('DELETE FROM stacks WHERE id = ?')
    for (const stackId of merged) drop.run(stackId)
    const stackId = Number(db.prepare('INSERT INTO stacks (keeper_hash, created_at) VALUES (?, ?)').run(keeperHash, Date.now()).lastInsertRowid)
    const add = db.prepare('INSERT INTO stack_members (hash, stack_id) VALUES (?, ?)')
    for (const hash of members) add.run(hash, stackId)
    return stackId
  }).immediate()
}

/** Dissolves the stack this content belongs to; false when it is in none. */
export function removeStackOf(db: Db, hash: string): boolean {
  const row = db.prepare<[string], { stackId: number }>('SELECT stack_id AS stackId FROM stack_members WHERE hash = ?').get(hash)
  if (!row) return false
  db.prepare('DELETE FROM stacks WHERE id = ?').run(row.stackId)
  return true
}

export function listStackRows(db: Db): StackRow[] {
  const rows = db
    .prepare<[], { stackId: number; keeperHash: string; hash: string }>(
      'SELECT s.id AS stackId, s.keeper_hash AS keeperHash, m.hash FROM stacks s JOIN stack_members m ON m.stack_id = s.id ORDER BY s.id, m.hash',
    )
    .all()
  const out = new Map<number, StackRow>()
  for (const r of rows) {
    const stack = out.get(r.stackId) ?? { stackId: r.stackId, keeperHash: r.keeperHash, hashes: [] }
    stack.hashes.push(r.hash)
    out.set(r.stackId, stack)
  }
  return [...out.values()]
}

/** For the photos shown for stacks among `ids`: how many library photos their stack holds. */
export function stackSizes(db: Db, ids: readonly number[]): Map<number, number> {
  const out = new Map<number, number>()
  if (ids.length === 0 || !db.prepare('SELECT 1 FROM stacks LIMIT 1').get()) return out
  const get = db.prepare<[number], { n: number }>(
    `SELECT COUNT(q.id) AS n FROM photos p
       JOIN stacks s ON s.keeper_hash = p.hash
       JOIN stack_members m ON m.stack_id = s.id
       JOIN photos q ON q.hash = m.hash AND q.status = 'ok'
     WHERE p.id = ?`,
  )
  for (const id of ids) {
    const n = get.get(id)?.n ?? 0
    if (n > 1) out.set(id, n)
  }
  return out
}

export function stackCounts(db: Db): { stacks: number; stackedPhotos: number } {
  const row = db
    .prepare<[], { stacks: number; photos: number }>(
      `SELECT (SELECT COUNT(*) FROM stacks) AS stacks,
         (SELECT COUNT(*) FROM photos p JOIN stack_members m ON m.hash = p.hash WHERE p.status = 'ok') AS photos`,
    )
    .get()!
  return { stacks: row.stacks, stackedPhotos: row.photos }
}
