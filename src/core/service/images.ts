// Image files by photo id, never by path: the original must lie inside its library root (the
// photos repository's photoFile checks rel_path and symlinks), the thumbnail inside the thumbnail
// folder. A thumbnail missing from the cache (deleted by hand, or the whole folder) is made again
// from the original.
import { realpathSync } from 'node:fs'
import { ApiError } from '../../shared/contract.ts'
import { decodePhoto } from '../library/decode.ts'
import { saveThumbnail, thumbnailPath, thumbnailsCommitted } from '../library/thumbnails.ts'
import { isInside } from '../store/roots.ts'
import { photoFile, photoHash } from '../store/photos.ts'
import type { ImageSize } from './calls.ts'
import type { ServiceContext } from './context.ts'

export function imageFiles(ctx: ServiceContext): (photoId: number, size: ImageSize) => Promise<string> {
  const thumbRoot = realpathSync(ctx.thumbnailDir)
  /** One rebuild per content hash at a time: a grid asks for many thumbnails at once. */
  const rebuilding = new Map<string, Promise<void>>()

  const rebuild = (photoId: number, hash: string): Promise<void> => {
    let running = rebuilding.get(hash)
    if (!running) {
      running = (async () => {
        const original = photoFile(ctx.db, photoId)
        const decoded = await decodePhoto(original).catch(() => {
          throw new ApiError('not-found', `Photo ${photoId} has no thumbnail and its file can no longer be read`)
        })
        try {
          await saveThumbnail(ctx.thumbnailDir, hash, decoded.thumbnail)
        } finally {
          thumbnailsCommitted([hash]) // its photo's row is there already
        }
      })().finally(() => rebuilding.delete(hash))
      rebuilding.set(hash, running)
    }
    return running
  }

  const existing = (file: string): string | null => {
    try {
      return realpathSync(file)
    } catch {
      return null
    }
  }

  return async (photoId, size) => {
    if (!Number.isInteger(photoId) || photoId < 1) throw new ApiError('bad-request', `Not a photo id: ${photoId}`)
    if (size === 'full') return photoFile(ctx.db, photoId)
    if (size !== 'thumb') throw new ApiError('bad-request', `Image size must be 'thumb' or 'full', got ${String(size)}`)
    const hash = photoHash(ctx.db, photoId)
    if (hash === null) throw new ApiError('not-found', `Photo ${photoId} has no thumbnail yet`)
    const file = thumbnailPath(ctx.thumbnailDir, hash)
    let real = existing(file)
    if (real === null) {
      await rebuild(photoId, hash)
      real = existing(file)
      if (real === null) throw new ApiError('not-found', `Photo ${photoId} has no thumbnail yet`)
    }
    if (!isInside(thumbRoot, real)) throw new ApiError('not-found', `Thumbnail of photo ${photoId} lies outside the thumbnail folder`)
    return real
  }
}
