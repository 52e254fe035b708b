// lookalike://thumb/<id> and lookalike://full/<id>: images by photo id. The service resolves the id
// and refuses anything outside the library roots / thumbnail folder; a path never enters a URL.
import type { ImageSize, LookalikeService } from '../core/service.ts'
import { httpStatusFor, toWireError } from '../core/service.ts'

export const IMAGE_SCHEME = 'lookalike'

/** Privileges the scheme needs before app 'ready': standard URLs, fetchable, treated as secure. */
export const imageSchemePrivileges = { scheme: IMAGE_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, stream: true } }

export interface ImageRequest {
  photoId: number
  size: ImageSize
}

/** Parses `lookalike://thumb/12`; anything else (paths, queries, other hosts, ids ≤ 0) is null. */
export function parseImageUrl(url: string): ImageRequest | null {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return null
  }
  if (parsed.protocol !== `${IMAGE_SCHEME}:` || parsed.search || parsed.hash || parsed.username || parsed.port) return null
  if (parsed.hostname !== 'thumb' && parsed.hostname !== 'full') return null
  const match = /^\/([1-9]\d{0,15})\/?$/.exec(parsed.pathname)
  if (!match) return null
  const photoId = Number(match[1])
  return Number.isSafeInteger(photoId) ? { photoId, size: parsed.hostname } : null
}

export type ImageAnswer = { file: string } | { status: number; message: string }

/** Which file answers a protocol request, or why none does. */
export async function resolveImageRequest(service: Pick<LookalikeService, 'imageFile'>, method: string, url: string): Promise<ImageAnswer> {
  if (method !== 'GET' && method !== 'HEAD') return { status: 405, message: `${method} is not allowed` }
  const request = parseImageUrl(url)
  if (!request) return { status: 400, message: 'Expected lookalike://thumb/<id> or lookalike://full/<id>' }
  try {
    return { file: await service.imageFile(request.photoId, request.size) }
  } catch (err) {
    const wire = toWireError(err)
    return { status: httpStatusFor[wire.code], message: wire.message }
  }
}
