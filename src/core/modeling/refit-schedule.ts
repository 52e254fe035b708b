// When the library's unsupervised model is fitted again, and on what. A model fitted on a library's
// first photos (a first folder, a first watcher batch) describes it poorly once the library has
// doubled, so it is refitted at every doubling since its fit: fitted on 1,000 photos, it is refitted
// at 2,000, then at 4,000, and so on. A model fitted on a million photos or more has seen enough of
// any library and is kept. Pure: the counts come from the caller.

/** A model fitted on at least this many photos is never refitted. */
export const REFIT_LIMIT = 1_000_000

/** The most features a fit reads: a larger library trains on a sample, so memory stays bounded. */
export const TRAINING_SAMPLE = 100_000

/**
 * Whether a model fitted on `trainedOn` photos is due for a refit now that the library holds `photos`:
 * the library has doubled since the fit, and the fit saw fewer than REFIT_LIMIT photos. A model
 * fitted on nothing (trainedOn 0) is due as soon as there is a photo.
 */
export function refitDue(trainedOn: number, photos: number): boolean {
  if (trainedOn >= REFIT_LIMIT) return false
  if (trainedOn <= 0) return photos > 0
  return photos >= 2 * trainedOn
}

/**
 * The photos a fit trains on: all of them up to `max`, else `max` of them spread evenly over the
 * given order. Content hashes in hash order are in no meaningful order, so that is a fair sample,
 * and the same library always gives the same one.
 */
export function trainingSample<T>(items: readonly T[], max = TRAINING_SAMPLE): T[] {
  if (!(max >= 1)) throw new Error(`A training sample holds at least one item, got ${max}`)
  if (items.length <= max) return items.slice()
  const out: T[] = []
  for (let i = 0; i < max; i++) out.push(items[Math.floor((i * items.length) / max)])
  return out
}
