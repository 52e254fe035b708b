// The renderer built for web mode (`npm run build:web` → out/web), served by `lookalike serve`.
// Same source as the desktop renderer; the transport is picked at runtime (see src/renderer/src/api.ts).
import { resolve } from 'node:path'
import { defineConfig } from 'vite'
import { svelte } from '@sveltejs/vite-plugin-svelte'

export default defineConfig({
  root: resolve(import.meta.dirname, 'src/renderer'),
  base: './',
  plugins: [svelte()],
  build: {
    outDir: resolve(import.meta.dirname, 'out/web'),
    emptyOutDir: true,
    target: 'es2022',
    reportCompressedSize: false,
  },
})
