// Finding photo files under a root. One symlink rule, used by the scan, the watcher and (through
// photoFile) every image request: folder symlinks are not followed (so a loop can never trap the
// scan); a file symlink is followed when it leads to a file inside the same root, and listed as a
// failure with its reason when it leads outside, loops or dangles.
import { lstat, readdir, realpath, stat } from 'node:fs/promises'
import { extname, join } from 'node:path'
import { ApiError } from '../../shared/contract.ts'
import { isInside } from '../store/roots.ts'

/** Extensions of formats sharp decodes (HEIC only where libvips was built with it). */
export const PHOTO_EXTENSIONS: ReadonlySet<string> = new Set(['.jpg', '.jpeg', '.jpe', '.png', '.webp', '.tif', '.tiff', '.gif', '.avif', '.heic', '.heif'])

/** A photo-named file; hidden files are left out (macOS' "._x.jpg" resource forks are not photos). */
export function isPhotoName(name: string): boolean {
  return !name.startsWith('.') && PHOTO_EXTENSIONS.has(extname(name).toLowerCase())
}

export interface ScannedFile {
  /** Path below the root, '/'-separated. */
  relPath: string
  size: number
  mtimeMs: number
  /** Set when the file cannot even be looked at (e.g. a symlink loop); it becomes a failed row. */
  error?: string
}

export interface ScanResult {
  files: ScannedFile[]
  /** Folders that could not be read; they have no rows, but the user is told. */
  unreadableFolders: { relPath: string; reason: string }[]
}

export function statError(err: unknown): string {
  switch ((err as NodeJS.ErrnoException).code) {
    case 'ELOOP':
      return 'symbolic link loop'
    case 'EACCES':
    case 'EPERM':
      return 'permission denied'
    case 'ENOENT':
      return 'file vanished during scan'
    case 'ENAMETOOLONG':
      return 'file name too long'
    default:
      return `cannot read file: ${(err as Error).message}`
  }
}

export const OUTSIDE_LINK = 'symbolic link to a file outside the library folder (add that folder to the library instead)'

/**
 * One photo-named path below a root as the library sees it: a file with its size and time, a
 * failure (a link that loops, dangles or leads out of the root), or null (gone, or not a file).
 * `realRoot` is the root with its own symlinks resolved.
 */
export async function examineFile(root: string, realRoot: string, relPath: string): Promise<ScannedFile | null> {
  const path = join(root, relPath)
  let link
  try {
    link = await lstat(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    return { relPath, size: 0, mtimeMs: 0, error: statError(err) }
  }
  if (link.isSymbolicLink()) {
    let target: string
    try {
      target = await realpath(path)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      return { relPath, size: 0, mtimeMs: 0, error: code === 'ENOENT' ? 'broken symbolic link' : statError(err) }
    }
    if (!isInside(realRoot, target)) return { relPath, size: 0, mtimeMs: 0, error: OUTSIDE_LINK }
  } else if (!link.isFile()) {
    return null
  }
  try {
    const info = await stat(path)
    return info.isFile() ? { relPath, size: info.size, mtimeMs: Math.floor(info.mtimeMs) } : null
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    return { relPath, size: 0, mtimeMs: 0, error: statError(err) }
  }
}

export async function scanFolder(root: string, signal?: AbortSignal): Promise<ScanResult> {
  const realRoot = await realpath(root).catch(() => root)
  const files: ScannedFile[] = []
  const unreadableFolders: ScanResult['unreadableFolders'] = []
  const walk = async (relDir: string): Promise<void> => {
    signal?.throwIfAborted()
    let entries
    try {
      entries = await readdir(join(root, relDir), { withFileTypes: true })
    } catch (err) {
      // An unreachable root (unmounted share, removed disk) must not read as "every photo deleted".
      if (relDir === '') throw new ApiError('unavailable', `Library folder is not reachable: ${root} (${statError(err)})`)
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') unreadableFolders.push({ relPath: relDir, reason: statError(err) })
      return
    }
    for (const entry of entries) {
      const relPath = relDir ? `${relDir}/${entry.name}` : entry.name
      if (entry.isDirectory()) {
        if (!entry.name.startsWith('.')) await walk(relPath)
        continue
      }
      if (!isPhotoName(entry.name) || !(entry.isFile() || entry.isSymbolicLink())) continue
      const file = await examineFile(root, realRoot, relPath)
      if (file) files.push(file)
    }
  }
  await walk('')
  files.sort((a, b) => (a.relPath < b.relPath ? -1 : a.relPath > b.relPath ? 1 : 0))
  return { files, unreadableFolders }
}
