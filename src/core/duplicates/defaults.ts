// The duplicate finder's settings. Thresholds are feature cosines, measured by
// `npx tsx bench/duplicates.ts` on variants of real photos among distinct ones (README "Duplicates"):
// rerun it, and pick again, whenever the stored feature or the candidate settings change.
import type { DuplicateTier } from '../../shared/types.ts'
import type { HashRule } from './confirm.ts'

/**
 * Duplicates: the lowest cosine with pair precision ≥ 0.99 in the benchmark. Similar shots: the
 * lowest with pair precision ≥ 0.5 against the duplicate truth, so that look-alike shots join while
 * groups stay mostly copies (the benchmark has no burst truth to aim at). On the whitened region
 * feature (256-d) a copy's median cosine to its original is 0.93–1 (a 25 % resize to about 100 px:
 * 0.81), and distinct photos of one setting reach up to 0.95, most of them below 0.9.
 */
export const DEFAULT_THRESHOLDS: Record<DuplicateTier, number> = { duplicates: 0.894, similar: 0.839 }

/**
 * The lowest threshold the slider offers; pairs below it are not kept. Below every copy the
 * benchmark makes (its weakest, a 25 % resize, reaches 0.64), and low enough for the burst bonus
 * to lift a pair onto the similar tier; lower, groups are mostly unrelated photos.
 */
export const THRESHOLD_FLOOR = 0.6

/**
 * Candidates per photo, and the code length (blocks of 8 bits) they are found at. At 10, photos
 * with a dozen copies lost some crops to their siblings; 15 finds every pair the cosine keeps.
 */
export const CANDIDATES = { k: 15, blocks: 2 }

/**
 * Perceptual hashes at most maxDistance bits apart (of 64) make a pair a candidate and shrink its
 * 1 − cosine to SHRINK of it, so such a pair joins the duplicates (0.894) from a cosine of
 * 1 − 0.106 / SHRINK. To be measured.
 */
export const HASH_RULE: HashRule = { maxDistance: 4, shrink: 0.4 }

/** Similar shots: EXIF capture times this close lift a pair's cosine by BURST_BONUS. */
export const BURST_WINDOW_MS = 120_000
export const BURST_BONUS = 0.03
