// Retrain: modeling's retrain on the albums, as a job (epoch and loss terms as progress,
// cancellable). Deeper fine-tuning ('late') is the default where the GPU backend runs (docs/dpq.md).
// The new model takes over only when training and re-encoding completed; then the search matrix
// is reloaded and every window hears 'model-changed' and 'train-finished' (mAP before/after).
import { ApiError } from '../../shared/contract.ts'
import { retrainRefusal } from '../../shared/retrain.ts'
import type { ModelInfo, TrainSummary } from '../../shared/types.ts'
import type { Finetune } from '../dpq/finetune.ts'
import { DEFAULTS } from '../dpq/train.ts'
import { selectBackend } from '../embed/backend.ts'
import { finetunePlanHere, libraryWork, type FinetunePlan } from '../modeling/finetune-plan.ts'
import { describeHolder } from '../modeling/lock.ts'
import { retrain } from '../modeling/retrain.ts'
import { listAlbums } from '../store/albums.ts'
import { featureCount } from '../store/features.ts'
import { activeModelBackbone, activeModelInfo } from '../store/models.ts'
import type { CodeKeeper } from './codes.ts'
import type { ServiceContext } from './context.ts'
import type { JobTracker } from './jobs.ts'
import type { LibrarySearch } from './search.ts'

export interface Training {
  /** What Retrain does by default here (finetune-plan.ts), with fine-tuning's estimated cost. */
  plan(): Promise<FinetunePlan & { backend: string }>
  /** finetune: 'late' also trains MobileNetV2's last blocks; default from plan(). */
  train(finetune?: Finetune): Promise<{ jobId: number }>
}

export function createTraining(ctx: ServiceContext, jobs: JobTracker, codes: CodeKeeper, search: LibrarySearch, onModelChanged: (model: ModelInfo | null) => void): Training {
  let current: number | null = null

  /**
   * Retrain improves the model search uses, on the features it reads: during a feature upgrade
   * (service/upgrade.ts) those of the model it replaces, whose photos all have them.
   */
  const backboneOf = async (): Promise<string | null> => activeModelBackbone(ctx.db)?.backbone ?? (await codes.backbone())

  /** Retrain needs photo features and albums to learn from: refused at the door otherwise. */
  async function checkReady(): Promise<void> {
    const backbone = await backboneOf()
    if (backbone === null || featureCount(ctx.db, backbone) === 0) throw new ApiError('bad-request', 'No photo features yet: index a folder first')
    const refusal = retrainRefusal(listAlbums(ctx.db))
    if (refusal) throw new ApiError('bad-request', refusal)
  }

  async function plan(): Promise<FinetunePlan & { backend: string }> {
    const backbone = await backboneOf()
    const epochs = Number(ctx.options.trainOptions?.epochs ?? DEFAULTS.epochs)
    // The desktop's compute page trains on the GPU it found: its own measured speed counts.
    const page = ctx.options.trainer?.() ?? null
    const pageSpeed = page ? await page.tailSpeed().catch(() => null) : null
    const elsewhere = page && pageSpeed !== null ? { backend: page.backend, kind: 'gpu' as const, speed: pageSpeed } : undefined
    if (backbone) return finetunePlanHere(libraryWork(ctx.db, backbone, epochs), undefined, elsewhere)
    return { finetune: 'off', lateSeconds: 0, reason: 'No photo has an image feature yet.', backend: (await selectBackend()).name }
  }

  return {
    plan,
    async train(asked) {
      if (current !== null) throw new ApiError('conflict', `A retrain is already running (job ${current})`)
      await checkReady()
      const albums = listAlbums(ctx.db).length
      const finetune = asked ?? (await plan()).finetune
      if (current !== null) throw new ApiError('conflict', `A retrain is already running (job ${current})`)
      const { jobId, done } = jobs.start('train', { albums, finetune }, (job, signal) =>
        codes.exclusive(async () => {
          const backbone = await backboneOf()
          if (backbone === null) throw new ApiError('unavailable', 'No photo has an image feature yet: let indexing finish first')
          job.checkCancelled()
          const activations = finetune === 'late' ? await ctx.activations(backbone) : undefined
          job.checkCancelled()
          const result = await retrain(ctx.db, backbone, {
            finetune,
            activations,
            signal,
            trainOptions: ctx.options.trainOptions,
            train: ctx.options.trainer?.()?.train,
            onLockWait: (holder) => {
              console.warn(`lookalike: ${describeHolder(holder)}; this retrain starts when it is done`)
              job.report({ done: 0, total: 0, stage: 'waiting' })
            },
            onProgress: (event) => {
              job.checkCancelled()
              job.report({ done: event.done, total: event.total, stage: event.stage, epoch: event.epoch, loss: event.loss })
            },
          })
          search.reload()
          const model = activeModelInfo(ctx.db)
          onModelChanged(model)
          ctx.events.emit({ type: 'model-changed', model })
          if (result.unreadable?.length) console.warn(`lookalike: ${result.unreadable.length} photo(s) could not be read again for fine-tuning; they have no code under the new model`)
          const summary: TrainSummary = { modelId: result.modelId, before: result.before, after: result.after, finetune, ...(result.unreadable?.length ? { unreadable: result.unreadable.length } : {}), ...(result.smallAlbums ? { smallAlbums: true as const } : {}), ...(result.beforeSeen ? { beforeSeen: true as const } : {}) }
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
