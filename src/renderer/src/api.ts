// The renderer's one door to the engine: `window.lookalike` on the desktop (preload), else the
// same contract over HTTP/WebSocket with the per-launch token from the URL.
import type { LookalikeApi } from '../../shared/contract.ts'
import { createWebApi } from '../../shared/web-client.ts'

declare global {
  interface Window {
    lookalike?: LookalikeApi
  }
}

const TOKEN_KEY = 'lookalike.token'

export function connect(): LookalikeApi {
  if (window.lookalike) return window.lookalike
  const url = new URL(location.href)
  const token = url.searchParams.get('token') ?? sessionStorage.getItem(TOKEN_KEY) ?? ''
  // Keep the token out of the address bar (and screenshots) but survive a reload of this tab.
  if (url.searchParams.has('token')) {
    sessionStorage.setItem(TOKEN_KEY, token)
    url.searchParams.delete('token')
    history.replaceState(null, '', url)
  }
  return createWebApi(location.origin, token)
}

/** A thrown value as one line for the user. */
export function errorMessage(err: unknown): string {
  if (err && typeof err === 'object' && 'message' in err) return String((err as { message: unknown }).message)
  return String(err)
}
