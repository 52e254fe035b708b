// The duplicate finder's settings. Thresholds are feature cosines, measured by
// `npx tsx bench/duplicates.ts` on variants of real photos among distinct ones (README "Duplicates"):
// rerun it, and pick again, whenever the stored feature changes.
import type { DuplicateTier } from '../../shared/types.ts'

/**
 * Duplicates: the lowest cosine with pair precision ≥ 0.99 in the benchmark. Similar shots: the
 * lowest with pair precision ≥ 0.5 against the duplicate truth, so that look-alike shots join while
 * groups stay mostly copies (the benchmark has no burst truth to aim at).
 */
export const DEFAULT_THRESHOLDS: Record<DuplicateTier, number> = { duplicates: 0.997, similar: 0.985 }

/** The lowest threshold the slider offers; pairs below it are not kept. */
export const THRESHOLD_FLOOR = 0.6

/** Candidates per photo, and the code length (blocks of 8 bits) they are found at. */
export const CANDIDATES = { k: 10, blocks: 2 }

/** Similar shots: EXIF capture times this close lift a pair's cosine by BURST_BONUS. */
export const BURST_WINDOW_MS = 120_000
export const BURST_BONUS = 0.03
