// Duplicates and similar shots: candidate pairs from the code scan at a short code length, confirmed
// by the exact cosine of the stored features, grouped at a threshold the user can move. Pairs
// whose perceptual hashes are a few bits apart are candidates too, and their cosine is lifted a
// little (a tiny copy's feature is a poor likeness of its original's; its hash is not). The
// whole-library pass runs as a job, first hashing the stored thumbnails of photos indexed before
// the library kept hashes; after it, photos new to the search matrix are checked against the
// library on their own (when the library changes, and before every report). What the user
// decided (not duplicates, stacks, thresholds) lives in the library file, by content hash.
import { ApiError } from '../../shared/contract.ts'
import type { DuplicateDecisions, DuplicateGroup, DuplicatePhoto, DuplicateReport, DuplicateTier, PhotoStack } from '../../shared/types.ts'
import { candidatePairs, codewordDistances, mergePairs } from '../duplicates/candidates.ts'
import { BURST_BONUS, BURST_WINDOW_MS, CANDIDATES, DEFAULT_THRESHOLDS, HASH_RULE, THRESHOLD_FLOOR } from '../duplicates/defaults.ts'
import { hashLiftedScores, pairCosines } from '../duplicates/confirm.ts'
import { hashCandidatePairs } from '../duplicates/hash-candidates.ts'
import { hashStoredThumbnails } from '../library/hash-thumbnails.ts'
import { burstScores, groupPairs, type ScoredPairs } from '../duplicates/groups.ts'
import { suggestKeeper } from '../duplicates/keeper.ts'
import {
  albumsOf,
  carryAlbums,
  copyFacts,
  dismissedPairs,
  dismissHashes,
  duplicateDecisions,
  exifTimes,
  packedFeatures,
  savedThreshold,
  saveThreshold,
} from '../store/duplicates.ts'
import { packedPerceptualHashes } from '../store/perceptual-hashes.ts'
import { deletePhotos, photoFile } from '../store/photos.ts'
import { createStack, listStackRows, removeStackOf } from '../store/stacks.ts'
import type { CodeKeeper } from './codes.ts'
import type { ServiceContext } from './context.ts'
import type { JobTracker } from './jobs.ts'
import type { LibrarySearch, SearchModel } from './search.ts'

/** Rows per step of the pass, between which searches and cancellation get their turn. */
const CHUNK = 256
const CATCH_UP_DELAY_MS = 1500

export interface DuplicateFinder {
  report(tier: DuplicateTier, threshold: number | undefined, limit: number): Promise<DuplicateReport>
  scan(): { jobId: number }
  dismiss(photoIds: readonly number[]): void
  stack(keeperId: number, photoIds: readonly number[]): PhotoStack
  unstack(photoId: number): void
  stacks(): PhotoStack[]
  setThreshold(tier: DuplicateTier, threshold: number): void
  decisions(): DuplicateDecisions
  /** Carries the albums of `photoIds` to the keeper and returns their files, checked inside the library. */
  handOver(keeperId: number, photoIds: readonly number[]): { id: number; file: string }[]
  /** Photos whose files went to the trash leave the library. */
  forget(photoIds: readonly number[]): void
  close(): void
}

/** Confirmed pairs above the floor, and which photo (at which content) was checked. */
interface Found {
  a: number[]
  b: number[]
  score: number[]
  checked: Map<number, string>
  /** Whose features the scores are cosines of: a feature upgrade makes them incomparable. */
  backbone: string
}

