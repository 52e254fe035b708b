// The library's models lock: one process at a time, a wait that names the holder, re-entrant in a
// process, and a lock left by a dead process taken over.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { describeHolder, MODELS_LOCK, withModelsLock } from '../src/core/modeling/lock.ts'
import { openDb, type Db } from '../src/core/store/db.ts'
import { lockHolder, tryLock, unlock, type LockHolder } from '../src/core/store/locks.ts'

const dirs: string[] = []
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })))
function library(): Db {
  const d = mkdtempSync(join(tmpdir(), 'lookalike-lock-'))
  dirs.push(d)
  return openDb(join(d, 'lib.sqlite'))
}

/** Another process that is alive for the whole test: our parent (vitest's runner). */
const other = { pid: process.ppid, host: hostname() }

describe('models lock', () => {
  it('waits for a live holder, says who it is, and runs once the holder lets go', async () => {
    const db = library()
    expect(tryLock(db, MODELS_LOCK, other, () => false)).toBeNull()
    const told: LockHolder[] = []
    let ran = false
    const work = withModelsLock(db, async () => (ran = true), { onWait: (h) => told.push(h) })
    await new Promise((r) => setTimeout(r, 1200))
    expect(ran).toBe(false)
    expect(told).toHaveLength(1)
    expect(told[0]).toMatchObject(other)
    expect(describeHolder(told[0])).toBe(`another Lookalike (pid ${other.pid}) is retraining or encoding this library`)
    unlock(db, MODELS_LOCK, other)
    await work
    expect(ran).toBe(true)
    expect(lockHolder(db, MODELS_LOCK)).toBeNull()
    db.close()
  })

  it('takes over a lock whose process is gone, and is re-entrant within a process', async () => {
    const db = library()
    const dead = spawnSync(process.execPath, ['-e', 'process.exit(0)']).pid
    expect(tryLock(db, MODELS_LOCK, { pid: dead, host: hostname() }, () => false)).toBeNull()
    const inner = await withModelsLock(db, async () => {
      expect(lockHolder(db, MODELS_LOCK)).toMatchObject({ pid: process.pid })
      return withModelsLock(db, async () => 'nested')
    }, { onWait: () => expect.fail('a dead holder is not waited for') })
    expect(inner).toBe('nested')
    expect(lockHolder(db, MODELS_LOCK)).toBeNull()
    db.close()
  })

  it('lets exactly one of two claimants win', () => {
    const db = library()
    const a = tryLock(db, MODELS_LOCK, { pid: 1, host: 'a' }, () => false)
    const b = tryLock(db, MODELS_LOCK, { pid: 2, host: 'b' }, () => false)
    expect(a).toBeNull()
    expect(b).toMatchObject({ pid: 1, host: 'a' })
    db.close()
  })
})
