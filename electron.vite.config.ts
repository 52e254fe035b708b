// Desktop build (`npm run build` → out/main, out/preload, out/renderer), electron-vite's layout.
// Native and heavy modules (better-sqlite3, sharp, tfjs, chokidar) stay external: they load from
// node_modules at run time, rebuilt for Electron's ABI by electron-builder.
import { existsSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { defineConfig } from 'electron-vite'
import { svelte } from '@sveltejs/vite-plugin-svelte'
import type { Plugin } from 'vite'

const root = import.meta.dirname

// Where Electron's download failed its package is absent, and electron-vite reads only its major
// version from it (for build targets): take it from the version range package.json asks for.
if (!process.env.ELECTRON_MAJOR_VER) {
  const pkg = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8'))
  const range: string = pkg.optionalDependencies?.electron ?? pkg.devDependencies?.electron ?? ''
  const installed = resolve(root, 'node_modules/electron/package.json')
  const version: string = existsSync(installed) ? JSON.parse(readFileSync(installed, 'utf8')).version : range.replace(/^[^\d]*/, '')
  process.env.ELECTRON_MAJOR_VER = version.split('.')[0]
}

/**
 * electron-vite prepends `const require = createRequire(import.meta.url)` to every ES chunk that
 * calls require(); a module that declares its own top-level `require` the same way (the backbone
 * loader does) would then declare it twice and the chunk would not load. Both are the chunk's
 * createRequire(import.meta.url), so the module's own copy is dropped, whichever runs first.
 */
function oneRequirePerChunk(): Plugin {
  const ownRequire = /^(?:var|let|const) require = createRequire\(import\.meta\.url\);\n/gm
  return {
    name: 'lookalike:one-require-per-chunk',
    enforce: 'post',
    renderChunk(code) {
      const deduplicated = code.replace(ownRequire, '')
      return deduplicated === code ? null : { code: deduplicated, map: null }
    },
  }
}

export default defineConfig({
  main: {
    plugins: [oneRequirePerChunk()],
    build: {
      outDir: resolve(root, 'out/main'),
      rollupOptions: {
        input: {
          index: resolve(root, 'src/main/index.ts'),
          // The embedder's worker thread is loaded by URL (`./embed-worker.js` beside the pool's code).
          'embed-worker': resolve(root, 'src/core/embed/embed-worker.ts'),
        },
        output: {
          format: 'es',
          entryFileNames: '[name].js',
          // Chunks sit beside the entries so `new URL('./embed-worker.js', import.meta.url)` resolves.
          chunkFileNames: '[name]-[hash].js',
        },
      },
    },
  },
  preload: {
    build: {
      outDir: resolve(root, 'out/preload'),
      // A sandboxed preload can require only 'electron': bundle everything else (zod, the contract).
      externalizeDeps: false,
      rollupOptions: {
        // compute: the compute page's preload (hands it the MessagePort main talks over).
        input: { index: resolve(root, 'src/preload/index.ts'), compute: resolve(root, 'src/preload/compute.ts') },
        external: ['electron'],
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: resolve(root, 'src/renderer'),
    plugins: [svelte()],
    build: {
      outDir: resolve(root, 'out/renderer'),
      minify: true,
      rollupOptions: { input: { index: resolve(root, 'src/renderer/index.html') } },
    },
  },
})
