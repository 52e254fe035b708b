// One writer of models per library, across processes: training, activating and encoding codes run
// under the library's 'models' lock. A second process waits its turn (told who holds it); a lock
// whose process died (killed, crashed) is taken over. Within a process the lock is re-entrant.
import { hostname } from 'node:os'
import type { Db } from '../store/db.ts'
import { tryLock, touchLock, unlock, type LockHolder } from '../store/locks.ts'
import { TrainingCancelled } from '../dpq/train.ts'

export const MODELS_LOCK = 'models'

/** How often the holder proves it is alive, and how old a heartbeat may get before anyone may take over. */
const HEARTBEAT_MS = 2_000
const STALE_MS = 120_000
const POLL_MS = 500

export interface LockWait {
  /** Called when the lock is found held by another process, once per holder, with who holds it. */
  onWait?(holder: LockHolder): void
  signal?: AbortSignal
}

/** Says who is holding the lock, for a person: "another Lookalike (pid 123) is retraining this library". */
export function describeHolder(holder: LockHolder): string {
  const where = holder.host === hostname() ? '' : ` on ${holder.host}`
  return `another Lookalike (pid ${holder.pid}${where}) is retraining or encoding this library`
}

/** Holders in this process, per library file: the lock is re-entrant here. */
const held = new Map<string, { count: number; heartbeat: NodeJS.Timeout }>()

/** Runs `work` holding the library's models lock, waiting for another process to finish first. */
export async function withModelsLock<T>(db: Db, work: () => Promise<T>, wait: LockWait = {}): Promise<T> {
  const key = `${db.name}\u0000${MODELS_LOCK}`
  const me = { pid: process.pid, host: hostname() }
  const mine = held.get(key)
  if (mine) {
    mine.count++
  } else {
    let told = ''
    for (;;) {
      const holder = tryLock(db, MODELS_LOCK, me, isGone)
      if (holder === null) break
      const who = `${holder.pid}@${holder.host}`
      if (who !== told) wait.onWait?.(holder)
      told = who
      if (wait.signal?.aborted) throw new TrainingCancelled()
      await new Promise((r) => setTimeout(r, POLL_MS))
    }
    const heartbeat = setInterval(() => db.open && touchLock(db, MODELS_LOCK, me), HEARTBEAT_MS)
    heartbeat.unref()
    held.set(key, { count: 1, heartbeat })
  }
  try {
    return await work()
  } finally {
    const entry = held.get(key)!
    if (--entry.count === 0) {
      clearInterval(entry.heartbeat)
      held.delete(key)
      if (db.open) unlock(db, MODELS_LOCK, me)
    }
  }
}

/** A holder is gone when its process no longer runs on this host, or its heartbeat stopped long ago. */
function isGone(holder: LockHolder): boolean {
  if (Date.now() - holder.heartbeat > STALE_MS) return true
  if (holder.host !== hostname()) return false
  try {
    process.kill(holder.pid, 0)
    return false
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'ESRCH'
  }
}
