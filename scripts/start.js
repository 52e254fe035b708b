// `npm start`: build and open the desktop window, or explain in one line why it cannot.
import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { electronBinary } from './electron-binary.js'

const require = createRequire(import.meta.url)

if (!electronBinary()) {
  console.error(
    'Lookalike: the Electron binary is not installed (its download failed or was skipped) — run `npm install electron` on a networked machine, or use web mode: `npm run build:web && npx lookalike serve --port 5178`.',
  )
  process.exit(1)
}

const child = spawn(process.execPath, [require.resolve('electron-vite/bin/electron-vite.js'), 'preview', ...process.argv.slice(2)], {
  stdio: 'inherit',
})
child.on('exit', (code) => process.exit(code ?? 0))
