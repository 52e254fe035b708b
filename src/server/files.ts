// Sends a file from disk: content type by extension, ETag revalidation, HEAD support.
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { pipeline } from 'node:stream/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { extname } from 'node:path'

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.gif': 'image/gif',
  '.avif': 'image/avif',
  '.tif': 'image/tiff',
  '.tiff': 'image/tiff',
  '.bmp': 'image/bmp',
  '.heic': 'image/heic',
}

export function contentTypeOf(file: string): string {
  return contentTypes[extname(file).toLowerCase()] ?? 'application/octet-stream'
}

/** Streams `file`; answers 304 when the browser's copy is current. Returns false if it is not a regular file. */
export async function sendFile(req: IncomingMessage, res: ServerResponse, file: string, headers: Record<string, string>): Promise<boolean> {
  const info = await stat(file).catch(() => null)
  if (!info?.isFile()) return false
  const etag = `"${info.size.toString(36)}-${Math.floor(info.mtimeMs).toString(36)}"`
  // Revalidated by ETag unless the caller says otherwise (HTML pages: no-store).
  const common = { 'Cache-Control': 'no-cache', ...headers, ETag: etag }
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, common).end()
    return true
  }
  res.writeHead(200, { ...common, 'Content-Type': contentTypeOf(file), 'Content-Length': String(info.size) })
  if (req.method === 'HEAD') {
    res.end()
    return true
  }
  // A read error or a client that leaves mid-file ends the response; neither is the server's fault.
  await pipeline(createReadStream(file), res).catch(() => res.destroy())
  return true
}
