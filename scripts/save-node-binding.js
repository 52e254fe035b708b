// Keeps a copy of better-sqlite3's Node build before it is rebuilt for Electron in place, so the
// Node-side tools (CLI, `lookalike serve`, tests) and the desktop app both work from one install.
// src/core/store/native-binding.ts picks the copy up; the two must agree on savedNodeBindingPath.
import { spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

/** Where the Node build for one better-sqlite3 version and one Node ABI is kept. */
export function savedNodeBindingPath(nodeModules, version, abi) {
  return join(nodeModules, '.cache', 'lookalike', `better-sqlite3-${version}-node-abi-${abi}`, 'better_sqlite3.node')
}

/**
 * Copies `<packageDir>/build/Release/better_sqlite3.node` next to the package (in
 * node_modules/.cache, which packaging leaves out) when it loads in this Node. Never throws.
 */
export function saveNodeBinding(packageDir = betterSqliteDir(), abi = process.versions.modules) {
  try {
    if (!packageDir) return { saved: null, reason: 'better-sqlite3 is not installed' }
    const built = join(packageDir, 'build', 'Release', 'better_sqlite3.node')
    const { version } = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8'))
    const saved = savedNodeBindingPath(dirname(packageDir), version, abi)
    // A second `npm install` finds the Electron build left by the first (and the copy it kept).
    // Checked in a child so this process does not hold the file the Electron rebuild replaces.
    const loads = existsSync(built) &&
      spawnSync(process.execPath, ['-e', 'process.dlopen({ exports: {} }, process.argv[1])', built], { stdio: 'ignore' }).status === 0
    if (!loads) {
      if (existsSync(saved)) return { saved, reason: null }
      return { saved: null, reason: existsSync(built) ? `${built} is not built for this Node (ABI ${abi})` : `${built} does not exist` }
    }
    mkdirSync(dirname(saved), { recursive: true })
    // Copy then rename: a process that has the previous copy loaded keeps its file intact.
    const partial = `${saved}.${process.pid}.partial`
    try {
      copyFileSync(built, partial)
      renameSync(partial, saved)
    } finally {
      rmSync(partial, { force: true })
    }
    // `npm rebuild better-sqlite3` after an Electron rebuild leaves @electron/rebuild's marker
    // beside a Node build; the marker would make the next Electron rebuild skip it.
    rmSync(join(packageDir, 'build', 'Release', '.forge-meta'), { force: true })
    return { saved, reason: null }
  } catch (error) {
    return { saved: null, reason: error instanceof Error ? error.message : String(error) }
  }
}

function betterSqliteDir() {
  try {
    return dirname(createRequire(import.meta.url).resolve('better-sqlite3/package.json'))
  } catch {
    return null
  }
}
