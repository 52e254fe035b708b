// postinstall: rebuild native modules (better-sqlite3, sharp) for Electron's ABI — but only where
// the Electron binary actually installed. On build machines its download fails; then the modules
// stay built for Node (what the CLI, web mode and tests use) and npm install still exits 0.
// Before the rebuild, better-sqlite3's Node build is kept aside (save-node-binding.js), and the
// Node-side tools load that copy, so the CLI, web mode, tests and the desktop app all work at once.
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { electronBinary } from './electron-binary.js'
import { saveNodeBinding } from './save-node-binding.js'

const require = createRequire(import.meta.url)

// CI runs the Node test suite, which needs the Node build of better-sqlite3: never switch it there.
if (process.env.CI || process.env.LOOKALIKE_SKIP_APP_DEPS) process.exit(0)
if (!electronBinary()) {
  console.log('lookalike: Electron binary absent, native modules stay built for Node (desktop packaging needs a networked machine).')
  process.exit(0)
}

let builder
try {
  builder = require.resolve('electron-builder/cli.js')
} catch {
  console.log('lookalike: electron-builder is not installed; skipping the native rebuild for Electron.')
  process.exit(0)
}
const kept = saveNodeBinding()
if (kept.saved) console.log(`lookalike: kept better-sqlite3's Node build for the CLI, web mode and tests (${kept.saved}).`)
else console.warn(`lookalike: could not keep better-sqlite3's Node build (${kept.reason}); after the Electron rebuild the CLI, web mode and tests need \`npm run rebuild:node\`.`)
const run = spawnSync(process.execPath, [builder, 'install-app-deps'], { stdio: 'inherit' })
if (run.status !== 0) console.warn('lookalike: rebuilding native modules for Electron failed; the desktop app may not start until `npx electron-builder install-app-deps` succeeds.')
process.exit(0)
