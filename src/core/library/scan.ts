// Finding photo files under a root. Directory symlinks are not followed (that is how a symlink
// loop can never trap the scan); file symlinks are, and a looping one is reported, not skipped.
import { readdir, stat } from 'node:fs/promises'
import { extname, join } from 'node:path'
import { ApiError } from '../../shared/contract.ts'

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

export async function scanFolder(root: string, signal?: AbortSignal): Promise<ScanResult> {
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
      try {
        const info = await stat(join(root, relPath))
        if (info.isFile()) files.push({ relPath, size: info.size, mtimeMs: Math.floor(info.mtimeMs) })
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code
        if (code === 'ENOENT' && !entry.isSymbolicLink()) continue // gone before we looked: nothing to index
        files.push({ relPath, size: 0, mtimeMs: 0, error: code === 'ENOENT' ? 'broken symbolic link' : statError(err) })
      }
    }
  }
  await walk('')
  files.sort((a, b) => (a.relPath < b.relPath ? -1 : a.relPath > b.relPath ? 1 : 0))
  return { files, unreadableFolders }
}
