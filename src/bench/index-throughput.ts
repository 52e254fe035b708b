// Indexing throughput as a user sees it: the real indexer (scan, hash, EXIF, one decode per photo,
// thumbnail, embed, SQLite write) into a throw-away library, with the embedder and the database
// timed from the outside so no stage needs instrumenting.
import { mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { thumbnailDirFor } from '../core/paths.ts'
import { indexRoot } from '../core/library/indexer.ts'
import { openDb, type Db } from '../core/store/db.ts'
import type { Embedder } from '../core/types.ts'
import type { ChromiumEmbedder } from '../core/compute/compute-embedder.ts'
import { createEmbedder, defaultWorkers, selectBackend, type EmbedderOptions } from '../core/embed/embedder.ts'
import { createInProcessEmbedder } from '../core/embed/in-process.ts'
import { cosineOf } from '../core/search/exact.ts'

export interface BenchIndexOptions extends EmbedderOptions {
  batchSize?: number
  /** 'node' (default): the Node embedder as the CLI and server use it; 'chromium': the compute page in headless Chromium. */
  compute?: 'node' | 'chromium'
}

/** Where the compute page ran, when it did. */
export interface ComputeReport {
  compute: 'chromium'
  chromium: string
  adapter: { vendor: string; architecture: string; description: string; fallback: boolean } | null
  /** Each backend's self-check against wasm (lowest cosine over fixed inputs). */
  checks: { backend: string; accepted: boolean; cosine: number | null; reason?: string }[]
  /** Features of the first photos from the page vs the Node embedder (wasm): lowest cosine. */
  agreement_with_node: { photos: number; lowest_cosine: number }
  /** Present when the adapter is a software rasteriser: photos_per_second is not a GPU figure. */
  note?: string
}

export interface BenchIndexReport {
  photos: number
  failed: number
  seconds: number
  photos_per_second: number
  /**
   * Wall-clock ms of the run, split by what the indexer was waiting on: embed = inside
   * Embedder.embed, write = inside SQLite transactions, decode = the rest (reading, hashing, EXIF,
   * decoding and thumbnail files not hidden behind embedding).
   */
  stage_ms: { decode: number; embed: number; write: number }
  backend: string
  backbone: string
  workers: number
  /** Model load and worker start-up, not counted in seconds. */
  startup_seconds: number
  /**
   * CPU time of the whole process (all threads) per indexed photo: unlike photos_per_second it
   * barely moves when other programs load the machine. cores × 1000 / this ≈ the idle-machine rate.
   */
  cpu_ms_per_photo: number
  /** 1-minute load average when the run started: other work sharing the cores. */
  load_average: number
  /** Peak resident memory of the process (workers included) during the run. */
  rss_mb: number
}

/** How many photos' features the Chromium run checks against the Node embedder. */
const AGREEMENT_PHOTOS = 8

export async function benchIndex(folder: string, options: BenchIndexOptions = {}): Promise<BenchIndexReport & Partial<ComputeReport>> {
  const stage = { decode: 0, embed: 0, write: 0 }
  let peakRss = process.memoryUsage().rss
  const startup = performance.now()
  const chromium = options.compute === 'chromium' ? await (await import('../core/compute/compute-embedder.ts')).createChromiumEmbedder() : null
  const embedder: Embedder = chromium ?? (await createEmbedder(options))
  // The first photos' model inputs, kept to compare the page's features with the Node embedder's.
  const kept: { input: Uint8Array; feature: Float32Array }[] = []
  const dir = mkdtempSync(join(tmpdir(), 'lookalike-bench-index-'))
  const dbFile = join(dir, 'library.sqlite')
  const db = openDb(dbFile)
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100)
  sampler.unref()
  try {
    const startupSeconds = (performance.now() - startup) / 1000
    const load = loadavg()[0]
    const cpuStart = process.cpuUsage()
    const started = performance.now()
    const summary = await indexRoot(timedDb(db, stage), folder, {
      thumbnailDir: thumbnailDirFor(dbFile),
      embedder: timedEmbedder(chromium ? keepingFirst(embedder, kept) : embedder, stage),
      batchSize: options.batchSize,
    })
    const wall = performance.now() - started
    const cpu = process.cpuUsage(cpuStart)
    peakRss = Math.max(peakRss, process.memoryUsage().rss)
    stage.decode = Math.max(0, wall - stage.embed - stage.write)
    const computeReport = chromium ? await compareWithNode(chromium, kept) : {}
    return {
      photos: summary.indexed,
      failed: summary.failed,
      seconds: round(wall / 1000, 2),
      photos_per_second: round(summary.indexed / (wall / 1000), 2),
      stage_ms: { decode: Math.round(stage.decode), embed: Math.round(stage.embed), write: Math.round(stage.write) },
      backend: embedder.backend,
      backbone: embedder.backboneId,
      workers: chromium ? 0 : (options.threads ?? defaultWorkers(await selectBackend({ backend: options.backend }))),
      startup_seconds: round(startupSeconds, 2),
      cpu_ms_per_photo: summary.indexed ? Math.round((cpu.user + cpu.system) / 1000 / summary.indexed) : 0,
      load_average: round(load, 2),
      rss_mb: Math.round(peakRss / 2 ** 20),
      ...computeReport,
    }
  } finally {
    clearInterval(sampler)
    db.close()
    await embedder.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

/** The embedder, remembering the first AGREEMENT_PHOTOS inputs and the features it gave them. */
function keepingFirst(embedder: Embedder, kept: { input: Uint8Array; feature: Float32Array }[]): Embedder {
  return {
    ...embedder,
    backend: embedder.backend,
    async embed(inputs) {
      const features = await embedder.embed(inputs)
      for (let i = 0; i < inputs.length && kept.length < AGREEMENT_PHOTOS; i++) kept.push({ input: inputs[i].slice(), feature: features[i] })
      return features
    },
    close: () => embedder.close(),
  }
}

async function compareWithNode(chromium: ChromiumEmbedder, kept: { input: Uint8Array; feature: Float32Array }[]): Promise<ComputeReport> {
  const node = await createInProcessEmbedder()
  let lowest = 1
  try {
    const reference = await node.embed(kept.map((k) => k.input))
    kept.forEach((k, i) => (lowest = Math.min(lowest, cosineOf(k.feature, reference[i]))))
  } finally {
    await node.close()
  }
  const software = chromium.adapter?.fallback === true
  return {
    compute: 'chromium',
    chromium: chromium.chromiumVersion,
    adapter: chromium.adapter,
    checks: chromium.checks.map(({ backend, accepted, cosine, reason }) => ({ backend, accepted, cosine, ...(reason ? { reason } : {}) })),
    agreement_with_node: { photos: kept.length, lowest_cosine: round(lowest, 6) },
    ...(software ? { note: 'software adapter (no GPU): photos_per_second measures a CPU emulating a GPU, never a GPU' } : {}),
  }
}

function round(x: number, digits: number): number {
  return Number(x.toFixed(digits))
}

function timedEmbedder(embedder: Embedder, stage: { embed: number }): Embedder {
  return {
    backboneId: embedder.backboneId,
    backend: embedder.backend,
    dim: embedder.dim,
    async embed(inputs) {
      const t = performance.now()
      try {
        return await embedder.embed(inputs)
      } finally {
        stage.embed += performance.now() - t
      }
    },
    close: () => embedder.close(),
  }
}

/** The same database, with the time spent inside each transaction added to stage.write. */
function timedDb(db: Db, stage: { write: number }): Db {
  return new Proxy(db, {
    get(target, prop) {
      if (prop === 'transaction') {
        return (fn: (...args: unknown[]) => unknown) => {
          const tx = target.transaction(fn)
          const timed = (run: (...args: unknown[]) => unknown) => (...args: unknown[]) => {
            const t = performance.now()
            try {
              return run(...args)
            } finally {
              stage.write += performance.now() - t
            }
          }
          // The same transaction function, its deferred/immediate/exclusive variants timed too.
          return Object.assign(timed(tx), { deferred: timed(tx.deferred), immediate: timed(tx.immediate), exclusive: timed(tx.exclusive) })
        }
      }
      const value = Reflect.get(target, prop, target) as unknown
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}
