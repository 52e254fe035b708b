// The compute page (`out/compute`): tfjs on WebGPU / WebGL / wasm in a page with no UI. The desktop
// app loads it in a hidden window; tests and `bench --compute chromium` load it in Chromium.
import { resolve } from 'node:path'
import { defineConfig } from 'vite'

export default defineConfig({
  root: resolve(import.meta.dirname, 'src/compute'),
  base: './',
  build: {
    outDir: resolve(import.meta.dirname, 'out/compute'),
    emptyOutDir: true,
    target: 'es2022',
    reportCompressedSize: false,
    // The wasm binaries stay files (never inlined as data: URLs, which the CSP refuses).
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 4096,
  },
})
