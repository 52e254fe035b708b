// The one API contract. Electron IPC, the web-mode HTTP server and direct calls all use this
// list: channel names and argument schemas live here once, and both sides are derived from it.
import { z } from 'zod'
import type {
  Album,
  DuplicateReport,
  PhotoStack,
  TrashResult,
  Failure,
  FolderAlbum,
  FolderListing,
  LibraryStatus,
  PhotoDetail,
  PhotoSummary,
  PrecisionInfo,
  Root,
  SimilarAnswer,
  TrainPlan,
  VacuumResult,
} from './types.ts'

const id = z.number().int().positive()
const bits = z.union([z.literal(8), z.literal(16), z.literal(24), z.literal(32), z.literal(40), z.literal(48), z.literal(56), z.literal(64)])
export const precisionSchema = z.union([bits, z.literal('exact')])
const duplicateTier = z.enum(['duplicates', 'similar'])

const filter = z
  .object({
    albumId: id.optional(),
    rootId: id.optional(),
    /** ms since epoch, inclusive */
    from: z.number().optional(),
    to: z.number().optional(),
  })
  .strict()

export const contract = {
  /** `storage: true` adds the file's size and orphan counts (lists the thumbnail folder: not for every refresh). */
  status: { input: z.object({ storage: z.boolean().optional() }).strict(), output: {} as LibraryStatus },
  listRoots: { input: z.object({}).strict(), output: [] as Root[] },
  addRoot: { input: z.object({ path: z.string().min(1).max(4096) }).strict(), output: {} as Root },
  removeRoot: { input: z.object({ id }).strict(), output: null },
  /** Sub-folders of a folder on the machine running Lookalike (the home folder when no path); names only, no files. */
  browseFolders: { input: z.object({ path: z.string().max(4096).optional() }).strict(), output: {} as FolderListing },
  listFolders: { input: z.object({ rootId: id }).strict(), output: [] as { path: string; photos: number }[] },
  listPhotos: {
    input: z
      .object({
        sort: z.enum(['date', 'name']).default('date'),
        albumId: id.optional(),
        rootId: id.optional(),
        folder: z.string().max(4096).optional(),
        offset: z.number().int().min(0).default(0),
        limit: z.number().int().min(1).max(100_000).default(500),
      })
      .strict(),
    output: {} as { total: number; photos: PhotoSummary[] },
  },
  getPhoto: { input: z.object({ id }).strict(), output: {} as PhotoDetail },
  listFailures: {
    input: z.object({ limit: z.number().int().min(1).max(10_000).default(200) }).strict(),
    output: [] as Failure[],
  },
  similar: {
    input: z
      .object({
        photoId: id,
        precision: precisionSchema.default(64),
        k: z.number().int().min(1).max(1000).default(60),
        filter: filter.optional(),
      })
      .strict(),
    output: {} as SimilarAnswer,
  },
  /** Search by an image that is not in the library (dropped onto the window). */
  similarToImage: {
    input: z
      .object({
        /** base64 of the file's bytes; 64 MB cap */
        data: z.string().min(1).max(90_000_000),
        precision: precisionSchema.default(64),
        k: z.number().int().min(1).max(1000).default(60),
      })
      .strict(),
    output: {} as SimilarAnswer,
  },
  precisionInfo: { input: z.object({}).strict(), output: [] as PrecisionInfo[] },
  listAlbums: { input: z.object({}).strict(), output: [] as Album[] },
  /** The albums each listed photo is in. */
  albumsOfPhotos: { input: z.object({ photoIds: z.array(id).min(1).max(1000) }).strict(), output: [] as { photoId: number; albumIds: number[] }[] },
  createAlbum: { input: z.object({ name: z.string().trim().min(1).max(200) }).strict(), output: {} as Album },
  renameAlbum: { input: z.object({ id, name: z.string().trim().min(1).max(200) }).strict(), output: {} as Album },
  deleteAlbum: { input: z.object({ id }).strict(), output: null },
  addToAlbum: { input: z.object({ albumId: id, photoIds: z.array(id).min(1).max(100_000) }).strict(), output: {} as Album },
  removeFromAlbum: { input: z.object({ albumId: id, photoIds: z.array(id).min(1).max(100_000) }).strict(), output: {} as Album },
  /** One album per first-level sub-folder of each library folder, holding every photo beneath it. */
  importFolderAlbums: { input: z.object({}).strict(), output: [] as FolderAlbum[] },
  /** What Retrain would do by default here, and what deeper fine-tuning would cost. */
  trainPlan: { input: z.object({}).strict(), output: {} as TrainPlan },
  /** Starts DPQ fine-tuning on the albums; progress arrives as job events. */
  train: { input: z.object({ finetune: z.enum(['off', 'late']).optional() }).strict(), output: {} as { jobId: number } },
  cancelJob: { input: z.object({ jobId: id }).strict(), output: null },
  /** Removes orphans and gives the library file's free pages back to the disk. */
  vacuum: { input: z.object({}).strict(), output: {} as VacuumResult },
  /** Groups of look-alike photos at a threshold; starts the whole-library pass when none ran yet. */
  duplicates: {
    input: z
      .object({
        tier: duplicateTier.default('duplicates'),
        /** Score (feature cosine, lifted where perceptual hashes agree); default: the saved threshold of the tier. */
        threshold: z.number().min(0).max(1).optional(),
        limit: z.number().int().min(1).max(10_000).default(200),
      })
      .strict(),
    output: {} as DuplicateReport,
  },
  /** Runs the whole-library duplicate pass again, as a job (cancelJob stops it). */
  scanDuplicates: { input: z.object({}).strict(), output: {} as { jobId: number } },
  /** "Not duplicates": these photos are never grouped together again. */
  dismissDuplicates: { input: z.object({ photoIds: z.array(id).min(2).max(1000) }).strict(), output: null },
  /** One tile in the grid for these photos (the keeper's); files are not touched. */
  stackPhotos: { input: z.object({ keeperId: id, photoIds: z.array(id).min(1).max(10_000) }).strict(), output: {} as PhotoStack },
  unstackPhotos: { input: z.object({ photoId: id }).strict(), output: null },
  listStacks: { input: z.object({}).strict(), output: [] as PhotoStack[] },
  setDuplicateThreshold: { input: z.object({ tier: duplicateTier, threshold: z.number().min(0).max(1) }).strict(), output: null },
} as const

