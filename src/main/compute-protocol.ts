// lookalike-compute://page/<file>: the compute page's own files (out/compute), served by a
// privileged scheme so the page is a secure context (WebGPU needs one) and can fetch its wasm
// binaries (file:// pages cannot). Nothing outside that folder is ever served.
import { resolve, sep } from 'node:path'

export const COMPUTE_SCHEME = 'lookalike-compute'
export const COMPUTE_PAGE_URL = `${COMPUTE_SCHEME}://page/index.html`

export const computeSchemePrivileges = { scheme: COMPUTE_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } }

export type ComputeFileAnswer = { file: string } | { status: number; message: string }

/** The file under `pageDir` a request names, or why none. */
export function resolveComputeRequest(method: string, url: string, pageDir: string): ComputeFileAnswer {
  if (method !== 'GET' && method !== 'HEAD') return { status: 405, message: `${method} is not allowed` }
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return { status: 400, message: 'not a URL' }
  }
  if (parsed.protocol !== `${COMPUTE_SCHEME}:` || parsed.hostname !== 'page' || parsed.port || parsed.username || parsed.search) {
    return { status: 400, message: `expected ${COMPUTE_SCHEME}://page/<file>` }
  }
  let path: string
  try {
    path = decodeURIComponent(parsed.pathname)
  } catch {
    return { status: 400, message: 'bad escape in path' }
  }
  const root = resolve(pageDir)
  const file = resolve(root, `.${path === '/' ? '/index.html' : path}`)
  if (!file.startsWith(root + sep)) return { status: 403, message: 'outside the compute page' }
  return { file }
}
