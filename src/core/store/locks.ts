// Named locks in the library file, so that processes sharing it (the app, `lookalike train`, a
// second CLI) take turns at work that must not interleave. A row names its holder and carries a
// heartbeat; whether a holder is gone is the caller's judgement (isGone).
import type { Db } from './db.ts'

export interface LockHolder {
  pid: number
  host: string
  acquiredAt: number
  heartbeat: number
}

interface LockRow {
  pid: number
  host: string
  acquired_at: number
  heartbeat: number
}

const toHolder = (r: LockRow): LockHolder => ({ pid: r.pid, host: r.host, acquiredAt: r.acquired_at, heartbeat: r.heartbeat })

/**
 * Takes the lock for `me` when it is free, already mine, or held by someone `isGone` judges gone;
 * returns null then, else the holder. One IMMEDIATE transaction: two processes never both win.
 */
export function tryLock(db: Db, name: string, me: { pid: number; host: string }, isGone: (holder: LockHolder) => boolean): LockHolder | null {
  return db
    .transaction(() => {
      const row = db.prepare<[string], LockRow>('SELECT pid, host, acquired_at, heartbeat FROM locks WHERE name = ?').get(name)
      const holder = row ? toHolder(row) : null
      if (holder && !(holder.pid === me.pid && holder.host === me.host) && !isGone(holder)) return holder
      const now = Date.now()
      db.prepare('INSERT OR REPLACE INTO locks (name, pid, host, acquired_at, heartbeat) VALUES (?, ?, ?, ?, ?)').run(name, me.pid, me.host, now, now)
      return null
    })
    .immediate()
}

/** Refreshes the holder's heartbeat; false when the lock is no longer `me`'s (taken over as stale). */
export function touchLock(db: Db, name: string, me: { pid: number; host: string }): boolean {
  return db.prepare('UPDATE locks SET heartbeat = ? WHERE name = ? AND pid = ? AND host = ?').run(Date.now(), name, me.pid, me.host).changes === 1
}

export function unlock(db: Db, name: string, me: { pid: number; host: string }): void {
  db.prepare('DELETE FROM locks WHERE name = ? AND pid = ? AND host = ?').run(name, me.pid, me.host)
}

export function lockHolder(db: Db, name: string): LockHolder | null {
  const row = db.prepare<[string], LockRow>('SELECT pid, host, acquired_at, heartbeat FROM locks WHERE name = ?').get(name)
  return row ? toHolder(row) : null
}
