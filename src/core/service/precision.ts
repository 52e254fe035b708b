// What the precision slider shows beside each setting: the ranking latency measured on this
// library (median of a few real queries, measured again after every model change) and the mAP
// per code length the active model measured on held-out album photos.
import { CODE_BITS, type Precision, type PrecisionInfo } from '../../shared/types.ts'
import { modelMetrics } from '../store/models.ts'
import type { ServiceContext } from './context.ts'
import type { LibrarySearch } from './search.ts'

export interface PrecisionTable {
  info(): PrecisionInfo[]
  /** Forget measured latencies (a new model, or the library grew a lot). */
  invalidate(): void
}

/** Re-measure when the library has grown or shrunk by this share since the last measurement. */
const REMEASURE_GROWTH = 0.25

export function createPrecisionTable(ctx: ServiceContext, search: LibrarySearch): PrecisionTable {
  let latency: Map<Precision, number> | null = null
  let measuredAt = 0
  return {
    info() {
      const model = search.model
      const size = search.size
      if (!latency || Math.abs(size - measuredAt) > REMEASURE_GROWTH * Math.max(measuredAt, 1)) {
        latency = search.measureLatency()
        measuredAt = size
      }
      const maps: Record<string, number | undefined> = model ? (modelMetrics(ctx.db, model.id)?.map ?? {}) : {}
      const settings: Precision[] = [...CODE_BITS.filter((b) => !model || b <= model.model.M * 8), 'exact']
      return settings.map((precision) => ({ precision, ms: latency!.get(precision) ?? null, map: maps[String(precision)] ?? null }))
    },
    invalidate() {
      latency = null
    },
  }
}
