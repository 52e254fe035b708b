// A full disk, said as such: "disk full: 3 MB free on /home", whether SQLite (SQLITE_FULL) or a
// file write (ENOSPC, EDQUOT) ran into it, instead of "database or disk is full".
import { statSync, statfsSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { ApiError } from '../shared/contract.ts'

export class DiskFullError extends ApiError {
  constructor(
    message: string,
    readonly volume: string,
    readonly freeBytes: number,
  ) {
    super('unavailable', message)
    this.name = 'DiskFullError'
  }
}

export function isDiskFull(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code
  return err instanceof DiskFullError || code === 'ENOSPC' || code === 'EDQUOT' || code === 'SQLITE_FULL'
}

/** The mount point holding `path`: the last folder up the tree still on the same device. */
export function volumeOf(path: string): string {
  let current = resolve(path)
  // A file not written yet: start from the nearest folder that exists.
  while (!exists(current) && dirname(current) !== current) current = dirname(current)
  const device = statSync(current).dev
  for (let parent = dirname(current); parent !== current; current = parent, parent = dirname(current)) {
    if (statSync(parent).dev !== device) return current
  }
  return current
}

function exists(path: string): boolean {
  try {
    statSync(path)
    return true
  } catch {
    return false
  }
}

/**
 * Indexing stops while this much is still free: enough for a batch of thumbnails and for the
 * library to record why it stopped (a job row written to a disk with 0 bytes free stays 'running').
 */
export const MIN_FREE_BYTES = 4 * 2 ** 20

function freeBytes(path: string): number | null {
  try {
    const fs = statfsSync(path)
    return fs.bavail * fs.bsize
  } catch {
    return null
  }
}

/** Throws DiskFullError when the volume of any of these paths has less than `minBytes` free. */
export function requireFreeSpace(paths: readonly string[], minBytes = MIN_FREE_BYTES): void {
  for (const path of paths) {
    const volume = volumeOf(path)
    const free = freeBytes(volume)
    if (free !== null && free < minBytes) throw diskFullError(path)
  }
}

/** The error to report for a full disk met while writing near `path` (the file being written, or the library file). */
export function diskFullError(path: string): DiskFullError {
  const volume = volumeOf(path)
  const free = freeBytes(volume) ?? 0
  const mb = free / 2 ** 20
  return new DiskFullError(`disk full: ${mb < 10 ? mb.toFixed(1) : Math.round(mb)} MB free on ${volume}`, volume, free)
}

/** A full-disk error in the user's words (the path it names, or else `fallbackPath`); any other error as it is. */
export function explainDiskFull(err: unknown, fallbackPath: string): unknown {
  if (!isDiskFull(err) || err instanceof DiskFullError) return err
  const path = (err as NodeJS.ErrnoException).path
  return diskFullError(typeof path === 'string' ? path : fallbackPath)
}