/**
 * Calls only the desktop app has: never routed over HTTP, so web mode has no way to reach them.
 * Electron main validates them with these schemas like any contract call.
 */
export const desktopContract = {
  /** Carries the others' albums to the keeper, then moves the others' files to the OS trash. */
  trashDuplicates: { input: z.object({ keeperId: id, photoIds: z.array(id).min(1).max(1000) }).strict(), output: {} as TrashResult },
} as const

export type Contract = typeof contract
export type Method = keyof Contract
export type Input<M extends Method> = z.input<Contract[M]['input']>
export type ParsedInput<M extends Method> = z.output<Contract[M]['input']>
export type Output<M extends Method> = Contract[M]['output']

/** What the renderer sees as `window.lookalike` (and what web mode provides over HTTP). */
export type LookalikeApi = { [M in Method]: (input: Input<M>) => Promise<Output<M>> } & {
  onEvent(listener: (event: import('./types.ts').LibraryEvent) => void): () => void
  /** URL of a photo's thumbnail or full image on the current transport. */
  imageUrl(photoId: number, size: 'thumb' | 'full'): string
  /** 'desktop' shows the native folder picker; 'web' a path field. */
  readonly transport: 'desktop' | 'web'
  /** Desktop only: the native folder picker. */
  pickFolder?: () => Promise<string | null>
  /** Desktop only: move duplicate copies to the OS trash (albums carried to the keeper first). */
  trashDuplicates?: (input: z.input<(typeof desktopContract)['trashDuplicates']['input']>) => Promise<TrashResult>
}

export const methods = Object.keys(contract) as Method[]

/** Validates a call's arguments against the contract; throws a readable error. */
export function parseInput<M extends Method>(method: M, input: unknown): ParsedInput<M> {
  const schema = contract[method]?.input
  if (!schema) throw new ApiError('bad-request', `Unknown method: ${String(method)}`)
  const parsed = schema.safeParse(input ?? {})
  if (!parsed.success) {
    const why = parsed.error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; ')
    throw new ApiError('bad-request', `Invalid arguments for ${method}: ${why}`)
  }
  return parsed.data as ParsedInput<M>
}

export type ApiErrorCode = 'bad-request' | 'not-found' | 'conflict' | 'unavailable' | 'internal'

/** An error meant for the user: crosses every transport as { code, message }. */
export class ApiError extends Error {
  constructor(
    readonly code: ApiErrorCode,
    message: string,
  ) {
    super(message)
    this.name = 'ApiError'
  }
}
