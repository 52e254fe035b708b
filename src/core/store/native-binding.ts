// Which compiled better-sqlite3 to load. On a desktop install the package's own build is rebuilt
// for Electron's ABI, and the postinstall keeps the Node build aside first
// (scripts/save-node-binding.js, whose savedNodeBindingPath this mirrors): plain Node loads that.
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

/**
 * The `nativeBinding` to open databases with: the kept Node build for this better-sqlite3 version
 * and this Node's ABI when running outside Electron and it exists, otherwise undefined (the
 * package's own build, which is what Electron and an install without Electron use).
 * `packageDir` is better-sqlite3's folder, found from here when left out.
 */
export function nodeNativeBinding(
  versions: NodeJS.ProcessVersions = process.versions,
  packageDir?: string | null,
): string | undefined {
  if (versions.electron) return undefined // Electron loads the package's build, rebuilt for it
  packageDir = packageDir === undefined ? betterSqliteDir() : packageDir
  if (!packageDir) return undefined
  try {
    const { version } = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as { version: string }
    const saved = join(dirname(packageDir), '.cache', 'lookalike', `better-sqlite3-${version}-node-abi-${versions.modules}`, 'better_sqlite3.node')
    return existsSync(saved) ? saved : undefined
  } catch {
    return undefined
  }
}

function betterSqliteDir(): string | null {
  try {
    return dirname(createRequire(import.meta.url).resolve('better-sqlite3/package.json'))
  } catch {
    return null
  }
}
