// What the service's parts share: the library file, the event hub, the thumbnail folder and the
// embedder (created on first use: loading the backbone takes seconds and a browse-only session
// never needs it).
import { mkdirSync } from 'node:fs'
import { ApiError } from '../../shared/contract.ts'
import type { ActivationExtractor } from '../modeling/activations.ts'
import { mapKey, tailSpecFor, type TailSpec } from '../dpq/tail-spec.ts'
import { backboneId, featureById } from '../embed/backbone.ts'
import { createEmbedder } from '../embed/embedder.ts'
import { createInProcessEmbedder } from '../embed/in-process.ts'
import { createEventHub, type EventHub } from '../events.ts'
import { thumbnailDirFor } from '../paths.ts'
import { openDb, type Db } from '../store/db.ts'
import type { Embedder } from '../types.ts'
import type { PageTrainer } from '../compute/routed-embedder.ts'

export interface ServiceOptions {
  dbFile: string
  /** Default: beside the library file (`<db>.thumbnails`). */
  thumbnailDir?: string
  /**
   * 'auto' (default) picks the best tfjs backend on first use; a function makes one on first use
   * (the desktop app: its compute page or the worker pool); null = browse only, no new features.
   */
  embedder?: 'auto' | Embedder | null | (() => Promise<Embedder>)
  /** Training somewhere other than this thread (the desktop's compute page on a GPU), when there is one. */
  trainer?: () => PageTrainer | null
  /** Watch library roots for changes (default true). */
  watch?: boolean
  /**
   * Carry on at start what was left undone: index jobs a dead process left, photos without codes
   * (default true). One-shot commands that only read or train turn it off.
   */
  catchUp?: boolean
  /** Passed to DPQ training (epochs, seed, …): tests keep it small. */
  trainOptions?: Record<string, unknown>
  /** Photos per written batch of a feature upgrade (default 32): tests make it small to stop one halfway. */
  upgradeBatch?: number
}

export interface ServiceContext {
  readonly db: Db
  readonly events: EventHub
  readonly thumbnailDir: string
  readonly options: ServiceOptions
  /** The embedder, or an ApiError 'unavailable' when this service runs without one. */
  embedder(): Promise<Embedder>
  /**
   * Backbone id of the feature this Lookalike computes (the embedder's), known without loading it:
   * what every photo gets, and what a library whose model reads another one is upgraded to.
   */
  readonly feature: string
  /**
   * An embedder for this backbone's feature: the embedder itself, or (a library being upgraded
   * searched by image) one on this thread for the feature its active model still reads, loaded on
   * first use and kept until `releaseFormer`. ApiError 'unavailable' when this Lookalike cannot compute it.
   */
  embedderFor(backbone: string): Promise<Embedder>
  /** Closes what computes a former feature (embedder, activation extractor), once no model reads it any more. */
  releaseFormer(): Promise<void>
  /**
   * The late-activation extractor fine-tuned models read (MobileNetV2 in this process) beside the
   * feature with this backbone id (default: this Lookalike's; during a feature upgrade a fine-tuned
   * active model's older one), loaded on first use: only a library that fine-tunes ever needs it.
   * `tail`: the tail whose maps it computes (default: the feature's own network's; a model
   * fine-tuned on another network's tail reads that one's).
   */
  activations(backbone?: string, tail?: TailSpec): Promise<ActivationExtractor>
  /** The embedder's tfjs backend once it is loaded, else what was asked for. */
  backend(): string
  /** The embedder's device label, when it has one (Embedder.device). */
  device(): string | null
  hasEmbedder: boolean
  close(): Promise<void>
}

/** An embedder on this thread (one query image at a time) for the feature with this id. */
async function embedderOfFeature(id: string): Promise<Embedder | null> {
  // The library's feature, or one it replaced (FEATURES keeps them), so that a library whose model
  // still reads an older feature during an upgrade can be searched by image.
  const feature = featureById(id)
  return feature ? createInProcessEmbedder({ feature }) : null
}

