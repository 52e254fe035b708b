// Choosing a folder on the machine that runs Lookalike when the window cannot show a native
// picker (web mode): the sub-folders of one folder at a time, starting at the home folder of the
// user running the service. Folder names only: no files are listed and nothing is read.
import { readdir } from 'node:fs/promises'
import { homedir } from 'node:os'
import { dirname, isAbsolute, join, parse, resolve } from 'node:path'
import { ApiError } from '../../shared/contract.ts'
import type { FolderListing } from '../../shared/types.ts'

/** `~` and `~/…` name the home folder of the user running Lookalike, as in a shell. */
export function expandHome(path: string, home = homedir()): string {
  if (path === '~') return home
  if (path.startsWith('~/') || path.startsWith('~\\')) return join(home, path.slice(2))
  return path
}

export async function browseFolders(path: string | undefined, home = homedir()): Promise<FolderListing> {
  const folder = resolve(expandHome(path?.trim() || home, home))
  if (!isAbsolute(folder)) throw new ApiError('bad-request', `Not an absolute path: ${path}`)
  let entries
  try {
    entries = await readdir(folder, { withFileTypes: true })
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw new ApiError('not-found', `No such folder: ${folder}`)
    if (code === 'ENOTDIR') throw new ApiError('bad-request', `Not a folder: ${folder}`)
    if (code === 'EACCES' || code === 'EPERM') throw new ApiError('bad-request', `Permission denied: ${folder}`)
    throw err
  }
  // Symbolic links are not followed by the indexer, so they are not offered; hidden folders are left out.
  const folders = entries
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => ({ name: e.name, path: join(folder, e.name) }))
    .sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true, sensitivity: 'base' }))
  const root = parse(folder).root
  return { path: folder, parent: folder === root ? null : dirname(folder), home, folders }
}
