// Image files by photo id, never by path: the original must lie inside its library root (the
// photos repository's photoFile checks rel_path and symlinks), the thumbnail inside the thumbnail folder.
import { realpathSync } from 'node:fs'
import { ApiError } from '../../shared/contract.ts'
import { isInside } from '../store/roots.ts'
import { photoFile } from '../store/photos.ts'
import type { ImageSize } from './calls.ts'
import type { ServiceContext } from './context.ts'

export function imageFiles(ctx: ServiceContext, thumbnailOf: (photoId: number) => string | null): (photoId: number, size: ImageSize) => Promise<string> {
  const thumbRoot = realpathSync(ctx.thumbnailDir)
  return async (photoId, size) => {
    if (!Number.isInteger(photoId) || photoId < 1) throw new ApiError('bad-request', `Not a photo id: ${photoId}`)
    if (size === 'full') return photoFile(ctx.db, photoId)
    if (size !== 'thumb') throw new ApiError('bad-request', `Image size must be 'thumb' or 'full', got ${String(size)}`)
    const file = thumbnailOf(photoId)
    if (file === null) throw new ApiError('not-found', `Photo ${photoId} has no thumbnail yet`)
    let real: string
    try {
      real = realpathSync(file)
    } catch {
      throw new ApiError('not-found', `Photo ${photoId} has no thumbnail yet`)
    }
    if (!isInside(thumbRoot, real)) throw new ApiError('not-found', `Thumbnail of photo ${photoId} lies outside the thumbnail folder`)
    return real
  }
}
