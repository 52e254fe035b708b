// app://lookalike/…: the renderer's own files, served from its build folder under a standard,
// secure scheme instead of file:// (where every page would share one origin with the whole disk).
// The same path rules as web mode's static files: nothing outside the folder, not through `..`,
// encoded separators or symlinks.
import { readFile } from 'node:fs/promises'
import { staticFile } from '../server/static.ts'
import { contentTypeOf } from '../server/files.ts'

export const APP_SCHEME = 'app'
export const APP_HOST = 'lookalike'
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`
export const APP_URL = `${APP_ORIGIN}/index.html`

/** Registered before app 'ready': a standard URL with an origin of its own, treated as secure. */
export const appSchemePrivileges = { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } }

export type AppAnswer = { file: string; headers: Record<string, string> } | { status: number; message: string }

/** Which file of `rendererDir` answers a request on the app scheme, or why none does. */
export async function resolveAppRequest(rendererDir: string, method: string, url: string): Promise<AppAnswer> {
  if (method !== 'GET' && method !== 'HEAD') return { status: 405, message: `${method} is not allowed` }
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return { status: 400, message: 'Not a URL' }
  }
  if (parsed.protocol !== `${APP_SCHEME}:` || parsed.host !== APP_HOST || parsed.username || parsed.password) return { status: 404, message: 'Not found' }
  const file = await staticFile(rendererDir, parsed.pathname)
  if (file === null) return { status: 404, message: 'Not found' }
  const type = contentTypeOf(file)
  // The page is never cached (a new build must not meet an old index.html); its assets carry hashes.
  const headers = { 'Content-Type': type, 'Cache-Control': type.startsWith('text/html') ? 'no-store' : 'no-cache', 'X-Content-Type-Options': 'nosniff' }
  return { file, headers }
}

/** The Response Electron's protocol handler returns for an answer. */
export async function appResponse(answer: AppAnswer): Promise<Response> {
  if ('file' in answer) return new Response(await readFile(answer.file), { status: 200, headers: answer.headers })
  return new Response(answer.message, { status: answer.status, headers: { 'Content-Type': 'text/plain; charset=utf-8' } })
}
