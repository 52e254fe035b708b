// Retrain: modeling's retrain on the albums, as a job (epoch and loss terms as progress,
// cancellable). Deeper fine-tuning ('late') is the default where the GPU backend runs (docs/dpq.md).
// The new model takes over only when training and re-encoding completed; then the search matrix
// is reloaded and every window hears 'model-changed' and 'train-finished' (mAP before/after).
import { ApiError } from '../../shared/contract.ts'
import type { ModelInfo, TrainSummary } from '../../shared/types.ts'
import type { Finetune } from '../dpq/finetune.ts'
import { DEFAULTS } from '../dpq/train.ts'
import { selectBackend } from '../embed/backend.ts'
import { libraryFinetunePlan, type FinetunePlan } from '../modeling/finetune-plan.ts'
import { tailSpeedFactor } from '../modeling/finetune-speed.ts'
import { retrain } from '../modeling/retrain.ts'
import { listAlbums } from '../store/albums.ts'
import { activeModelInfo } from '../store/models.ts'
import type { CodeKeeper } from './codes.ts'
import type { ServiceContext } from './context.ts'
import type { JobTracker } from './jobs.ts'
import type { LibrarySearch } from './search.ts'

export const RETRAIN_MIN_ALBUMS = 2
export const RETRAIN_MIN_PHOTOS = 5

export interface Training {
  /** What Retrain does by default here (finetune-plan.ts), with fine-tuning's estimated cost. */
  plan(): Promise<FinetunePlan & { backend: string }>
  /** finetune: 'late' also trains MobileNetV2's last blocks; default from plan(). */
  train(finetune?: Finetune): Promise<{ jobId: number }>
}

export function createTraining(ctx: ServiceContext, jobs: JobTracker, codes: CodeKeeper, search: LibrarySearch, onModelChanged: (model: ModelInfo | null) => void): Training {
  let current: number | null = null

  function checkAlbums(): void {
    const ready = listAlbums(ctx.db).filter((a) => a.photos >= RETRAIN_MIN_PHOTOS).length
    if (ready < RETRAIN_MIN_ALBUMS) {
      throw new ApiError('bad-request', `Retrain needs at least ${RETRAIN_MIN_ALBUMS} albums with ${RETRAIN_MIN_PHOTOS} photos each (${ready} so far)`)
    }
  }

  async function plan(): Promise<FinetunePlan & { backend: string }> {
    const backbone = await codes.backbone()
    const choice = await selectBackend()
    const epochs = Number(ctx.options.trainOptions?.epochs ?? DEFAULTS.epochs)
    const speed = choice.kind === 'gpu' ? 1 : await tailSpeedFactor()
    const planned = backbone ? libraryFinetunePlan(ctx.db, backbone, choice.kind, epochs, speed) : { finetune: 'off' as const, lateSeconds: 0, reason: 'No photo has an image feature yet.' }
    return { ...planned, backend: choice.name }
  }

  return {
    plan,
    async train(asked) {
      if (current !== null) throw new ApiError('conflict', `A retrain is already running (job ${current})`)
      checkAlbums()
      const albums = listAlbums(ctx.db).length
      const finetune = asked ?? (await plan()).finetune
      if (current !== null) throw new ApiError('conflict', `A retrain is already running (job ${current})`)
      const { jobId, done } = jobs.start('train', { albums, finetune }, (job, signal) =>
        codes.exclusive(async () => {
          const backbone = await codes.backbone()
          if (backbone === null) throw new ApiError('unavailable', 'No photo has an image feature yet: let indexing finish first')
          job.checkCancelled()
          const activations = finetune === 'late' ? await ctx.activations() : undefined
          job.checkCancelled()
          const result = await retrain(ctx.db, backbone, {
            finetune,
            activations,
            signal,
            trainOptions: ctx.options.trainOptions,
            onProgress: (event) => {
              job.checkCancelled()
              job.report({ done: event.done, total: event.total, current: event.current ?? null, epoch: event.epoch, loss: event.loss })
            },
          })
          search.reload()
          const model = activeModelInfo(ctx.db)
          onModelChanged(model)
          ctx.events.emit({ type: 'model-changed', model })
          if (result.unreadable?.length) console.warn(`lookalike: ${result.unreadable.length} photo(s) could not be read again for fine-tuning; they have no code under the new model`)
          const summary: TrainSummary = { modelId: result.modelId, before: result.before, after: result.after, finetune, ...(result.unreadable?.length ? { unreadable: result.unreadable.length } : {}) }
          ctx.events.emit({ type: 'train-finished', summary })
          return summary
        }),
      )
      current = jobId
      void done.finally(() => {
        if (current === jobId) current = null
        // Photos that arrived while training have no code under the new model yet.
        codes.settled()
      })
      return { jobId }
    },
  }
}
