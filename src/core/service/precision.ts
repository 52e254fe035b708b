// What the precision slider shows beside each setting, per setting: the warm ranking latency and
// the overlap of its top 20 with exact mode's, measured on a sample of this library's photos (again
// after every model change), and the mAP the active model measured on held-out album photos.
import { CODE_BITS, type Precision, type PrecisionInfo } from '../../shared/types.ts'
import { modelMetrics } from '../store/models.ts'
import type { ServiceContext } from './context.ts'
import type { LibrarySearch, SettingMeasure } from './search.ts'

export interface PrecisionTable {
  info(): PrecisionInfo[]
  /** Forget the measurements (a new model, or the library grew a lot). */
  invalidate(): void
}

/** Re-measure when the library has grown or shrunk by this share since the last measurement. */
const REMEASURE_GROWTH = 0.25

export function createPrecisionTable(ctx: ServiceContext, search: LibrarySearch): PrecisionTable {
  let measured: Map<Precision, SettingMeasure> | null = null
  let measuredAt = 0
  return {
    info() {
      const model = search.model
      const size = search.size
      if (!measured || Math.abs(size - measuredAt) > REMEASURE_GROWTH * Math.max(measuredAt, 1)) {
        measured = search.measureSettings()
        measuredAt = size
      }
      const maps: Record<string, number | undefined> = model ? (modelMetrics(ctx.db, model.id)?.map ?? {}) : {}
      const settings: Precision[] = [...CODE_BITS.filter((b) => !model || b <= model.model.M * 8), 'exact']
      return settings.map((precision) => {
        const m = measured!.get(precision)
        return { precision, ms: m?.ms ?? null, recall: m?.recall ?? null, map: maps[String(precision)] ?? null }
      })
    },
    invalidate() {
      measured = null
    },
  }
}
