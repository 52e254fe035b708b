// The one object that implements the API contract. Every transport (Electron IPC, web mode,
// the CLI, tests) calls these methods with input already parsed by `parseInput`; this file only
// composes the parts under ./service/ and the engine's modules.
import { ApiError } from '../shared/contract.ts'
import type { LibraryStatus } from '../shared/types.ts'
import { libraryStatus } from './library/status.ts'
import { albumMethods } from './service/albums.ts'
import type { LookalikeService } from './service/calls.ts'
import { createContext, type ServiceOptions } from './service/context.ts'
import { imageFiles } from './service/images.ts'
import { createJobTracker } from './service/jobs.ts'
import { createIndexing } from './service/indexing.ts'
import { libraryReads } from './service/library.ts'
import { thumbnailPath } from './library/thumbnails.ts'
import { photoHash } from './store/photos.ts'

export type { LookalikeService, ImageSize } from './service/calls.ts'
export { callService, toWireError, httpStatusFor } from './service/calls.ts'
export type { ServiceOptions } from './service/context.ts'

export async function createService(options: ServiceOptions): Promise<LookalikeService> {
  const ctx = createContext(options)
  const jobs = createJobTracker(ctx.db, ctx.events)
  const indexing = createIndexing(ctx, jobs, {
    onPhotosWritten: () => {},
    onChanged: () => {},
  })
  let closed = false

  const notYet = (what: string) => async (): Promise<never> => {
    throw new ApiError('unavailable', `${what} is not available in this build yet`)
  }

  const service: LookalikeService = {
    ...libraryReads(ctx),
    ...albumMethods(ctx),

    async status(): Promise<LibraryStatus> {
      const status = libraryStatus(ctx.db, ctx.backend())
      // Running jobs as they are this instant, not as last stored.
      const live = new Map(jobs.running().map((j) => [j.jobId, j]))
      return { ...status, jobs: status.jobs.map((j) => live.get(j.jobId) ?? j) }
    },
    addRoot: ({ path }) => indexing.addRoot(path),
    async removeRoot({ id }) {
      await indexing.removeRoot(id)
      return null
    },
    similar: notYet('Search'),
    similarToImage: notYet('Search by image'),
    precisionInfo: notYet('Precision info'),
    train: notYet('Retrain'),
    async cancelJob({ jobId }) {
      jobs.cancel(jobId)
      return null
    },

    onEvent: (listener) => ctx.events.on(listener),
    imageFile: imageFiles(ctx, (photoId) => {
      const hash = photoHash(ctx.db, photoId)
      return hash === null ? null : thumbnailPath(ctx.thumbnailDir, hash)
    }),
    async close() {
      if (closed) return
      closed = true
      await indexing.close()
      await jobs.cancelAll()
      await ctx.close()
    },
  }
  await indexing.start()
  return service
}
