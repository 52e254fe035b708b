// Perceptual hashes for photos indexed before the library kept them: each is computed from the
// stored thumbnail (the photo folders are not read again), in batches of one transaction each, so
// an interrupted run keeps what it wrote and the next one carries on. A photo whose thumbnail is
// missing is left without a hash until indexing makes the thumbnail again.
import { existsSync } from 'node:fs'
import type { Db } from '../store/db.ts'
import { hashesWithoutPerceptualHash, putPerceptualHashes } from '../store/perceptual-hashes.ts'
import { thumbnailHash } from './thumbnail-hash.ts'
import { thumbnailPath } from './thumbnails.ts'

const BATCH = 64

export interface HashProgress {
  done: number
  total: number
}

/**
 * Hashes every stored thumbnail whose content has no perceptual hash; returns how many were
 * hashed. `onBatch` runs after each batch is written (progress; throw there to stop).
 */
export async function hashStoredThumbnails(db: Db, thumbnailDir: string, onBatch: (progress: HashProgress) => void | Promise<void> = () => {}): Promise<number> {
  const todo = hashesWithoutPerceptualHash(db)
  let hashed = 0
  for (let start = 0; start < todo.length; start += BATCH) {
    const rows: { hash: string; value: Uint32Array }[] = []
    for (const hash of todo.slice(start, start + BATCH)) {
      const file = thumbnailPath(thumbnailDir, hash)
      if (!existsSync(file)) continue
      try {
        rows.push({ hash, value: await thumbnailHash(file) })
      } catch {
        // an unreadable thumbnail is made again by the next index, and hashed there
      }
    }
    putPerceptualHashes(db, rows)
    hashed += rows.length
    await onBatch({ done: Math.min(todo.length, start + BATCH), total: todo.length })
  }
  return hashed
}
