// When Retrain can learn from the albums: one rule for the Retrain button, the service and the CLI,
// so the button is never enabled in vain and every refusal reads the same.

export const RETRAIN_MIN_ALBUMS = 2
export const RETRAIN_MIN_PHOTOS = 5

/** Why Retrain cannot run with these albums yet, in the words the user sees; null when it can. */
export function retrainRefusal(albums: readonly { photos: number }[]): string | null {
  const ready = albums.filter((a) => a.photos >= RETRAIN_MIN_PHOTOS).length
  if (ready >= RETRAIN_MIN_ALBUMS) return null
  const missing = RETRAIN_MIN_ALBUMS - ready
  return `Retrain needs ${missing} more album${missing > 1 ? 's' : ''} with at least ${RETRAIN_MIN_PHOTOS} photos`
}
