import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import { migrations } from '../src/core/store/migrations.ts'
import { openDb, schemaVersion } from '../src/core/store/db.ts'
import { nodeNativeBinding } from '../src/core/store/native-binding.ts'

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

  it('upgrades a version-2 library: models and their codes kept, the unused settings table and statuses gone', () => {
    const file = join(tmp(), 'lib.sqlite')
    const old = new Database(file, { nativeBinding: nodeNativeBinding() })
    old.pragma('foreign_keys = ON')
    for (const sql of migrations.slice(0, 2)) old.exec(sql)
    old.pragma('user_version = 2')
    const model = old.prepare("INSERT INTO models (created_at, kind, backbone, status, active, params, weights) VALUES (1, 'supervised', 'b', ?, ?, '{}', ?)")
    model.run('ready', 1, Buffer.from([1, 2, 3]))
    model.run('failed', 0, null)
    old.prepare('INSERT INTO codes (model_id, hash, code) VALUES (1, ?, ?)').run('h1', Buffer.from([7, 8]))
    old.close()

    const db = openDb(file)
    expect(schemaVersion(db)).toBe(migrations.length)
    expect(db.prepare('SELECT id, status, active, weights FROM models').all()).toEqual([{ id: 1, status: 'ready', active: 1, weights: Buffer.from([1, 2, 3]) }])
    expect(db.prepare('SELECT model_id, hash, code FROM codes').all()).toEqual([{ model_id: 1, hash: 'h1', code: Buffer.from([7, 8]) }])
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name IN ('settings', 'locks', 'models_one_active') ORDER BY name").all()).toEqual([{ name: 'locks' }, { name: 'models_one_active' }])
    expect(() => db.prepare("UPDATE models SET status = 'training'").run()).toThrow(/CHECK/)
    // Codes still belong to their model: deleting it takes them along.
    db.prepare('DELETE FROM models WHERE id = 1').run()
    expect(db.prepare('SELECT COUNT(*) AS n FROM codes').get()).toEqual({ n: 0 })
    expect(db.pragma('foreign_key_check')).toEqual([])
    db.close()
  })
})
