// When Retrain makes sense. Mirrors the service's rule so the button is never enabled in vain.
import type { Album } from '../../../shared/types.ts'

export const RETRAIN_MIN_ALBUMS = 2
export const RETRAIN_MIN_PHOTOS = 5

export function canRetrain(albums: Album[]): boolean {
  return albums.filter((a) => a.photos >= RETRAIN_MIN_PHOTOS).length >= RETRAIN_MIN_ALBUMS
}

/** What the disabled Retrain button tells the user to do next. */
export function retrainHint(albums: Album[]): string {
  const ready = albums.filter((a) => a.photos >= RETRAIN_MIN_PHOTOS).length
  if (ready >= RETRAIN_MIN_ALBUMS) return 'Teach Lookalike what "similar" means from your albums'
  const missing = RETRAIN_MIN_ALBUMS - ready
  return `Needs ${missing} more album${missing > 1 ? 's' : ''} with at least ${RETRAIN_MIN_PHOTOS} photos`
}
