// The duplicate finder's settings. Thresholds are scores (feature cosines, lifted by close
// perceptual hashes), measured by `npx tsx bench/duplicates.ts` on variants of real photos among
// distinct ones (README "Duplicates"): rerun it, and pick again, whenever the stored feature, the
// candidate settings or the hash rule change.
import type { DuplicateTier } from '../../shared/types.ts'
import type { HashRule } from './confirm.ts'

/**
 * Duplicates: the lowest score with pair precision ≥ 0.99 in the benchmark. Similar shots: the
 * lowest with pair precision ≥ 0.5 against the duplicate truth, so that look-alike shots join while
 * groups stay mostly copies (the benchmark has no burst truth to aim at). A score is the cosine of
 * the whitened region feature (256-d, the whole photo letterboxed), lifted where perceptual hashes
 * agree (HASH_RULE). A copy's median cosine to its original is 0.94–1 (a 25 % resize to about
 * 100 px: 0.90, which the hash lifts), and distinct photos of one setting reach up to 0.95, most of
 * them below 0.9.
 */
export const DEFAULT_THRESHOLDS: Record<DuplicateTier, number> = { duplicates: 0.902, similar: 0.849 }

/**
 * The lowest threshold the slider offers; pairs below it are not kept. Below every copy the
 * benchmark makes (its weakest, a 25 % resize, reaches 0.64), and low enough for the burst bonus
 * to lift a pair onto the similar tier; lower, groups are mostly unrelated photos.
 */
export const THRESHOLD_FLOOR = 0.6

/**
 * Candidates per photo, and the code length (blocks of 8 bits) they are found at. At 10, photos
 * with a dozen copies lost some crops to their siblings; at 15, with codes blended with each
 * photo's neighbours (modeling/neighbours.ts), 1.6 % of copy pairs were missed (crops of four
 * originals). 20 finds every pair the cosine keeps, for 15 % more candidate time.
 */
export const CANDIDATES = { k: 20, blocks: 2 }

/**
 * Perceptual hashes at most maxDistance bits apart (of 64) make a pair a candidate and shrink its
 * 1 − cosine to `shrink` of it, so such a pair joins the duplicates (0.902) from a cosine of
 * 1 − 0.098 / 0.4 = 0.755. In the benchmark a re-saved, resized or edited copy's hash is 0–4 bits
 * from its original's (95th percentile; at most 8) and a crop's 4–36 (the cosine finds those),
 * while of 780,625 pairs of distinct photos none is within 4 bits, one within 6 and 13 within 8.
 * A 25 % resize (median cosine 0.90) is then grouped every time instead of 69 %, at a higher pair
 * precision (0.992 against 0.990). Shrinking to 0.5 groups 98.8 % of them; within 2 bits finds
 * 99.6 %, within 6 no more than within 4 (and costs more).
 */
export const HASH_RULE: HashRule = { maxDistance: 4, shrink: 0.4 }

/** Similar shots: EXIF capture times this close lift a pair's cosine by BURST_BONUS. */
export const BURST_WINDOW_MS = 120_000
export const BURST_BONUS = 0.03
