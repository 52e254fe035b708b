// The duplicate finder's settings. Thresholds are feature cosines, measured by
// `npx tsx bench/duplicates.ts` on variants of real photos among distinct ones (README "Duplicates"):
// rerun it, and pick again, whenever the stored feature changes.
import type { DuplicateTier } from '../../shared/types.ts'

/** The duplicate tier's default is the lowest cosine that kept pair precision ≥ 0.99 in the benchmark. */
export const DEFAULT_THRESHOLDS: Record<DuplicateTier, number> = { duplicates: 0.9, similar: 0.8 }

/** The lowest threshold the slider offers; pairs below it are not kept. */
export const THRESHOLD_FLOOR = 0.6

/** Candidates per photo, and the code length (blocks of 8 bits) they are found at. */
export const CANDIDATES = { k: 10, blocks: 2 }

/** Similar shots: EXIF capture times this close lift a pair's cosine by BURST_BONUS. */
export const BURST_WINDOW_MS = 120_000
export const BURST_BONUS = 0.03
