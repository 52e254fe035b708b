// The compute page's entry: tfjs with the WebGPU, WebGL and WebAssembly backends, waiting for the
// one MessagePort its host hands over (Electron: through the compute preload; tests and benchmarks:
// from the page's own script, driven by playwright).
import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-webgpu'
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm'
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url'
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url'
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url'
import { COMPUTE_PORT_MESSAGE } from '../core/compute/protocol.ts'
import { serveCompute } from './serve.ts'

tf.env().set('PROD', true)
// The wasm binaries are emitted beside the page by the build (CSP: 'self' only).
setWasmPaths({ 'tfjs-backend-wasm.wasm': wasmPlain, 'tfjs-backend-wasm-simd.wasm': wasmSimd, 'tfjs-backend-wasm-threaded-simd.wasm': wasmThreaded })

let connected = false
window.addEventListener('message', (event: MessageEvent) => {
  // Only this window (the preload's isolated world shares it) may hand over the port, once.
  if (connected || event.source !== window || event.data !== COMPUTE_PORT_MESSAGE || !event.ports[0]) return
  connected = true
  serveCompute(tf, event.ports[0] as unknown as Parameters<typeof serveCompute>[1])
})
