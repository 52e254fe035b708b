// Keeping the library in step with the folders: chokidar reports adds, changes and deletions as
// they happen; a periodic reconcile (a quiet rescan) catches whatever the watcher missed, as
// happens on network shares. Every change goes through one queue, so writes never interleave.
import { lstat, realpath } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { basename, isAbsolute, join, relative, sep } from 'node:path'
import { watch, type FSWatcher } from 'chokidar'
import type { Embedder } from '../types.ts'
import type { Db } from '../store/db.ts'
import { deletePhotos, knownFile, photosUnderFolder } from '../store/photos.ts'
import { isInside, listRoots } from '../store/roots.ts'
import type { Root } from '../../shared/types.ts'
import { collectGarbageOf } from './garbage.ts'
import { indexRoot, processFiles, type IndexSummary } from './indexer.ts'
import { examineFile, isPhotoName, type ScannedFile } from './scan.ts'

export interface WatchOptions {
  thumbnailDir: string
  embedder?: Embedder
  /** Rescan every root this often (default 5 minutes). */
  reconcileMs?: number
  /** A file must stop growing for this long before it is indexed (default 2 s). */
  stabilityMs?: number
  /** Poll instead of native events (network shares that send none). */
  usePolling?: boolean
  onPhotosWritten?: (photos: { id: number; hash: string }[]) => void
  /** Something in the library changed (photos added, changed, moved or removed). */
  onChange?: () => void
  /** A change could not be applied; watching goes on. */
  onError?: (err: Error) => void
}

export interface LibraryWatcher {
  /** Resolves once the initial directory walk is done and events are live. */
  readonly ready: Promise<void>
  close(): Promise<void>
}

