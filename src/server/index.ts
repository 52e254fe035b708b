// Web mode: the service over HTTP + WebSocket on 127.0.0.1, serving the built renderer.
// Every API, image and event request needs this launch's token; foreign Host/Origin headers
// are refused so a hostile page cannot reach the server through DNS rebinding.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import type { LookalikeService } from '../core/service/calls.ts'
import { clientGone, handleApi, sendJson } from './api.ts'
import { createEventSocket } from './events.ts'
import { baseHeaders, checkOrigin, checkToken, contentSecurityPolicy, newToken, type Refusal } from './guard.ts'
import { handleImage } from './images.ts'
import { defaultWebDir, notBuiltPage, serveStatic, webDirBuilt } from './static.ts'

export interface ServerOptions {
  service: LookalikeService
  /** 0 picks a free port. */
  port?: number
  /** The built renderer; default out/web. */
  webDir?: string
  /** Default: a fresh random token. */
  token?: string
}

export interface WebServer {
  /** http://127.0.0.1:P/?token=… — what a person opens. */
  readonly url: string
  readonly origin: string
  readonly port: number
  readonly token: string
  readonly webDir: string
  readonly webBuilt: boolean
  close(): Promise<void>
}

export const HOST = '127.0.0.1'

export async function startServer(options: ServerOptions): Promise<WebServer> {
  const { service } = options
  const token = options.token ?? newToken()
  const webDir = options.webDir ?? defaultWebDir()
  const webBuilt = webDirBuilt(webDir)
  let port = options.port ?? 0

  const refuse = (res: ServerResponse, refusal: Refusal) => sendJson(res, refusal.status, { error: { code: 'bad-request', message: refusal.message } }, baseHeaders)

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', `http://${HOST}:${port}`)
    const foreign = checkOrigin(req, port)
    if (foreign) return refuse(res, foreign)
    const path = url.pathname
    const needsToken = path.startsWith('/api/') || path.startsWith('/images/') || path === '/events'
    if (needsToken) {
      const denied = checkToken(req, url, token)
      if (denied) return refuse(res, denied)
    }
    if (path.startsWith('/api/')) return handleApi(req, res, service, path.slice('/api/'.length), baseHeaders)
    if (path.startsWith('/images/')) return handleImage(req, res, service, path, baseHeaders)
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return sendJson(res, 405, { error: { code: 'bad-request', message: `${req.method} is not allowed here` } }, { ...baseHeaders, Allow: 'GET, HEAD' })
    }
    const htmlHeaders = { 'Content-Security-Policy': contentSecurityPolicy(port), 'Cache-Control': 'no-store' }
    if (!webBuilt) {
      if (path !== '/') return sendJson(res, 404, { error: { code: 'not-found', message: 'Not found' } }, baseHeaders)
      const page = notBuiltPage(webDir)
      res.writeHead(200, { ...baseHeaders, ...htmlHeaders, 'Content-Type': 'text/html; charset=utf-8' })
      return void res.end(page)
    }
    if (await serveStatic(req, res, webDir, path, htmlHeaders, baseHeaders)) return
    sendJson(res, 404, { error: { code: 'not-found', message: 'Not found' } }, baseHeaders)
  }

  const server = createServer({ requestTimeout: 120_000, headersTimeout: 20_000 }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (clientGone(req, err)) return void res.destroy()
      console.error('lookalike serve:', err)
      if (!res.headersSent) sendJson(res, 500, { error: { code: 'internal', message: 'Internal error' } }, baseHeaders)
      else res.destroy()
    })
  })

  const events = createEventSocket(service)
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', `http://${HOST}:${port}`)
    const refusal = url.pathname !== '/events' ? { status: 404, message: 'Not found' } : (checkOrigin(req, port) ?? checkToken(req, url, token))
    if (refusal) {
      socket.end(`HTTP/1.1 ${refusal.status} ${refusal.status === 404 ? 'Not Found' : refusal.status === 401 ? 'Unauthorized' : 'Forbidden'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
      return
    }
    events.accept(req, socket, head)
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, HOST, () => {
      server.off('error', reject)
      resolve()
    })
  })
  port = (server.address() as AddressInfo).port
  const origin = `http://${HOST}:${port}`

  return {
    url: `${origin}/?token=${encodeURIComponent(token)}`,
    origin,
    port,
    token,
    webDir,
    webBuilt,
    async close() {
      events.close()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
