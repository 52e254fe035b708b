// The feature upgrade. Every stored feature carries its backbone id; a library whose active model
// reads another one than this Lookalike computes gets the new feature for every photo, as an
// 'upgrade' job that writes them batch by batch (library/refeature.ts). Search keeps answering
// with the active model, its codes and its features all along. Once every readable photo has the
// new feature, an unsupervised model is trained on them, every photo is encoded and the model
// activated in one transaction (ensureCodes' switchFeature, under the code keeper's lock); the
// search reloads and windows hear 'model-changed'. A replaced model that had learned from albums
// is followed by a Retrain on them. Old model rows stay as history; the old features become
// garbage for the GC (store/garbage.ts); saved duplicate thresholds (old-feature cosines) go.
//
// Cancelling the job, or quitting, stops it between batches; the next start carries on with the
// photos still missing the feature.
import type { FeatureUpgrade, ModelInfo } from '../../shared/types.ts'
import { processAlive } from '../jobs/alive.ts'
import type { JobContext } from '../jobs/run.ts'
import { recomputeFeatures, type RefeatureSummary } from '../library/refeature.ts'
import { ensureCodes } from '../modeling/codes.ts'
import { describeHolder } from '../modeling/lock.ts'
import { clearThresholds } from '../store/duplicates.ts'
import { featureCoverage } from '../store/features.ts'
import { unfinishedJobs } from '../store/jobs.ts'
import { activeModelBackbone, activeModelInfo } from '../store/models.ts'
import type { CodeKeeper } from './codes.ts'
import type { ServiceContext } from './context.ts'
import type { JobTracker } from './jobs.ts'
import type { LibrarySearch } from './search.ts'
import type { Training } from './training.ts'

export interface Upgrade {
  /** Starts the upgrade, or carries it on, when the library needs one and this service can embed. */
  start(): void
  /** What status shows; null when the active model reads the feature this Lookalike computes. */
  info(): FeatureUpgrade | null
  /** No Retrain is started after this (the service is closing). */
  close(): void
}

export function createUpgrade(
  ctx: ServiceContext,
  jobs: JobTracker,
  codes: CodeKeeper,
  search: LibrarySearch,
  training: Training,
  onModelChanged: (model: ModelInfo | null) => void,
): Upgrade {
  let running: { jobId: number } | null = null
  let closed = false

  /** The active model's backbone when it is not this Lookalike's feature, with the new feature's coverage. */
  function pending(): { from: string; supervised: boolean; done: number; total: number } | null {
    const active = activeModelBackbone(ctx.db)
    if (!active || active.backbone === ctx.feature) return null
    return { from: active.backbone, supervised: active.kind === 'supervised', ...featureCoverage(ctx.db, ctx.feature) }
  }

  async function upgrade(job: JobContext, signal: AbortSignal, supervised: boolean): Promise<RefeatureSummary> {
    const embedder = await ctx.embedder()
    if (embedder.backboneId !== ctx.feature) throw new Error(`The image model computes ${embedder.backboneId}, not ${ctx.feature}`)
    const summary = await recomputeFeatures(ctx.db, {
      embedder,
      signal,
      batchSize: ctx.options.upgradeBatch,
      onProgress: (done, total, current) => {
        job.checkCancelled()
        job.report({ done, total, current })
      },
      onSkipped: ({ file, reason, failed }) =>
        console.warn(`lookalike: no new image feature for ${file ?? 'a photo without a file'}: ${reason}${failed ? '' : ' (computed when its folder is indexed again)'}`),
    })
    if (summary.failed) ctx.events.emit({ type: 'library-changed' }) // the failures list grew
    const switched = await codes.exclusive(() => switchModel(job, signal))
    if (switched && supervised && !closed) await retrainOnAlbums()
    return summary
  }

  /** The model on the new features replaces the active one; false when there was nothing to train on. */
  async function switchModel(job: JobContext, signal: AbortSignal): Promise<boolean> {
    job.checkCancelled()
    await ensureCodes(ctx.db, ctx.feature, {
      switchFeature: true,
      signal,
      trainOptions: ctx.options.trainOptions,
      onProgress: (event) => {
        job.checkCancelled()
        job.report(event)
      },
      onLockWait: (holder) => {
        console.warn(`lookalike: ${describeHolder(holder)}; the new image feature's model is trained when it is done`)
        job.report({ done: 0, total: 0, stage: 'waiting' })
      },
    })
    if (activeModelBackbone(ctx.db)?.backbone !== ctx.feature) return false
    // A duplicate threshold the user kept is a cosine of the old feature: the new one's defaults apply.
    clearThresholds(ctx.db)
    search.reload()
    const model = activeModelInfo(ctx.db)
    onModelChanged(model)
    ctx.events.emit({ type: 'model-changed', model })
    await ctx.releaseFormer()
    codes.settled() // photos indexed while the model trained
    return true
  }

  /**
   * The albums taught the replaced model; a Retrain teaches them to the new feature's (a plain one:
   * deeper fine-tuning takes far longer and stays the user's choice). Refused, it says why; the
   * albums are kept and Retrain applies them later.
   */
  async function retrainOnAlbums(): Promise<void> {
    try {
      await training.train('off')
    } catch (err) {
      console.warn(`lookalike: the albums were not applied to the new image feature yet (${err instanceof Error ? err.message : String(err)}); Retrain applies them`)
    }
  }

  return {
    start() {
      if (running || closed || !ctx.hasEmbedder) return
      const now = pending()
      if (!now || now.total === 0) return
      // A job row a dead process left running is carried on rather than left 'running' for ever.
      const leftover = unfinishedJobs(ctx.db, 'upgrade').find((j) => !processAlive(j.params.pid))
      const params = { reason: 'new feature', from: now.from, to: ctx.feature, pid: process.pid }
      const started = jobs.start('upgrade', params, (job, signal) => upgrade(job, signal, now.supervised), leftover?.id)
      running = started
      void started.done.finally(() => {
        if (running === started) running = null
      })
    },
    info() {
      const now = pending()
      if (!now) return null
      // Running here, or in another live Lookalike on this library (the app while the CLI looks).
      const jobId = running?.jobId ?? unfinishedJobs(ctx.db, 'upgrade').find((j) => processAlive(j.params.pid))?.id ?? null
      return { done: now.done, total: now.total, jobId, retrain: now.supervised }
    },
    close() {
      closed = true
    },
  }
}
