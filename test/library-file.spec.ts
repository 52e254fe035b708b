// A damaged or foreign library file gets one clear sentence and is never modified.
import { createHash } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, describe, expect, it } from 'vitest'
import { openDb } from '../src/core/store/db.ts'
import { LIBRARY_APPLICATION_ID, LibraryFileError } from '../src/core/store/library-file.ts'
import { nodeNativeBinding } from '../src/core/store/native-binding.ts'
import { startupFailure } from '../src/main/startup-error.ts'
import { runCli } from './fixtures/cli.ts'

const base = mkdtempSync(join(tmpdir(), 'lookalike-libfile-'))
afterAll(() => rmSync(base, { recursive: true, force: true }))
let n = 0
const file = (name: string) => join(base, `${n++}-${name}`)

/** A library with enough rows to span many pages, closed (checkpointed) so the main file holds them. */
function bigLibrary(path: string): void {
  const db = openDb(path)
  db.prepare('INSERT INTO roots (path, added_at) VALUES (?, 0)').run('/photos')
  const insert = db.prepare("INSERT INTO photos (root_id, rel_path, size, mtime_ms, hash, status) VALUES (1, ?, 1, 1, ?, 'ok')")
  db.transaction(() => {
    for (let i = 0; i < 3000; i++) insert.run(`folder/photo-${i}.jpg`, createHash('sha256').update(String(i)).digest('hex'))
  })()
  db.close()
}

function fingerprint(path: string): string {
  return `${createHash('sha256').update(readFileSync(path)).digest('hex')}:${statSync(path).mtimeMs}`
}

function expectUntouched(path: string, before: string): void {
  expect(fingerprint(path)).toBe(before)
  expect(existsSync(`${path}-wal`)).toBe(false)
}

describe('opening a library file', () => {
  it('marks a new library with the application id', () => {
    const path = file('new.sqlite')
    openDb(path).close()
    const raw = new Database(path, { readonly: true, nativeBinding: nodeNativeBinding() })
    expect(raw.pragma('application_id', { simple: true })).toBe(LIBRARY_APPLICATION_ID)
    raw.close()
  })

  it('adopts a library written before the application id, without complaint', () => {
    const path = file('old.sqlite')
    openDb(path).close()
    const raw = new Database(path, { nativeBinding: nodeNativeBinding() })
    raw.pragma('application_id = 0')
    raw.close()
    openDb(path).close()
    const again = new Database(path, { readonly: true, nativeBinding: nodeNativeBinding() })
    expect(again.pragma('application_id', { simple: true })).toBe(LIBRARY_APPLICATION_ID)
    again.close()
  })

  it('refuses a foreign SQLite file, naming it, and leaves it unchanged (no WAL switch)', () => {
    const path = file('foreign.sqlite')
    const raw = new Database(path, { nativeBinding: nodeNativeBinding() })
    raw.exec('CREATE TABLE photos (x); INSERT INTO photos VALUES (1)')
    raw.close()
    const before = fingerprint(path)
    expect(() => openDb(path)).toThrow(LibraryFileError)
    expect(() => openDb(path)).toThrow(`${path} is not a Lookalike library`)
    expectUntouched(path, before)
  })

  it('refuses an SQLite file of another application', () => {
    const path = file('other-app.sqlite')
    const raw = new Database(path, { nativeBinding: nodeNativeBinding() })
    raw.pragma('application_id = 1234')
    raw.exec('CREATE TABLE t (x)')
    raw.close()
    const before = fingerprint(path)
    expect(() => openDb(path)).toThrow(/another application/)
    expectUntouched(path, before)
  })

  it('refuses a file that is not SQLite at all', () => {
    const path = file('notes.sqlite')
    writeFileSync(path, 'my shopping list, saved under the wrong name\n'.repeat(200))
    const before = fingerprint(path)
    expect(() => openDb(path)).toThrow(/not an SQLite database/)
    expectUntouched(path, before)
  })

  it('calls a truncated library damaged and says what to do', () => {
    const path = file('truncated.sqlite')
    bigLibrary(path)
    truncateSync(path, Math.floor(statSync(path).size / 3))
    const before = fingerprint(path)
    let message = ''
    try {
      openDb(path).close()
    } catch (err) {
      message = (err as Error).message
    }
    expect(message).toContain(`The library file ${path} is damaged`)
    expect(message).toMatch(/Restore it from a backup, or index your folders into a new file/)
    expectUntouched(path, before)
    // The desktop app shows the same sentence in its start-up dialog.
    const err = (() => {
      try {
        openDb(path)
      } catch (e) {
        return e
      }
    })()
    expect(startupFailure(err, path)).toEqual({ title: 'Lookalike cannot open its library', message })
  })

  it('finds a garbage page on open (quick_check), before any write', () => {
    const path = file('garbage-page.sqlite')
    bigLibrary(path)
    const pageSize = 4096
    const fd = openSync(path, 'r+')
    const garbage = Buffer.alloc(pageSize, 0)
    for (let i = 0; i < pageSize; i++) garbage[i] = (i * 2654435761) >>> 24
    writeSync(fd, garbage, 0, pageSize, pageSize * 12)
    closeSync(fd)
    const before = fingerprint(path)
    expect(() => openDb(path)).toThrow(/is damaged/)
    expectUntouched(path, before)
  })
})

describe('the CLI on a damaged library', () => {
  const damaged = file('cli-damaged.sqlite')
  const healthy = file('cli-healthy.sqlite')

  it('prints one line naming the file, no stack trace; --debug adds the stack', () => {
    bigLibrary(damaged)
    truncateSync(damaged, Math.floor(statSync(damaged).size / 3))
    const plain = runCli(['status', '--db', damaged, '--json'])
    expect(plain.code).toBe(1)
    const lines = plain.stderr.trim().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toContain(`The library file ${damaged} is damaged`)
    expect(plain.stderr).not.toMatch(/^\s+at /m)
    const debug = runCli(['status', '--db', damaged, '--debug'])
    expect(debug.code).toBe(1)
    expect(debug.stderr).toMatch(/^\s+at /m)
  })

  it('`check` runs the full integrity_check: 0 when whole, 1 when damaged', () => {
    bigLibrary(healthy)
    const ok = runCli(['check', '--db', healthy, '--json'])
    expect(ok.code).toBe(0)
    expect(JSON.parse(ok.stdout)).toEqual({ file: healthy, ok: true, problems: [] })
    const bad = runCli(['check', '--db', damaged, '--json'])
    expect(bad.code).toBe(1)
    expect(JSON.parse(bad.stdout)).toMatchObject({ file: damaged, ok: false })
  })
})
