import { homedir } from 'node:os'
import { join } from 'node:path'

/** The OS's per-user app-data folder for Lookalike (what Electron calls userData). */
export function appDataDir(): string {
  if (process.env.LOOKALIKE_HOME) return process.env.LOOKALIKE_HOME
  const home = homedir()
  switch (process.platform) {
    case 'win32':
      return join(process.env.APPDATA ?? join(home, 'AppData', 'Roaming'), 'Lookalike')
    case 'darwin':
      return join(home, 'Library', 'Application Support', 'Lookalike')
    default:
      return join(process.env.XDG_CONFIG_HOME ?? join(home, '.config'), 'Lookalike')
  }
}

export function defaultDbPath(): string {
  return join(appDataDir(), 'library.sqlite')
}

/** Thumbnails live beside the library file, never in the photo folders. */
export function thumbnailDirFor(dbFile: string): string {
  return dbFile === ':memory:' ? join(appDataDir(), 'thumbnails') : `${dbFile}.thumbnails`
}
