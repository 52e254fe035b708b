import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { migrations } from '../src/core/store/migrations.ts'
import { openDb, schemaVersion } from '../src/core/store/db.ts'

const dirs: string[] = []
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'lookalike-store-'))
  dirs.push(d)
  return d
}
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })))

describe('library store', () => {
  it('creates a WAL file at the latest schema and reopens it unchanged', () => {
    const file = join(tmp(), 'lib.sqlite')
    const db = openDb(file)
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal')
    expect(schemaVersion(db)).toBe(migrations.length)
    db.prepare('INSERT INTO roots (path, added_at) VALUES (?, ?)').run('/photos', Date.now())
    db.close()
    const again = openDb(file)
    expect(schemaVersion(again)).toBe(migrations.length)
    expect(again.prepare('SELECT path FROM roots').all()).toEqual([{ path: '/photos' }])
    expect(again.pragma('integrity_check', { simple: true })).toBe('ok')
    again.close()
  })

  it('refuses a file written by a newer schema instead of damaging it', () => {
    const file = join(tmp(), 'lib.sqlite')
    const db = openDb(file)
    db.pragma(`user_version = ${migrations.length + 1}`)
    db.close()
    expect(() => openDb(file)).toThrow(/newer Lookalike/)
  })

  it('allows only one active model', () => {
    const db = openDb(join(tmp(), 'lib.sqlite'))
    const insert = db.prepare(
      "INSERT INTO models (created_at, kind, backbone, status, active, params) VALUES (0, 'unsupervised', 'b', 'ready', ?, '{}')",
    )
    insert.run(1)
    expect(() => insert.run(1)).toThrow(/UNIQUE/)
    insert.run(0)
    db.close()
  })
})
