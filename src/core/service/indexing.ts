// Keeping the library current: addRoot runs the indexer as a job, then the watcher follows every
// root. Each batch of written photos is handed on (`onPhotosWritten`: codes, then the search
// matrix); the end of a job or a watcher change announces 'library-changed'.
import { ApiError } from '../../shared/contract.ts'
import type { Root } from '../../shared/types.ts'
import { collectGarbage } from '../library/garbage.ts'
import { indexRoot, interruptedIndexRoots } from '../library/indexer.ts'
import { watchLibrary, type LibraryWatcher } from '../library/watcher.ts'
import * as roots from '../store/roots.ts'
import type { Embedder } from '../types.ts'
import type { ServiceContext } from './context.ts'
import type { JobTracker } from './jobs.ts'

const CHANGE_EVENT_GAP_MS = 500

export interface LibraryFeed {
  /** New, changed or moved ok photos, right after their batch committed. */
  onPhotosWritten(photos: { id: number; hash: string }[]): void
  /** Photos may have left the library, or an index job ended. */
  onChanged(): void
}

export interface Indexing {
  addRoot(path: string): Promise<Root>
  removeRoot(id: number): Promise<void>
  /** Starts watching every root (when the service watches); `resume`: carry on index jobs a dead process left. */
  start(resume: boolean): Promise<void>
  close(): Promise<void>
}

export function createIndexing(ctx: ServiceContext, jobs: JobTracker, feed: LibraryFeed): Indexing {
  const watching = ctx.options.watch ?? true
  let watcher: LibraryWatcher | null = null
  let closed = false
  /** Roots being indexed now, to stop one that is removed and not to index one twice at once. */
  const indexing = new Map<number, { stop: AbortController; done: Promise<void> }>()

  const embedder = async (): Promise<Embedder | undefined> => (ctx.hasEmbedder ? ctx.embedder() : undefined)

  // A big folder writes a batch every few hundred ms: windows hear about it at most twice a second.
  let quiet: NodeJS.Timeout | null = null
  let missed = false
  const batchWritten = () => {
    if (quiet) {
      missed = true
      return
    }
    ctx.events.emit({ type: 'library-changed' })
    quiet = setTimeout(() => {
      quiet = null
      if (missed && !closed) ctx.events.emit({ type: 'library-changed' })
      missed = false
    }, CHANGE_EVENT_GAP_MS)
  }

  const changed = () => {
    feed.onChanged()
    ctx.events.emit({ type: 'library-changed' })
  }

  /**
   * The watcher knows its roots from when it started, so a new set of roots means a new watcher.
   * Replacements run one after another, in the background: chokidar's first walk of a big
   * library takes a while, and no call waits for it (the periodic reconcile covers the gap).
   */
  let replacing: Promise<void> = Promise.resolve()
  function rewatch(): Promise<void> {
    replacing = replacing.then(replaceWatcher).catch((err: unknown) => console.error('lookalike: watching the library failed:', err))
    return replacing
  }

  async function replaceWatcher(): Promise<void> {
    if (!watching || closed) return
    const old = watcher
    watcher = null
    await old?.close()
    if (closed || roots.listRoots(ctx.db).length === 0) return
    const model = await embedder().catch(() => undefined)
    if (closed) return
    watcher = watchLibrary(ctx.db, {
      thumbnailDir: ctx.thumbnailDir,
      embedder: model,
      onPhotosWritten: (photos) => feed.onPhotosWritten(photos),
      onChange: changed,
      onError: (err) => console.error('lookalike: watcher:', err.message),
    })
    await watcher.ready
  }

  async function runIndex(root: Root): Promise<void> {
    if (indexing.has(root.id)) return
    const stop = new AbortController()
    const done = indexOnce(root, stop.signal).finally(() => indexing.delete(root.id))
    indexing.set(root.id, { stop, done })
    await done
    if (closed || stop.signal.aborted) return
    changed()
    void rewatch()
  }

  async function indexOnce(root: Root, stop: AbortSignal): Promise<void> {
    let model: Embedder | undefined
    try {
      model = await embedder()
    } catch (err) {
      // Index anyway (thumbnails, EXIF): photos get features once a backbone loads.
      console.error(`lookalike: no image model, indexing ${root.path} without features:`, (err as Error).message)
    }
    if (closed || stop.aborted) return
    await jobs.adopt('index', (signal, onProgress) =>
      indexRoot(ctx.db, root.id, {
        thumbnailDir: ctx.thumbnailDir,
        embedder: model,
        signal: AbortSignal.any([signal, stop]),
        onProgress,
        onPhotosWritten: (photos) => {
          feed.onPhotosWritten(photos)
          batchWritten()
        },
      }),
    )
  }

  return {
    async addRoot(path) {
      if (closed) throw new ApiError('unavailable', 'Lookalike is shutting down')
      const root = roots.addRoot(ctx.db, path)
      ctx.events.emit({ type: 'library-changed' })
      void runIndex(root)
      return root
    },
    async removeRoot(id) {
      const running = indexing.get(id)
      if (running) {
        running.stop.abort()
        await running.done
      }
      roots.removeRoot(ctx.db, id)
      await collectGarbage(ctx.db, ctx.thumbnailDir, ctx.feature)
      changed()
      void rewatch()
    },
    async start(resume) {
      // Index jobs whose process died (a crash, a kill) carry on where they stopped.
      if (resume) for (const id of interruptedIndexRoots(ctx.db)) void runIndex(roots.getRoot(ctx.db, id))
      void rewatch()
    },
    async close() {
      closed = true
      if (quiet) clearTimeout(quiet)
      for (const { stop } of indexing.values()) stop.abort()
      await replacing
      await watcher?.close()
      watcher = null
    },
  }
}