const NO_LONGER = 'The active model reads an image feature this Lookalike no longer computes; this works again once the feature upgrade has finished'

export function createContext(options: ServiceOptions): ServiceContext {
  const db = openDb(options.dbFile)
  const thumbnailDir = options.thumbnailDir ?? thumbnailDirFor(options.dbFile)
  mkdirSync(thumbnailDir, { recursive: true })
  const setting = options.embedder === undefined ? 'auto' : options.embedder
  const given = setting !== null && setting !== 'auto' && typeof setting !== 'function' ? setting : null
  // An embedder we make (auto or from the factory) is ours to close; a given one is not.
  const make = setting === 'auto' ? () => createEmbedder() : typeof setting === 'function' ? setting : null
  let loading: Promise<Embedder> | null = given ? Promise.resolve(given) : null
  let loaded: Embedder | null = given
  /** Activation extractors by the maps' key (tail-spec.ts' mapKey): feature's backbone id and tail. */
  const extractors = new Map<string, { backbone: string; made: Promise<ActivationExtractor> }>()
  let former: { backbone: string; embedder: Promise<Embedder | null> } | null = null
  const feature = given ? given.backboneId : backboneId()
  const dispose = async (backbone: string) => {
    for (const [key, entry] of [...extractors]) {
      if (entry.backbone !== backbone) continue
      extractors.delete(key)
      ;(await entry.made.catch(() => null))?.dispose()
    }
  }
  const releaseFormer = async () => {
    const old = former
    former = null
    await (await old?.embedder.catch(() => null))?.close()
    for (const backbone of new Set([...extractors.values()].map((e) => e.backbone))) if (backbone !== feature) await dispose(backbone)
  }
  return {
    db,
    events: createEventHub(),
    thumbnailDir,
    options,
    hasEmbedder: setting !== null,
    embedder() {
      if (setting === null) return Promise.reject(new ApiError('unavailable', 'This Lookalike runs without an image model, so it cannot embed new images'))
      if (!loading) {
        loading = make!().then((e) => (loaded = e))
        loading.catch(() => (loading = null))
      }
      return loading
    },
    feature,
    async embedderFor(backbone) {
      if (backbone === feature) return this.embedder()
      if (setting === null) return this.embedder() // browse only: the same 'unavailable'
      let entry = former
      if (entry?.backbone !== backbone) {
        await releaseFormer()
        const made = { backbone, embedder: embedderOfFeature(backbone) }
        made.embedder.catch(() => former === made && (former = null))
        former = entry = made
      }
      const embedder = await entry!.embedder
      if (!embedder) throw new ApiError('unavailable', NO_LONGER)
      return embedder
    },
    releaseFormer,
    activations(backbone = feature, tail?: TailSpec) {
      if (setting === null) return Promise.reject(new ApiError('unavailable', 'This Lookalike runs without an image model, so it cannot fine-tune or encode for a fine-tuned model'))
      const spec = featureById(backbone)
      if (!spec) return Promise.reject(new ApiError('unavailable', NO_LONGER))
      const tailSpec = tail ?? tailSpecFor(spec)
      const key = mapKey(backbone, tailSpec)
      const known = extractors.get(key)
      if (known) return known.made
      const made = import('../modeling/activations.ts').then((m) => m.createActivationExtractor(spec, tailSpec))
      made.catch(() => extractors.get(key)?.made === made && extractors.delete(key))
      extractors.set(key, { backbone, made })
      return made
    },
    backend() {
      return loaded?.backend ?? (setting === null ? 'none' : 'not loaded')
    },
    device() {
      return loaded?.device ?? null
    },
    async close() {
      // Only an embedder we created is ours to close; one still loading is closed once it is up.
      if (make && loading) {
        const embedder = await loading.catch(() => null)
        await embedder?.close()
      }
      await releaseFormer()
      await dispose(feature)
      db.close()
    },
  }
}
