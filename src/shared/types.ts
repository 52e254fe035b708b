// Plain data that crosses every boundary (IPC, HTTP, CLI). No Node, no DOM.

/** Code lengths a DPQ model answers at: M blocks × 8 bits. */
export const CODE_BITS = [8, 16, 24, 32, 40, 48, 56, 64] as const
export type CodeBits = (typeof CODE_BITS)[number]
/** A precision setting: a code length, or 'exact' (re-rank by float embedding). */
export type Precision = CodeBits | 'exact'

export interface Root {
  id: number
  path: string
  photos: number
}

export interface PhotoSummary {
  id: number
  rootId: number
  relPath: string
  width: number | null
  height: number | null
  /** EXIF capture time, else file mtime (ms since epoch). */
  takenAt: number
  /** On the one tile that stands for a stack of copies: how many photos the stack holds. */
  stack?: number
}

export interface PhotoDetail extends PhotoSummary {
  size: number
  camera: string | null
  orientation: number | null
  hash: string | null
  albums: number[]
}

/** One folder's sub-folders on the machine running Lookalike (web mode's folder browser). */
export interface FolderListing {
  /** Absolute path of the folder listed. */
  path: string
  /** Its parent; null at the file system's root. */
  parent: string | null
  /** Home folder of the user running Lookalike: where browsing starts. */
  home: string
  folders: { name: string; path: string }[]
}

export interface Failure {
  id: number
  path: string
  reason: string
}

export interface Album {
  id: number
  name: string
  photos: number
}

export interface SimilarResult {
  id: number
  /**
   * Similarity on one scale at every precision: the cosine of the query's and the photo's
   * embeddings (exact), or its estimate from the code (x̂ of the first blocks), −1 … 1.
   */
  score: number
  /** What the ranking computed: the inner product with the code, or the exact cosine. */
  raw: number
}

export interface SimilarAnswer {
  precision: Precision
  results: SimilarResult[]
  /** Time spent ranking, in ms. */
  ms: number
}

/** What one precision setting costs and buys here; more per-setting figures may join. */
export interface PrecisionInfo {
  precision: Precision
  /** Median warm search latency over a sample of library photos as queries, ms. */
  ms: number | null
  /** Share of exact mode's top 20 this setting also ranks in its top 20 (0 … 1), on the same sample; needs no album. */
  recall: number | null
  /** mAP on the user's albums (held-out photos), once albums exist. */
  map: number | null
}

/** An album made from a folder: the album as it is now, and how many photos this import added. */
export interface FolderAlbum {
  album: Album
  added: number
}

export interface ModelInfo {
  id: number
  kind: 'unsupervised' | 'supervised'
  createdAt: number
  albums: number
  /** 'late': MobileNetV2's last blocks were fine-tuned with it (deeper fine-tuning). */
  finetune: 'off' | 'late'
}

/**
 * What a train or encode job is doing: waiting for another process that holds the library's models
 * lock, reading activation maps from photo files, training the network, quantizing, fitting the
 * codebooks, fitting an unsupervised model block by block, encoding every photo.
 */
export type ModelStage = 'waiting' | 'reading activations' | 'network' | 'quantization' | 'codebooks' | 'neighbours' | 'unsupervised' | 'encoding' | 'final pass'

export interface JobProgress {
  jobId: number
  /** 'upgrade': every photo's feature recomputed for a new image feature, then the switch to a model on it. */
  kind: 'index' | 'train' | 'encode' | 'duplicates' | 'upgrade'
  state: 'queued' | 'running' | 'done' | 'failed' | 'cancelled'
  done: number
  total: number
  /** Items per second. */
  rate: number | null
  /** Seconds left. */
  eta: number | null
  /** Index jobs: the file being read. */
  current: string | null
  /** Train and encode jobs: what they are doing. */
  stage?: ModelStage
  /** Training only: epoch and loss terms. */
  epoch?: number
  loss?: Record<string, number>
  error?: string
}

export interface LibraryStatus {
  photos: number
  failed: number
  pending: number
  roots: Root[]
  albums: number
  model: ModelInfo | null
  backend: string
  /** Where the CNN runs when the backend name does not say it: the desktop's GPU page ("WebGPU · nvidia ampere"). */
  device?: string
  jobs: JobProgress[]
  /** What the user decided about duplicates, kept in the library file. */
  duplicates?: DuplicateDecisions
  /** Asked for with `status({ storage: true })`: what the library takes on disk and what it holds for nothing. */
  storage?: LibraryStorage
  /** Present while the active model reads an older image feature than this Lookalike computes. */
  upgrade?: FeatureUpgrade
}

