// Who may talk to web mode: only pages served by this server (Host and Origin must name it,
// which defeats DNS rebinding), and only with this launch's token.
import { randomBytes, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

export function newToken(): string {
  return randomBytes(32).toString('base64url')
}

/** The host names this server answers to, for a given port. */
export function allowedHosts(port: number): Set<string> {
  return new Set([`127.0.0.1:${port}`, `localhost:${port}`])
}

export type Refusal = { status: number; message: string }

/** Host must be ours; Origin, when a browser sends one, must be ours too. */
export function checkOrigin(req: IncomingMessage, port: number): Refusal | null {
  const hosts = allowedHosts(port)
  const host = (req.headers.host ?? '').toLowerCase()
  if (!hosts.has(host)) return { status: 403, message: `Foreign Host header refused: ${host || '(none)'}` }
  const origin = req.headers.origin
  if (origin !== undefined) {
    let originHost: string | null = null
    try {
      const url = new URL(origin)
      if (url.protocol === 'http:') originHost = url.host.toLowerCase()
    } catch {
      // "null" or garbage: refused below
    }
    if (originHost === null || !hosts.has(originHost)) return { status: 403, message: `Foreign Origin refused: ${origin}` }
  }
  return null
}

/** The token from `Authorization: Bearer …` or `?token=…`. */
export function requestToken(req: IncomingMessage, url: URL): string | null {
  const auth = req.headers.authorization
  if (auth?.startsWith('Bearer ')) return auth.slice('Bearer '.length).trim()
  return url.searchParams.get('token')
}

export function checkToken(req: IncomingMessage, url: URL, token: string): Refusal | null {
  const given = requestToken(req, url)
  if (given === null) return { status: 401, message: 'Missing token: open the URL printed by `lookalike serve`' }
  const a = Buffer.from(given)
  const b = Buffer.from(token)
  if (a.length !== b.length || !timingSafeEqual(a, b)) return { status: 401, message: 'Wrong token: open the URL printed by `lookalike serve`' }
  return null
}

/** Strict CSP for the renderer's HTML: only this origin's scripts, no frames, no plugins. */
export function contentSecurityPolicy(port: number): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    // Svelte sets style attributes (virtualized grid positions); inline styles carry no script.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    `connect-src 'self' ws://127.0.0.1:${port} ws://localhost:${port}`,
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ')
}

/** Headers every response carries. */
export const baseHeaders: Record<string, string> = {
  'X-Content-Type-Options': 'nosniff',
  // The token travels in URLs: never leak it to another site.
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Resource-Policy': 'same-origin',
}
