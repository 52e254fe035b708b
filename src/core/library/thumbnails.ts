// Thumbnails are cached by content hash in the app-data folder (never beside the photos): a
// duplicate or moved file reuses the one it already has.
import { existsSync } from 'node:fs'
import { mkdir, rename, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'

export function thumbnailPath(thumbnailDir: string, hash: string): string {
  return join(thumbnailDir, hash.slice(0, 2), `${hash}.jpg`)
}

export function hasThumbnail(thumbnailDir: string, hash: string): boolean {
  return existsSync(thumbnailPath(thumbnailDir, hash))
}

/** Writes via a temporary file and rename, so a crash never leaves half a thumbnail. */
export async function saveThumbnail(thumbnailDir: string, hash: string, jpeg: Buffer): Promise<void> {
  const file = thumbnailPath(thumbnailDir, hash)
  await mkdir(dirname(file), { recursive: true })
  const temp = `${file}.${process.pid}.tmp`
  await writeFile(temp, jpeg)
  await rename(temp, file)
}
