// The one object that implements the API contract. Every transport (Electron IPC, web mode,
// the CLI, tests) calls these methods with input already parsed by `parseInput`; this file only
// composes the parts under ./service/ and the engine's modules.
import type { LibraryStatus } from '../shared/types.ts'
import { libraryStorage, vacuumLibrary } from './library/garbage.ts'
import { libraryStatus } from './library/status.ts'
import { ensureBackend } from './modeling/backend.ts'
import { modelTail } from './modeling/inputs.ts'
import { loadActiveModel } from './modeling/models.ts'
import { codesByHash, embeddingsByHash } from './store/codes.ts'
import { albumMethods } from './service/albums.ts'
import { withApiErrors, type LookalikeService } from './service/calls.ts'
import { createCodeKeeper } from './service/codes.ts'
import { createContext, type ServiceOptions } from './service/context.ts'
import { createDuplicateFinder } from './service/duplicates.ts'
import { browseFolders, expandHome } from './service/folders.ts'
import { imageFiles } from './service/images.ts'
import { createIndexing } from './service/indexing.ts'
import { createJobTracker } from './service/jobs.ts'
import { libraryReads } from './service/library.ts'
import { createPrecisionTable } from './service/precision.ts'
import { featureOfImage } from './service/query-image.ts'
import { LibrarySearch } from './service/search.ts'
import { createTraining } from './service/training.ts'
import { createUpgrade } from './service/upgrade.ts'

export type { LookalikeService, ImageSize } from './service/calls.ts'
export { callService, toWireError, httpStatusFor } from './service/calls.ts'
export type { ServiceOptions } from './service/context.ts'

export async function createService(options: ServiceOptions): Promise<LookalikeService> {
  const ctx = createContext(options)
  const jobs = createJobTracker(ctx.db, ctx.events)
  const search = new LibrarySearch(ctx.db, { loadActiveModel, codesByHash, embeddingsByHash })
  search.reload()
  const precision = createPrecisionTable(ctx, search)
  const modelChanged = () => precision.invalidate()
  const codes = createCodeKeeper(ctx, jobs, search, modelChanged)
  const training = createTraining(ctx, jobs, codes, search, modelChanged)
  const indexing = createIndexing(ctx, jobs, {
    onPhotosWritten: (photos) => codes.photosWritten(photos),
    onChanged: () => codes.settled(),
  })
  const duplicates = createDuplicateFinder(ctx, jobs, search, codes)
  const upgrade = createUpgrade(ctx, jobs, codes, search, training, modelChanged)
  let closed = false

  const service: LookalikeService = {
    ...libraryReads(ctx),
    ...albumMethods(ctx),

    async status({ storage }): Promise<LibraryStatus> {
      const upgrading = upgrade.info()
      const status = { ...libraryStatus(ctx.db, ctx.backend()), ...(ctx.device() ? { device: ctx.device()! } : {}), ...(upgrading ? { upgrade: upgrading } : {}) }
      // Running jobs as they are this instant, not as last stored.
      const live = new Map(jobs.running().map((j) => [j.jobId, j]))
      const current = { ...status, jobs: status.jobs.map((j) => live.get(j.jobId) ?? j) }
      return storage ? { ...current, storage: await libraryStorage(ctx.db, ctx.thumbnailDir, ctx.feature) } : current
    },
    async vacuum() {
      const result = await vacuumLibrary(ctx.db, ctx.thumbnailDir, ctx.feature)
      ctx.events.emit({ type: 'library-changed' })
      return result
    },
    addRoot: ({ path }) => indexing.addRoot(expandHome(path)),
    browseFolders: ({ path }) => browseFolders(path),
    async removeRoot({ id }) {
      await indexing.removeRoot(id)
      return null
    },

    async similar({ photoId, precision, k, filter }) {
      if (!search.model) await codes.idle() // a first model may be on its way
      await ensureBackend() // the model's head runs on tfjs
      return search.similarToPhoto(photoId, precision, k, filter)
    },
    async similarToImage({ data, precision, k }) {
      if (!search.model) await codes.idle()
      const model = search.model
      const feature = await featureOfImage(ctx, data, model && { backbone: model.backbone, tail: modelTail(model.model) })
      await ensureBackend()
      return search.similarToFeature(feature, precision, k)
    },
    async precisionInfo() {
      await ensureBackend()
      return precision.info()
    },

    async trainPlan() {
      return training.plan()
    },
    async train({ finetune }) {
      return training.train(finetune)
    },
    async cancelJob({ jobId }) {
      jobs.cancel(jobId)
      return null
    },

    duplicates: ({ tier, threshold, limit }) => duplicates.report(tier, threshold, limit),
    scanDuplicates: async () => duplicates.scan(),
    async dismissDuplicates({ photoIds }) {
      duplicates.dismiss(photoIds)
      return null
    },
    stackPhotos: async ({ keeperId, photoIds }) => duplicates.stack(keeperId, photoIds),
    async unstackPhotos({ photoId }) {
      duplicates.unstack(photoId)
      return null
    },
    listStacks: async () => duplicates.stacks(),
    async setDuplicateThreshold({ tier, threshold }) {
      duplicates.setThreshold(tier, threshold)
      return null
    },
    removal: {
      handOver: async (keeperId, photoIds) => duplicates.handOver(keeperId, photoIds),
      forget: async (photoIds) => duplicates.forget(photoIds),
    },

    onEvent: (listener) => ctx.events.on(listener),
    imageFile: imageFiles(ctx),
    async close() {
      if (closed) return
      closed = true
      upgrade.close()
      await indexing.close()
      duplicates.close()
      await jobs.cancelAll()
      await codes.idle()
      await ctx.close()
    },
  }
  // A long-running app (desktop, web mode) loads the backbone now, so the status bar can name
  // its backend and the first folder indexes without waiting; one-shot commands load it on demand.
  if ((options.watch ?? true) && ctx.hasEmbedder) {
    ctx.embedder().then(
      () => !closed && ctx.events.emit({ type: 'library-changed' }),
      (err: unknown) => console.error('lookalike: the image model did not load:', err instanceof Error ? err.message : err),
    )
  }
  // Photos indexed by another process (or before a crash) may still lack codes: catch up in the
  // background, carry on index jobs a dead process left, and upgrade a library whose model reads
  // an older image feature than this Lookalike computes.
  const catchUp = options.catchUp ?? true
  if (catchUp) codes.settled()
  await indexing.start(catchUp)
  if (catchUp) upgrade.start()
  return withApiErrors(service)
}
