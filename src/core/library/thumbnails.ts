// Thumbnails are cached by content hash in the app-data folder (never beside the photos): a
// duplicate or moved file reuses the one it already has. The cache heals itself: a missing
// thumbnail (or the whole folder) is made again from the photo, and a temporary file left by a
// crash or a full disk is removed.
import { existsSync } from 'node:fs'
import { mkdir, readdir, rename, unlink, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { processAlive } from '../jobs/alive.ts'

export function thumbnailPath(thumbnailDir: string, hash: string): string {
  return join(thumbnailDir, hash.slice(0, 2), `${hash}.jpg`)
}

export function hasThumbnail(thumbnailDir: string, hash: string): boolean {
  return existsSync(thumbnailPath(thumbnailDir, hash))
}

/**
 * Thumbnails written by this process whose photo rows are not committed yet: garbage collection
 * (which removes thumbnails no row has) leaves them alone until `thumbnailsCommitted`.
 */
const uncommitted = new Map<string, number>()

export function isUncommitted(hash: string): boolean {
  return uncommitted.has(hash)
}

/** The rows of these thumbnails are written (or will never be): they are ordinary cache entries again. */
export function thumbnailsCommitted(hashes: Iterable<string>): void {
  for (const hash of hashes) {
    const n = (uncommitted.get(hash) ?? 0) - 1
    if (n > 0) uncommitted.set(hash, n)
    else uncommitted.delete(hash)
  }
}

/** Writes via a temporary file and rename, so a crash never leaves half a thumbnail. */
export async function saveThumbnail(thumbnailDir: string, hash: string, jpeg: Buffer): Promise<void> {
  uncommitted.set(hash, (uncommitted.get(hash) ?? 0) + 1)
  const file = thumbnailPath(thumbnailDir, hash)
  await mkdir(dirname(file), { recursive: true })
  const temp = `${file}.${process.pid}.tmp`
  try {
    await writeFile(temp, jpeg)
    await rename(temp, file)
  } catch (err) {
    await unlink(temp).catch(() => {}) // a full disk leaves a partial file behind
    throw err
  }
}

export interface ThumbnailInventory {
  /** Content hashes that have a thumbnail file. */
  hashes: Set<string>
  /** Temporary files (`<hash>.jpg.<pid>.tmp`) with the pid of the process that wrote them. */
  temporary: { file: string; pid: number }[]
}

const thumbnailName = /^([0-9a-f]{64})\.jpg$/
const temporaryName = /^[0-9a-f]{64}\.jpg\.(\d+)\.tmp$/

/** What the cache holds, from one listing per sub-folder; an absent folder holds nothing. */
export async function thumbnailInventory(thumbnailDir: string): Promise<ThumbnailInventory> {
  const inventory: ThumbnailInventory = { hashes: new Set(), temporary: [] }
  const folders = await readdir(thumbnailDir, { withFileTypes: true }).catch(() => [])
  for (const folder of folders) {
    if (!folder.isDirectory() || !/^[0-9a-f]{2}$/.test(folder.name)) continue
    const names = await readdir(join(thumbnailDir, folder.name)).catch(() => [] as string[])
    for (const name of names) {
      const thumb = thumbnailName.exec(name)
      if (thumb) inventory.hashes.add(thumb[1])
      const temp = temporaryName.exec(name)
      if (temp) inventory.temporary.push({ file: join(thumbnailDir, folder.name, name), pid: Number(temp[1]) })
    }
  }
  return inventory
}

/** Removes temporary files whose writer is gone (crashed, killed, or hit a full disk); returns how many. */
export async function removeLeftoverTemporaries(inventory: ThumbnailInventory): Promise<number> {
  let removed = 0
  for (const { file, pid } of inventory.temporary) {
    if (pid === process.pid || processAlive(pid)) continue
    await unlink(file).then(
      () => removed++,
      () => {},
    )
  }
  return removed
}