export function watchLibrary(db: Db, options: WatchOptions): LibraryWatcher {
  const stabilityMs = options.stabilityMs ?? 2000
  // A deleted file's row waits this long: a rename shows up as unlink + add, and the add
  // (delayed by the stability wait) must find the old row to keep the photo's identity.
  const graceMs = stabilityMs + 1500
  let roots: Root[] = listRoots(db)
  let closed = false
  let tail: Promise<void> = Promise.resolve()
  const timers = new Set<NodeJS.Timeout>()
  const report = (err: unknown) => options.onError?.(err instanceof Error ? err : new Error(String(err)))
  const enqueue = (task: () => Promise<void> | void) => {
    tail = tail.then(async () => {
      if (!closed) await task()
    }).catch(report)
  }
  const later = (ms: number, task: () => Promise<void> | void) => {
    const timer = setTimeout(() => {
      timers.delete(timer)
      enqueue(task)
    }, ms)
    timers.add(timer)
  }

  const watcher: FSWatcher = watch(
    roots.map((r) => r.path),
    {
      ignoreInitial: true,
      followSymlinks: false,
      usePolling: options.usePolling ?? false,
      awaitWriteFinish: { stabilityThreshold: stabilityMs, pollInterval: Math.min(100, stabilityMs / 2) },
      // Hidden files and folders below a root, as the scan does.
      ignored: (path) => basename(path).startsWith('.') && !roots.some((r) => r.path === path),
    },
  )
  const locate = (file: string): { root: Root; relPath: string } | null => {
    const root = roots.find((r) => isInside(r.path, file) && r.path !== file)
    return root ? { root, relPath: relative(root.path, file).split(sep).join('/') } : null
  }

  /** Stats the files that arrived or changed and indexes those that differ from their rows. */
  const indexFiles = async (root: Root, relPaths: string[]) => {
    const files: ScannedFile[] = []
    const replaced: (string | null)[] = []
    const realRoot = await realpath(root.path).catch(() => root.path)
    for (const relPath of relPaths) {
      // The scan's own rule for links (followed inside the root; loops, dangling and outside links recorded).
      const file = await examineFile(root.path, realRoot, relPath)
      if (!file) continue // gone again (its unlink event handles it), or not a file
      const known = knownFile(db, root.id, relPath)
      if (known && known.status !== 'pending' && known.size === file.size && known.mtimeMs === file.mtimeMs) continue
      files.push(file)
      replaced.push(known?.hash ?? null)
    }
    if (files.length === 0) return
    const summary: IndexSummary = { indexed: 0, skipped: 0, failed: 0, failures: [], seconds: 0 }
    await processFiles(db, root.id, root.path, files, options, summary)
    await collectGarbageOf(db, options.thumbnailDir, replaced) // the content these files had before
    options.onChange?.()
  }

  const removeGone = async (root: Root, relPath: string, folder: boolean) => {
    if (!existsSync(root.path)) return // the whole root went away (unmounted?): keep its photos
    const rows = folder ? photosUnderFolder(db, root.id, relPath) : [{ relPath, ...knownFile(db, root.id, relPath) }]
    const gone = rows.filter((r): r is { id: number; relPath: string; hash: string | null } => r.id !== undefined && !existsSync(join(root.path, r.relPath)))
    if (gone.length === 0) return
    deletePhotos(db, gone.map((r) => r.id))
    await collectGarbageOf(db, options.thumbnailDir, gone.map((r) => r.hash))
    options.onChange?.()
  }

  // Files arriving together (a folder copied in) are indexed together, in batches like a scan.
  const arrived = new Map<number, { root: Root; relPaths: Set<string> }>()
  let flushTimer: NodeJS.Timeout | null = null
  const flush = () => {
    flushTimer = null
    for (const { root, relPaths } of arrived.values()) enqueue(() => indexFiles(root, [...relPaths]))
    arrived.clear()
  }
  const onFile = (path: string) => {
    const where = locate(path)
    if (!where || !isPhotoName(basename(path))) return
    const entry = arrived.get(where.root.id) ?? { root: where.root, relPaths: new Set<string>() }
    entry.relPaths.add(where.relPath)
    arrived.set(where.root.id, entry)
    flushTimer ??= setTimeout(flush, 100)
  }
  watcher.on('add', onFile)
  watcher.on('change', onFile)
  // chokidar drops a link it cannot stat (dangling, looping); the raw event still names it, and
  // the scan's rule then records it as a failure.
  watcher.on('raw', (_event, name, details) => {
    const dir = (details as { watchedPath?: unknown } | undefined)?.watchedPath
    if (typeof dir !== 'string' || typeof name !== 'string' || !name) return
    const path = isAbsolute(name) ? name : basename(dir) === name ? dir : join(dir, name)
    if (!isPhotoName(basename(path))) return
    lstat(path).then(
      (info) => info.isSymbolicLink() && onFile(path),
      () => {},
    )
  })
  watcher.on('unlink', (path) => {
    const where = locate(path)
    if (where) later(graceMs, () => removeGone(where.root, where.relPath, false))
  })
  watcher.on('unlinkDir', (path) => {
    const where = locate(path)
    if (where) later(graceMs, () => removeGone(where.root, where.relPath, true))
  })
  watcher.on('error', report)

  const reconcile = async () => {
    const now = listRoots(db)
    const added = now.filter((r) => !roots.some((o) => o.path === r.path)).map((r) => r.path)
    const removed = roots.filter((r) => !now.some((n) => n.path === r.path)).map((r) => r.path)
    roots = now
    if (added.length) watcher.add(added)
    if (removed.length) watcher.unwatch(removed)
    for (const root of now) {
      if (closed) return
      try {
        const summary = await indexRoot(db, root.id, { ...options, recordJob: false })
        if (summary.indexed || summary.failed || summary.removed) options.onChange?.()
      } catch (err) {
        report(err) // one unreachable root does not stop the others
      }
    }
  }
  const reconcileTimer = setInterval(() => enqueue(reconcile), options.reconcileMs ?? 5 * 60_000)

  // chokidar never says 'ready' when it was given no paths.
  const ready = roots.length ? new Promise<void>((resolve) => watcher.once('ready', () => resolve())) : Promise.resolve()
  return {
    ready,
    async close() {
      closed = true
      clearInterval(reconcileTimer)
      if (flushTimer) clearTimeout(flushTimer)
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
      await watcher.close()
      await tail
    },
  }
}
