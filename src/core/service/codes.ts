// Every photo gets a code under the active model (modeling's ensureCodes), and the search
// matrix follows in place. New photos are encoded batch by batch while a model exists; the very first
// model (unsupervised) is trained only when an index job or watcher change has settled, so it
// sees the whole library rather than its first batch. Anything that writes models runs under
// one lock: a retrain and a first-model training must never interleave.
// While the active model reads an older feature (a feature upgrade, service/upgrade.ts), new
// photos get only the new feature: a code under the old model would mean computing the old feature
// too, so they join the search at the switch, which encodes every photo.
import { ensureCodes, pendingTraining } from '../modeling/codes.ts'
import { describeHolder } from '../modeling/lock.ts'
import { loadActiveModel } from '../modeling/models.ts'
import { featureCounts, libraryBackbone } from '../store/features.ts'
import type { LockHolder } from '../store/locks.ts'
import { activeModelInfo } from '../store/models.ts'
import type { ModelInfo } from '../../shared/types.ts'
import type { ServiceContext } from './context.ts'
import type { JobTracker } from './jobs.ts'
import type { LibrarySearch } from './search.ts'

export interface CodeKeeper {
  /** Photos just written by the indexer or the watcher. */
  photosWritten(photos: readonly { id: number; hash: string }[]): void
  /** The library settled (index job ended, watcher change, root removed): codes for everything. */
  settled(): void
  /** Runs `work` alone among model writers. */
  exclusive<T>(work: () => Promise<T>): Promise<T>
  /** Resolves when no code work is queued or running. */
  idle(): Promise<void>
  /** The backbone the library's features come from. */
  backbone(): Promise<string | null>
}

export function createCodeKeeper(ctx: ServiceContext, jobs: JobTracker, search: LibrarySearch, onModelChanged: (model: ModelInfo | null) => void): CodeKeeper {
  let lock: Promise<unknown> = Promise.resolve()
  const waiting: { id: number; hash: string }[] = []
  let scheduled: Promise<void> | null = null
  let wantFull = false

  const exclusive = <T>(work: () => Promise<T>): Promise<T> => {
    const run = lock.then(work)
    lock = run.catch(() => undefined)
    return run
  }

  // The backbone id is known without loading the backbone (seconds); browse only, it is the library's.
  const backbone = async (): Promise<string | null> => (ctx.options.embedder === null ? libraryBackbone(ctx.db) : ctx.feature)

  /** One pass: encode what lacks a code, train the first model when allowed, update the matrix. */
  async function pass(): Promise<void> {
    const full = wantFull
    wantFull = false
    const id = await backbone()
    if (id === null) return
    const active = loadActiveModel(ctx.db)
    const usable = active !== null && active.backbone === id
    // No model yet: wait for the library to settle, then train on all of it.
    if (!usable && !full) return
    const photos = waiting.splice(0)
    // Training runs as a job the user can watch: the first model, or refitting an unsupervised
    // model the library has outgrown (checked once the library settles, not per batch).
    const training = full ? pendingTraining(ctx.db, id) : null
    const onLockWait = (holder: LockHolder) => console.warn(`lookalike: ${describeHolder(holder)}; new photos are encoded when it is done`)
    if (training) {
      if (!featureCounts(ctx.db).some((f) => f.backbone === id && f.count > 0)) return // nothing to train on yet
      await jobs.start('encode', { reason: training }, (job, signal) =>
        ensureCodes(ctx.db, id, { signal, trainOptions: ctx.options.trainOptions, onProgress: (e) => job.report(e), onLockWait }),
      ).done
    } else {
      // A fine-tuned model encodes from each new photo's activation map, computed from its file
      // (the extractor loads only when a photo needs one, not on every pass).
      const { failed } = await ensureCodes(ctx.db, id, { trainOptions: ctx.options.trainOptions, refit: false, activations: (tail) => ctx.activations(id, tail), onLockWait })
      for (const f of failed ?? []) console.warn(`lookalike: no code under the fine-tuned model for ${f.file ?? f.hash}: ${f.error}`)
    }
    const now = loadActiveModel(ctx.db)
    if (now?.id !== search.model?.id) {
      search.reload()
      const model = activeModelInfo(ctx.db)
      onModelChanged(model)
      ctx.events.emit({ type: 'model-changed', model })
    } else {
      search.update(photos) // new, changed (new code) or moved (new folder) photos
      if (full) search.catchUp() // and whatever an earlier failed pass left out, or that left
    }
  }

  function schedule(): void {
    if (scheduled) return
    scheduled = exclusive(async () => {
      // Batches that arrive while a pass runs are taken by the next one.
      scheduled = null
      try {
        await pass()
      } catch (err) {
        console.error('lookalike: encoding new photos failed:', err)
      }
    })
  }

  return {
    photosWritten(photos) {
      waiting.push(...photos)
      if (search.model) schedule()
    },
    settled() {
      wantFull = true
      schedule()
    },
    exclusive,
    async idle() {
      while (scheduled) await scheduled
      await lock
    },
    backbone,
  }
}
