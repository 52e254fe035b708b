// The contract over HTTP + WebSocket (web mode), for the browser. No Node imports: the renderer
// uses it whenever the Electron preload is absent. Errors come back as ApiError, like on IPC.
import { ApiError, methods, type ApiErrorCode, type LookalikeApi, type Method } from './contract.ts'
import type { LibraryEvent } from './types.ts'

/** The WebSocket constructor shape we use (the browser's, or `ws` in Node tests). */
type SocketLike = {
  onopen: ((ev: unknown) => void) | null
  onmessage: ((ev: { data: unknown }) => void) | null
  onclose: ((ev: unknown) => void) | null
  onerror: ((ev: unknown) => void) | null
  close(): void
}
type SocketConstructor = new (url: string) => SocketLike

export interface WebApiOptions {
  fetch?: typeof fetch
  WebSocket?: SocketConstructor
  /** First reconnect delay, ms; doubles up to 10 s. */
  reconnectMs?: number
}

const MAX_RECONNECT_MS = 10_000

export function createWebApi(baseUrl: string, token: string, options: WebApiOptions = {}): LookalikeApi & { close(): void } {
  const base = baseUrl.replace(/\/+$/, '')
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis)
  const Socket = options.WebSocket ?? (globalThis as unknown as { WebSocket: SocketConstructor }).WebSocket
  const firstDelay = options.reconnectMs ?? 500

  async function call(method: Method, input: unknown): Promise<unknown> {
    let response: Response
    try {
      response = await doFetch(`${base}/api/${method}`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(input ?? {}),
      })
    } catch (err) {
      throw new ApiError('unavailable', `Lookalike is not reachable at ${base}: ${(err as Error).message}`)
    }
    let body: { result?: unknown; error?: { code: ApiErrorCode; message: string } }
    try {
      body = (await response.json()) as typeof body
    } catch {
      throw new ApiError('internal', `Unexpected answer from ${base} (HTTP ${response.status})`)
    }
    if (body.error) throw new ApiError(body.error.code, body.error.message)
    if (!response.ok) throw new ApiError('internal', `HTTP ${response.status} from ${base}`)
    return body.result ?? null
  }

  // One socket, opened with the first listener, reconnected with backoff while anyone listens.
  const listeners = new Set<(event: LibraryEvent) => void>()
  let socket: SocketLike | null = null
  let retry: ReturnType<typeof setTimeout> | null = null
  let delay = firstDelay
  let closed = false
  let reconnecting = false

  function emit(event: LibraryEvent) {
    for (const listener of [...listeners]) listener(event)
  }

  function connect() {
    if (closed || socket || listeners.size === 0) return
    if (!Socket) throw new Error('createWebApi: no WebSocket in this environment; pass options.WebSocket (e.g. the ws package)')
    const ws = new Socket(`${base.replace(/^http/, 'ws')}/events?token=${encodeURIComponent(token)}`)
    socket = ws
    ws.onopen = () => {
      // After a gap the page may have missed changes: tell it to refresh.
      if (reconnecting) emit({ type: 'library-changed' })
      reconnecting = false
      delay = firstDelay
    }
    ws.onmessage = (ev) => {
      try {
        emit(JSON.parse(String(ev.data)) as LibraryEvent)
      } catch {
        // not an event: ignore
      }
    }
    ws.onerror = () => {}
    ws.onclose = () => {
      if (socket === ws) socket = null
      if (closed || listeners.size === 0) return
      reconnecting = true
      retry = setTimeout(() => {
        retry = null
        connect()
      }, delay)
      delay = Math.min(delay * 2, MAX_RECONNECT_MS)
    }
  }

  function disconnect() {
    if (retry) clearTimeout(retry)
    retry = null
    const ws = socket
    socket = null
    ws?.close()
  }

  const api = Object.fromEntries(methods.map((m) => [m, (input: unknown) => call(m, input)])) as unknown as LookalikeApi
  return Object.assign(api, {
    transport: 'web' as const,
    imageUrl(photoId: number, size: 'thumb' | 'full') {
      return `${base}/images/${size}/${photoId}?token=${encodeURIComponent(token)}`
    },
    onEvent(listener: (event: LibraryEvent) => void) {
      listeners.add(listener)
      connect()
      return () => {
        listeners.delete(listener)
        if (listeners.size === 0) disconnect()
      }
    },
    close() {
      closed = true
      listeners.clear()
      disconnect()
    },
  })
}