export function createDuplicateFinder(ctx: ServiceContext, jobs: JobTracker, search: LibrarySearch, codes: CodeKeeper): DuplicateFinder {
  const { db } = ctx
  let found: Found | null = null
  let scanning: { jobId: number; done: Promise<unknown> } | null = null
  let catchUpTimer: NodeJS.Timeout | null = null
  /** A pass was started in this session: after one is cancelled or fails, none starts on its own. */
  let attempted = false

  const threshold = (tier: DuplicateTier) => savedThreshold(db, tier) ?? DEFAULT_THRESHOLDS[tier]

  function scan(): { jobId: number } {
    if (scanning) return { jobId: scanning.jobId }
    attempted = true
    const started = jobs.start('duplicates', {}, async (job) => {
      await codes.idle()
      // one turn of the event loop first, so a Cancel sent with the start is seen before any work
      await new Promise((resolve) => setImmediate(resolve))
      job.checkCancelled()
      searchSnapshot()
      await hashStoredThumbnails(db, ctx.thumbnailDir, async ({ done, total }) => {
        job.report({ done, total, current: 'hashing thumbnails' })
        job.checkCancelled()
        await new Promise((resolve) => setImmediate(resolve))
      })
      // again: the model may have changed while the thumbnails were hashed
      const { matrix, model, hashes } = searchSnapshot()
      const dist = distancesOf(model)
      const total = matrix.size
      const lists: { a: Int32Array; b: Int32Array }[] = [hashPairs(matrix.ids.subarray(0, total), hashes)]
      for (let start = 0; start < total; start += CHUNK) {
        const rows = Int32Array.from({ length: Math.min(CHUNK, total - start) }, (_, i) => start + i)
        lists.push(candidatePairs(matrix, dist, model.model.K, { ...CANDIDATES, rows }))
        job.report({ done: start + rows.length, total, current: 'comparing codes' })
        job.checkCancelled()
        await new Promise((resolve) => setImmediate(resolve))
      }
      job.checkCancelled()
      const pairs = mergePairs(lists)
      job.report({ done: total, total, current: 'comparing features' })
      const confirmed = confirm(model, hashes, pairs)
      found = { ...confirmed, checked: new Map([...matrix.ids.subarray(0, total)].map((id) => [id, hashes.get(id) ?? ''])), backbone: model.backbone }
      ctx.events.emit({ type: 'library-changed' })
      return { photos: total, pairs: confirmed.a.length }
    })
    scanning = started
    void started.done.finally(() => {
      if (scanning === started) scanning = null
    })
    return { jobId: started.jobId }
  }

  function searchSnapshot(): NonNullable<ReturnType<LibrarySearch['snapshot']>> {
    const snap = search.snapshot()
    if (!snap) throw new ApiError('unavailable', 'No search model yet: add a folder and let indexing finish')
    return snap
  }

  let distances: { modelId: number; dist: Float32Array } | null = null
  function distancesOf(model: SearchModel): Float32Array {
    if (distances?.modelId !== model.id) {
      const { codebooks, M, K, D } = model.model
      distances = { modelId: model.id, dist: codewordDistances(codebooks, M, K, D, Math.min(CANDIDATES.blocks, M)) }
    }
    return distances.dist
  }

  /** Pairs among these photos (or with one end among `rows`) whose perceptual hashes are close. */
  function hashPairs(ids: Int32Array, hashes: Map<number, string>, rows?: Int32Array): { a: Int32Array; b: Int32Array } {
    const { values, known } = packedPerceptualHashes(db, Array.from(ids, (id) => hashes.get(id) ?? ''))
    return hashCandidatePairs(values, Int32Array.from(ids), HASH_RULE.maxDistance, { known, rows })
  }

  /** Feature cosines of candidate pairs, lifted where the hashes agree; those at or above the floor are kept. */
  function confirm(model: SearchModel, hashes: Map<number, string>, pairs: { a: Int32Array; b: Int32Array }): Omit<Found, 'checked' | 'backbone'> {
    // one feature row per photo in the pairs, read in one pass
    const rowOf = new Map<number, number>()
    const order: string[] = []
    const row = (id: number) => {
      let r = rowOf.get(id)
      if (r === undefined) {
        r = order.length
        rowOf.set(id, r)
        order.push(hashes.get(id) ?? '')
      }
      return r
    }
    const rowA = Int32Array.from(pairs.a, row)
    const rowB = Int32Array.from(pairs.b, row)
    const { dim, vectors } = packedFeatures(db, model.backbone, order)
    const out: Omit<Found, 'checked' | 'backbone'> = { a: [], b: [], score: [] }
    if (dim === 0) return out
    const perceptual = packedPerceptualHashes(db, order)
    const cosines = hashLiftedScores(pairCosines(vectors, dim, rowA, rowB), perceptual.values, perceptual.known, rowA, rowB, HASH_RULE)
    for (let i = 0; i < cosines.length; i++) {
      if (cosines[i] < THRESHOLD_FLOOR) continue
      out.a.push(pairs.a[i])
      out.b.push(pairs.b[i])
      out.score.push(cosines[i])
    }
    return out
  }

  /** Checks photos the matrix gained (or whose content changed) since the pass against the library. */
  function catchUp(): void {
    dropOtherFeature()
    if (!found || scanning) return
    const current = search.photoHashes
    const fresh: number[] = []
    for (const [id, hash] of current) if (found.checked.get(id) !== hash) fresh.push(id)
    if (fresh.length === 0) return
    const snap = search.snapshot()
    if (!snap) return
    const { matrix, model, hashes } = snap
    const rows = Int32Array.from(fresh.map((id) => matrix.rowOf(id)).filter((r) => r >= 0))
    const pairs = mergePairs([candidatePairs(matrix, distancesOf(model), model.model.K, { ...CANDIDATES, rows }), hashPairs(matrix.ids.subarray(0, matrix.size), hashes, rows)])
    const confirmed = confirm(model, hashes, pairs)
    const redo = new Set(fresh)
    const keep = found.a.map((a, i) => !redo.has(a) && !redo.has(found!.b[i]))
    found = {
      a: [...found.a.filter((_, i) => keep[i]), ...confirmed.a],
      b: [...found.b.filter((_, i) => keep[i]), ...confirmed.b],
      score: [...found.score.filter((_, i) => keep[i]), ...confirmed.score],
      checked: found.checked,
      backbone: found.backbone,
    }
    for (const id of fresh) found.checked.set(id, hashes.get(id) ?? '')
  }

  const offEvents = ctx.events.on((event) => {
    if (event.type !== 'library-changed' || !found || catchUpTimer) return
    catchUpTimer = setTimeout(() => {
      catchUpTimer = null
      try {
        catchUp()
      } catch (err) {
        console.error('lookalike: checking new photos for duplicates failed:', err)
      }
    }, CATCH_UP_DELAY_MS)
  })

  /** Photo ids by content, for the photos the search holds. */
  function idsByHash(): Map<string, number[]> {
    const out = new Map<string, number[]>()
    for (const [id, hash] of search.photoHashes) {
      const list = out.get(hash)
      if (list) list.push(id)
      else out.set(hash, [id])
    }
    return out
  }

  function groupsAt(tier: DuplicateTier, at: number): { groups: Int32Array[]; pairs: ScoredPairs } {
    const pairs: ScoredPairs = { a: Int32Array.from(found!.a), b: Int32Array.from(found!.b), score: Float32Array.from(found!.score) }
    const current = search.photoHashes
    const include = (id: number) => current.has(id)
    const byHash = idsByHash()
    const apart = new Map<number, Set<number>>()
    const separate = (x: number, y: number) => {
      const set = apart.get(x) ?? new Set<number>()
      set.add(y)
      apart.set(x, set)
    }
    for (const { a, b } of dismissedPairs(db)) {
      for (const x of byHash.get(a) ?? []) for (const y of byHash.get(b) ?? []) if (x !== y) (separate(x, y), separate(y, x))
    }
    const stackOf = new Map<string, number>()
    for (const s of listStackRows(db)) for (const h of s.hashes) stackOf.set(h, s.stackId)
    const resolved = (g: Int32Array) => {
      const first = stackOf.get(current.get(g[0]) ?? '')
      return first !== undefined && g.every((id) => stackOf.get(current.get(id) ?? '') === first)
    }
    if (tier === 'duplicates') return { groups: groupPairs(pairs, at, apart, include).filter((g) => !resolved(g)), pairs }
    const times = exifTimes(db)
    const lifted = { ...pairs, score: burstScores(pairs, (id) => times.get(id) ?? null, BURST_WINDOW_MS, BURST_BONUS) }
    const same = new Set(groupPairs(pairs, threshold('duplicates'), apart, include).map((g) => g.join('-')))
    return { groups: groupPairs(lifted, at, apart, include).filter((g) => !resolved(g) && !same.has(g.join('-'))), pairs: lifted }
  }

  function describe(group: Int32Array, pairs: ScoredPairs, at: number): DuplicateGroup | null {
    const ids = [...group]
    const facts = copyFacts(db, ids)
    if (facts.size < 2) return null
    const albums = albumsOf(db, ids)
    const members = new Set(ids)
    const best = new Map<number, number>()
    const bar = Math.fround(at)
    for (let i = 0; i < pairs.a.length; i++) {
      const a = pairs.a[i]
      const b = pairs.b[i]
      if (pairs.score[i] < bar || !members.has(a) || !members.has(b)) continue
      const s = Math.min(1, pairs.score[i])
      best.set(a, Math.max(best.get(a) ?? 0, s))
      best.set(b, Math.max(best.get(b) ?? 0, s))
    }
    const photos: DuplicatePhoto[] = ids.flatMap((id) => {
      const f = facts.get(id)
      if (!f) return []
      return [
        {
          id,
          path: f.path,
          width: f.width,
          height: f.height,
          size: f.size,
          format: formatOf(f.path),
          takenAt: f.exifTakenAt ?? f.mtimeMs,
          exifTime: f.exifTakenAt !== null,
          camera: f.camera,
          albums: albums.get(id) ?? [],
          score: best.get(id) ?? 0,
        },
      ]
    })
    const keeperId = suggestKeeper(photos)
    photos.sort((x, y) => (x.id === keeperId ? -1 : y.id === keeperId ? 1 : x.id - y.id))
    return { key: ids.join('-'), photos, keeperId }
  }

  function hashOf(id: number): string {
    const hash = search.photoHashes.get(id) ?? copyFacts(db, [id]).get(id)?.hash
    if (!hash) throw new ApiError('not-found', `No photo with id ${id}`)
    return hash
  }

  /** Pairs scored with another feature than the search's (before a feature upgrade's switch) are scanned again. */
  function dropOtherFeature(): void {
    if (!found || !search.model || found.backbone === search.model.backbone) return
    found = null
    attempted = false
  }

  return {
    async report(tier, at, limit) {
      dropOtherFeature()
      const saved = threshold(tier)
      const level = at ?? saved
      const base = { tier, threshold: level, savedThreshold: saved, range: [THRESHOLD_FLOOR, 1] as [number, number] }
      if (!found && !scanning && attempted) return { ...base, state: 'not-scanned', jobId: null, checked: 0, total: 0, groups: [] }
      if (!found && !scanning) {
        if (!search.model) {
          if (!ctx.hasEmbedder && search.size === 0) return { ...base, state: 'no-model', jobId: null, checked: 0, total: 0, groups: [] }
          await codes.idle()
        }
        if (!search.model) return { ...base, state: 'no-model', jobId: null, checked: 0, total: 0, groups: [] }
        scan()
      }
      if (!found) return { ...base, state: 'scanning', jobId: scanning?.jobId ?? null, checked: 0, total: 0, groups: [] }
      catchUp()
      const { groups, pairs } = groupsAt(tier, level)
      const described = groups
        .slice(0, limit)
        .map((g) => describe(g, pairs, level))
        .filter((g): g is DuplicateGroup => g !== null)
      return { ...base, state: scanning ? 'scanning' : 'ready', jobId: scanning?.jobId ?? null, checked: found.checked.size, total: groups.length, groups: described }
    },
    scan,
    dismiss(photoIds) {
      dismissHashes(db, photoIds.map(hashOf))
    },
    stack(keeperId, photoIds) {
      const keeperHash = hashOf(keeperId)
      const stackId = createStack(db, keeperHash, photoIds.map(hashOf))
      ctx.events.emit({ type: 'library-changed' })
      return this.stacks().find((s) => s.stackId === stackId) ?? { stackId, keeperId, photoIds: [keeperId, ...photoIds] }
    },
    unstack(photoId) {
      if (!removeStackOf(db, hashOf(photoId))) throw new ApiError('not-found', `Photo ${photoId} is in no stack`)
      ctx.events.emit({ type: 'library-changed' })
    },
    stacks() {
      const byHash = idsByHash()
      return listStackRows(db).flatMap((s) => {
        const photoIds = s.hashes.flatMap((h) => byHash.get(h) ?? []).sort((x, y) => x - y)
        const keeperId = Math.min(...(byHash.get(s.keeperHash) ?? []))
        return Number.isFinite(keeperId) && photoIds.length > 1 ? [{ stackId: s.stackId, keeperId, photoIds }] : []
      })
    },
    setThreshold(tier, value) {
      saveThreshold(db, tier, value)
    },
    decisions() {
      return duplicateDecisions(db)
    },
    handOver(keeperId, photoIds) {
      const others = [...new Set(photoIds)].filter((id) => id !== keeperId)
      if (others.length === 0) throw new ApiError('bad-request', 'Nothing to remove: the keeper is the only photo')
      const facts = copyFacts(db, [keeperId, ...others])
      for (const id of [keeperId, ...others]) if (!facts.has(id)) throw new ApiError('not-found', `No photo with id ${id}`)
      // Both ends are checked on disk before anything changes: the keeper must still be there.
      const keeperFile = photoFile(db, keeperId)
      const files = others.map((id) => ({ id, file: photoFile(db, id) }))
      if (files.some((f) => f.file === keeperFile)) throw new ApiError('bad-request', 'The keeper and a copy to remove are the same file')
      carryAlbums(db, keeperId, others)
      ctx.events.emit({ type: 'library-changed' })
      return files
    },
    forget(photoIds) {
      if (photoIds.length === 0) return
      deletePhotos(db, photoIds)
      search.prune()
      ctx.events.emit({ type: 'library-changed' })
    },
    close() {
      offEvents()
      if (catchUpTimer) clearTimeout(catchUpTimer)
    },
  }
}

/** 'JPEG', 'PNG', … from a file name. */
export function formatOf(path: string): string {
  const ext = /\.([^./\\]+)$/.exec(path)?.[1]?.toLowerCase() ?? ''
  const names: Record<string, string> = { jpg: 'JPEG', jpeg: 'JPEG', png: 'PNG', webp: 'WebP', heic: 'HEIC', heif: 'HEIF', tif: 'TIFF', tiff: 'TIFF', gif: 'GIF', avif: 'AVIF' }
  return names[ext] ?? (ext.toUpperCase() || '?')
}