/**
 * A library moving to a new image feature: every photo's feature is recomputed (search answers
 * with the active model meanwhile), then a model trained on the new features takes over.
 */
export interface FeatureUpgrade {
  /** Photos that have the new feature, of all photos. */
  done: number
  total: number
  /** The job recomputing them, while one runs here; null until the app runs with its image model again. */
  jobId: number | null
  /** The model being replaced learned from albums: a Retrain on them starts by itself after the switch. */
  retrain: boolean
}

/**
 * Thumbnails, features, activation maps and codes of content no photo has any more; features and
 * activation maps also of an image feature only replaced models read (after a feature upgrade).
 */
export interface Orphans {
  thumbnails: number
  features: number
  activations: number
  codes: number
}

export interface LibraryStorage {
  /** The library file with its write-ahead log, bytes. */
  fileBytes: number
  /** All 0 once the library has settled after deletions and changes. */
  orphans: Orphans
}

/** What `vacuum` removed and reclaimed. */
export interface VacuumResult {
  removed: Orphans
  bytesBefore: number
  bytesAfter: number
}

/** Retrain's default for deeper fine-tuning on this machine and library (finetune-plan.ts). */
export interface TrainPlan {
  finetune: 'off' | 'late'
  /** Estimated seconds of a Retrain with deeper fine-tuning. */
  lateSeconds: number
  /** Why this default, in one sentence. */
  reason: string
  /** The tfjs backend training would run on ('node-gpu', 'node', 'wasm', 'cpu'). */
  backend: string
}

export interface TrainSummary {
  modelId: number
  before: Record<string, number | null>
  after: Record<string, number | null>
  finetune: 'off' | 'late'
  /** Fine-tuning only: photos whose file could not be read again (no code under the new model). */
  unreadable?: number
  /** Albums under 10 photos: what Retrain learned could not be checked, so it stays close to the library's own similarity. */
  smallAlbums?: true
  /**
   * The previous model learned from the album photos held out to measure the new one (with albums of
   * 50 or more a model learns from every album photo once it is checked), so it has no fair score on them: `before` is empty.
   */
  beforeSeen?: true
}

/** Events pushed from the engine to every window. */
export type LibraryEvent =
  | { type: 'job'; job: JobProgress }
  | { type: 'library-changed' }
  | { type: 'model-changed'; model: ModelInfo | null }
  | { type: 'train-finished'; summary: TrainSummary }

/** 'duplicates': the same picture re-saved, resized, cropped a little; 'similar': bursts, the same scene. */
export type DuplicateTier = 'duplicates' | 'similar'

export interface DuplicateDecisions {
  /** Pairs of photos marked "not duplicates" (by content, so they survive moves and rescans). */
  dismissedPairs: number
  stacks: number
  /** Photos inside stacks, the shown ones included. */
  stackedPhotos: number
  thresholds: Record<DuplicateTier, number>
}

export interface DuplicatePhoto {
  id: number
  /** Absolute path of the file. */
  path: string
  width: number | null
  height: number | null
  /** File size in bytes. */
  size: number
  /** 'JPEG', 'PNG', 'WebP', … from the file name. */
  format: string
  /** EXIF capture time, else file time (ms since epoch). */
  takenAt: number
  /** True when takenAt comes from EXIF. */
  exifTime: boolean
  camera: string | null
  albums: number[]
  /** Highest score (feature cosine, lifted where perceptual hashes agree) to another photo of the group. */
  score: number
}

export interface DuplicateGroup {
  /** Sorted photo ids joined by '-': stable while the group does not change. */
  key: string
  photos: DuplicatePhoto[]
  /** The suggested copy to keep: largest resolution, then least compression, then oldest. */
  keeperId: number
}

export interface DuplicateReport {
  tier: DuplicateTier
  threshold: number
  /** The threshold the slider starts at (the user's saved one, else the measured default). */
  savedThreshold: number
  /** Lowest and highest threshold the slider offers. */
  range: [number, number]
  /**
   * 'scanning': the whole-library pass is running (jobId); 'no-model': nothing to compare yet;
   * 'not-scanned': the last pass was cancelled or failed (scanDuplicates starts another).
   */
  state: 'ready' | 'scanning' | 'no-model' | 'not-scanned'
  jobId: number | null
  /** Photos compared so far. */
  checked: number
  /** Groups found in all; `groups` holds the first `limit`, largest first. */
  total: number
  groups: DuplicateGroup[]
}

export interface PhotoStack {
  stackId: number
  /** The photo the grid shows for the stack. */
  keeperId: number
  photoIds: number[]
}

/** Desktop only: what moving copies to the OS trash did. */
export interface TrashResult {
  trashed: number
  failed: { path: string; reason: string }[]
}
