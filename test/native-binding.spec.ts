// One install serving both runtimes: the postinstall keeps better-sqlite3's Node build aside before
// rebuilding it for Electron, and plain Node opens libraries with that copy. Real add-on, temp dirs.
import { spawnSync } from 'node:child_process'
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import Database from 'better-sqlite3'
import { saveNodeBinding, savedNodeBindingPath } from '../scripts/save-node-binding.js'
import { nodeNativeBinding } from '../src/core/store/native-binding.ts'
import { openDb } from '../src/core/store/db.ts'

const require = createRequire(import.meta.url)
const realPackage = dirname(require.resolve('better-sqlite3/package.json'))
const realBuild = join(realPackage, 'build', 'Release', 'better_sqlite3.node')
const version: string = require('better-sqlite3/package.json').version

const dirs: string[] = []
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })))

/** A node_modules with better-sqlite3's package.json and, unless told otherwise, its real Node build. */
function installed(build: 'node' | 'foreign' | 'none' = 'node'): string {
  const root = mkdtempSync(join(tmpdir(), 'lookalike-binding-'))
  dirs.push(root)
  const pkg = join(root, 'node_modules', 'better-sqlite3')
  mkdirSync(join(pkg, 'build', 'Release'), { recursive: true })
  copyFileSync(join(realPackage, 'package.json'), join(pkg, 'package.json'))
  const built = join(pkg, 'build', 'Release', 'better_sqlite3.node')
  if (build === 'node') copyFileSync(realBuild, built)
  if (build === 'foreign') writeFileSync(built, 'not an add-on this Node can load')
  return pkg
}

describe('keeping the Node build of better-sqlite3 (postinstall step)', () => {
  it('copies the Node build per version and ABI, and drops a stale Electron-rebuild marker', () => {
    const pkg = installed()
    writeFileSync(join(pkg, 'build', 'Release', '.forge-meta'), 'linux--x64--145')
    const kept = saveNodeBinding(pkg)
    expect(kept).toEqual({ saved: savedNodeBindingPath(dirname(pkg), version, process.versions.modules), reason: null })
    expect(kept.saved).toContain(join('node_modules', '.cache', 'lookalike', `better-sqlite3-${version}-node-abi-${process.versions.modules}`))
    expect(existsSync(kept.saved!)).toBe(true)
    expect(existsSync(join(pkg, 'build', 'Release', '.forge-meta'))).toBe(false)
    expect(saveNodeBinding(pkg)).toEqual(kept) // a second install replaces it quietly
  })

  it('never keeps a build this Node cannot load; a copy kept earlier still counts', () => {
    const pkg = installed('foreign')
    const refused = saveNodeBinding(pkg)
    expect(refused.saved).toBeNull()
    expect(refused.reason).toMatch(/not built for this Node/)
    expect(existsSync(savedNodeBindingPath(dirname(pkg), version, process.versions.modules))).toBe(false)

    const earlier = savedNodeBindingPath(dirname(pkg), version, process.versions.modules)
    mkdirSync(dirname(earlier), { recursive: true })
    copyFileSync(realBuild, earlier)
    expect(saveNodeBinding(pkg)).toEqual({ saved: earlier, reason: null })
  })

  it('reports instead of throwing when there is nothing to keep', () => {
    expect(saveNodeBinding(installed('none')).reason).toMatch(/does not exist/)
    expect(saveNodeBinding(join(tmpdir(), 'lookalike-no-such-package')).saved).toBeNull()
    expect(saveNodeBinding(null).saved).toBeNull()
  })
})

describe('choosing the better-sqlite3 build to open libraries with', () => {
  it('plain Node opens a real library with the kept copy; Electron and other ABIs use the package build', () => {
    const pkg = installed()
    expect(nodeNativeBinding(process.versions, pkg)).toBeUndefined() // nothing kept yet
    const { saved } = saveNodeBinding(pkg)
    expect(nodeNativeBinding(process.versions, pkg)).toBe(saved)
    expect(nodeNativeBinding({ ...process.versions, electron: '41.0.0' }, pkg)).toBeUndefined()
    expect(nodeNativeBinding({ ...process.versions, modules: '999' }, pkg)).toBeUndefined()
    expect(nodeNativeBinding(process.versions, null)).toBeUndefined()

    const file = join(dirname(dirname(pkg)), 'lib.sqlite')
    openDb(file).close() // the app's schema, written through the app's own path
    const db = new Database(file, { nativeBinding: nodeNativeBinding(process.versions, pkg) })
    expect(require.cache[saved!], 'the kept copy is the add-on that loaded').toBeDefined()
    db.prepare('INSERT INTO roots (path, added_at) VALUES (?, ?)').run('/photos', 1)
    expect(db.prepare('SELECT path FROM roots').all()).toEqual([{ path: '/photos' }])
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok')
    db.close()
  })

  it('openDb works from this checkout whichever build it picks', () => {
    const chosen = nodeNativeBinding()
    expect(chosen === undefined || existsSync(chosen)).toBe(true)
    const db = openDb(':memory:')
    expect(db.prepare('SELECT 1 AS one').get()).toEqual({ one: 1 })
    db.close()
  })
})

describe('a desktop install after the Electron rebuild', () => {
  it('plain Node still opens libraries through openDb, though the package build no longer loads', () => {
    // A checkout of its own: the store modules, better-sqlite3's JS and its Node build.
    const repo = resolve(import.meta.dirname, '..')
    const pkg = installed()
    const root = dirname(dirname(pkg))
    cpSync(join(realPackage, 'lib'), join(pkg, 'lib'), { recursive: true })
    for (const dep of ['bindings', 'file-uri-to-path']) cpSync(dirname(require.resolve(`${dep}/package.json`)), join(root, 'node_modules', dep), { recursive: true })
    for (const file of ['db.ts', 'native-binding.ts', 'migrations.ts', 'library-file.ts']) cpSync(join(repo, 'src/core/store', file), join(root, 'src/core/store', file))
    writeFileSync(join(root, 'package.json'), '{ "type": "module" }')
    writeFileSync(
      join(root, 'check.ts'),
      "import { openDb } from './src/core/store/db.ts'\n" +
        "const db = openDb('lib.sqlite')\n" +
        "db.prepare('INSERT INTO roots (path, added_at) VALUES (?, ?)').run('/photos', 1)\n" +
        "console.log(JSON.stringify(db.prepare('SELECT path FROM roots').all()))\n",
    )
    const node = (...args: string[]) => spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8' })
    const tsx = pathToFileURL(require.resolve('tsx/esm')).href

    // The postinstall, in order: keep the Node build, then the rebuild replaces it in place.
    expect(saveNodeBinding(pkg).saved).not.toBeNull()
    writeFileSync(join(pkg, 'build', 'Release', 'better_sqlite3.node'), 'built for Electron')

    const plain = node('-e', "new (require('better-sqlite3'))(':memory:')")
    expect(plain.status, 'the package build should no longer load in Node').not.toBe(0)
    const run = node('--import', tsx, 'check.ts')
    expect(run.stderr).toBe('')
    expect(JSON.parse(run.stdout)).toEqual([{ path: '/photos' }])
  })
})
