// What the browser says about the graphics adapter behind each backend. Software rasterisers
// compute correctly but slowly: the host routes work here only when `fallback` is false.
import type { ComputeAdapter, ComputeBackendName } from '../core/compute/protocol.ts'

/** Renderer strings of software rasterisers (Chromium's SwiftShader, Mesa's llvmpipe, Windows' WARP). */
const SOFTWARE_RENDERER = /swiftshader|llvmpipe|softpipe|software|basic render|warp/i

interface GpuAdapterInfoLike {
  vendor?: string
  architecture?: string
  device?: string
  description?: string
  isFallbackAdapter?: boolean
}
interface GpuAdapterLike {
  info?: GpuAdapterInfoLike
  isFallbackAdapter?: boolean
}
interface NavigatorGpu {
  gpu?: { requestAdapter(options?: { powerPreference?: string }): Promise<GpuAdapterLike | null> }
}

/** The adapter `name` runs on, or null where there is none (wasm) or it cannot be asked. */
export async function adapterOf(name: ComputeBackendName): Promise<ComputeAdapter | null> {
  if (name === 'webgpu') return webgpuAdapter()
  if (name === 'webgl') return webglAdapter()
  return null
}

async function webgpuAdapter(): Promise<ComputeAdapter | null> {
  // The same request tfjs-backend-webgpu makes (high performance unless told otherwise).
  const adapter = await (navigator as NavigatorGpu).gpu?.requestAdapter({ powerPreference: 'high-performance' })
  if (!adapter) return null
  const info = adapter.info ?? {}
  // Chromium reports the flag on info (older builds: on the adapter).
  const flagged = info.isFallbackAdapter ?? adapter.isFallbackAdapter ?? false
  const description = info.description || info.device || ''
  const software = flagged || SOFTWARE_RENDERER.test(`${info.architecture ?? ''} ${description}`)
  return { vendor: info.vendor ?? '', architecture: info.architecture ?? '', description, fallback: software }
}

function webglAdapter(): ComputeAdapter | null {
  const gl = document.createElement('canvas').getContext('webgl2')
  if (!gl) return null
  const debug = gl.getExtension('WEBGL_debug_renderer_info')
  const vendor = String(debug ? gl.getParameter(debug.UNMASKED_VENDOR_WEBGL) : gl.getParameter(gl.VENDOR))
  const renderer = String(debug ? gl.getParameter(debug.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER))
  gl.getExtension('WEBGL_lose_context')?.loseContext()
  return { vendor, architecture: '', description: renderer, fallback: SOFTWARE_RENDERER.test(renderer) }
}
