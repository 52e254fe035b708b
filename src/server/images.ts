// GET /images/thumb/<id> and /images/full/<id>: by photo id only; the service decides which
// file that is and refuses anything outside the library roots and the thumbnail folder.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { httpStatusFor, toWireError, type ImageSize, type LookalikeService } from '../core/service/calls.ts'
import { sendFile } from './files.ts'
import { sendJson } from './api.ts'

const route = /^\/images\/(thumb|full)\/([1-9][0-9]{0,15})$/

export function parseImagePath(path: string): { size: ImageSize; photoId: number } | null {
  const m = route.exec(path)
  return m ? { size: m[1] as ImageSize, photoId: Number(m[2]) } : null
}

export async function handleImage(req: IncomingMessage, res: ServerResponse, service: LookalikeService, path: string, headers: Record<string, string>): Promise<void> {
  const wanted = parseImagePath(path)
  if (!wanted) {
    sendJson(res, 404, { error: { code: 'not-found', message: 'Images are addressed as /images/thumb/<id> or /images/full/<id>' } }, headers)
    return
  }
  try {
    const file = await service.imageFile(wanted.photoId, wanted.size)
    // An image is only ever an image: nothing in it may run as a page of this origin.
    const imageHeaders = { ...headers, 'Content-Security-Policy': "default-src 'none'; sandbox" }
    if (!(await sendFile(req, res, file, imageHeaders))) sendJson(res, 404, { error: { code: 'not-found', message: `Image file of photo ${wanted.photoId} is missing` } }, headers)
  } catch (err) {
    const error = toWireError(err)
    sendJson(res, httpStatusFor[error.code], { error }, headers)
  }
}
