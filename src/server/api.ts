// POST /api/<method> with a JSON body → { result } or { error: { code, message } }.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { ApiError } from '../shared/contract.ts'
import { callService, httpStatusFor, toWireError, type LookalikeService } from '../core/service/calls.ts'

/** Body caps: a dropped image travels base64 in similarToImage; every other call is small. */
export const BODY_LIMIT = 1024 * 1024
export const IMAGE_BODY_LIMIT = 96 * 1024 * 1024

export function bodyLimitFor(method: string): number {
  return method === 'similarToImage' ? IMAGE_BODY_LIMIT : BODY_LIMIT
}

export class BodyTooLarge extends Error {}

export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0)
  if (declared > limit) throw new BodyTooLarge()
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > limit) throw new BodyTooLarge()
    chunks.push(chunk)
  }
  return Buffer.concat(chunks)
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string>): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { ...headers, 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Length': String(Buffer.byteLength(text)) })
  res.end(text)
}

export async function handleApi(req: IncomingMessage, res: ServerResponse, service: LookalikeService, method: string, headers: Record<string, string>): Promise<void> {
  if (req.method !== 'POST') {
    sendJson(res, 405, { error: { code: 'bad-request', message: `Use POST for /api/${method}` } }, { ...headers, Allow: 'POST' })
    return
  }
  try {
    const type = req.headers['content-type'] ?? ''
    // A JSON content type forces a CORS preflight, which foreign pages never pass.
    if (!type.toLowerCase().startsWith('application/json')) throw new ApiError('bad-request', 'Send the arguments as JSON (Content-Type: application/json)')
    let body: Buffer
    try {
      body = await readBody(req, bodyLimitFor(method))
    } catch (err) {
      if (!(err instanceof BodyTooLarge)) throw err
      sendJson(res, 413, { error: { code: 'bad-request', message: `Request body too large for ${method} (limit ${bodyLimitFor(method)} bytes)` } }, { ...headers, Connection: 'close' })
      req.resume()
      return
    }
    let input: unknown = {}
    if (body.length > 0) {
      try {
        input = JSON.parse(body.toString('utf8'))
      } catch {
        throw new ApiError('bad-request', `Body of /api/${method} is not valid JSON`)
      }
    }
    const result = await callService(service, method, input)
    sendJson(res, 200, { result: result ?? null }, headers)
  } catch (err) {
    if (clientGone(req, err)) return
    const error = toWireError(err)
    sendJson(res, httpStatusFor[error.code], { error }, headers)
  }
}

/** The client closed the connection before the request was read: nobody to answer, nothing to log. */
export function clientGone(req: IncomingMessage, err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code
  return req.destroyed && (code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE' || (err as Error | null)?.message === 'aborted')
}
