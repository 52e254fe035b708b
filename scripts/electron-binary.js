// Where the Electron binary is, or null when its download failed or was skipped.
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)

export function electronBinary() {
  try {
    const path = require('electron') // the package's main export is the binary's path
    return typeof path === 'string' && existsSync(path) ? path : null
  } catch {
    return null
  }
}
