// The built renderer (`npm run build:web` → out/web). Only files below that folder, never
// through `..`, encoded separators or symlinks that lead out of it.
import { existsSync, realpathSync } from 'node:fs'
import { realpath } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { join, resolve, sep } from 'node:path'
import { contentTypeOf, sendFile } from './files.ts'

export function defaultWebDir(): string {
  return resolve(import.meta.dirname, '..', '..', 'out', 'web')
}

export function webDirBuilt(dir: string): boolean {
  return existsSync(join(dir, 'index.html'))
}

/** Maps a URL path to a file inside `root`, or null when it would step outside. */
export async function staticFile(root: string, urlPath: string): Promise<string | null> {
  let rel: string
  try {
    rel = decodeURIComponent(urlPath)
  } catch {
    return null
  }
  if (rel.includes('\0') || rel.includes('\\')) return null
  const parts = rel.split('/').filter((p) => p !== '')
  if (parts.some((p) => p === '..' || p === '.')) return null
  if (parts.length === 0) parts.push('index.html')
  const realRoot = realpathSync(root)
  const real = await realpath(join(realRoot, ...parts)).catch(() => null)
  if (real === null || !real.startsWith(realRoot + sep)) return null
  return real
}

export async function serveStatic(req: IncomingMessage, res: ServerResponse, root: string, urlPath: string, htmlHeaders: Record<string, string>, headers: Record<string, string>): Promise<boolean> {
  const file = await staticFile(root, urlPath)
  if (file === null) return false
  const isHtml = contentTypeOf(file).startsWith('text/html')
  return sendFile(req, res, file, isHtml ? { ...headers, ...htmlHeaders } : headers)
}

/** What `/` shows when the renderer has not been built. */
export function notBuiltPage(dir: string): string {
  return `<!doctype html><meta charset="utf-8"><title>Lookalike</title><p>The web UI is not built (no <code>${escapeHtml(dir)}/index.html</code>). Run <code>npm run build:web</code>, then restart <code>lookalike serve</code>. The API answers meanwhile.</p>`
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}
