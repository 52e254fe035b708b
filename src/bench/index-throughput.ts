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
import { createEmbedder, defaultWorkers, selectBackend, type EmbedderOptions } from '../core/embed/embedder.ts'

export interface BenchIndexOptions extends EmbedderOptions {
  batchSize?: number
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

export async function benchIndex(folder: string, options: BenchIndexOptions = {}): Promise<BenchIndexReport> {
  const stage = { decode: 0, embed: 0, write: 0 }
  let peakRss = process.memoryUsage().rss
  const startup = performance.now()
  const embedder = await createEmbedder(options)
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
      embedder: timedEmbedder(embedder, stage),
      batchSize: options.batchSize,
    })
    const wall = performance.now() - started
    const cpu = process.cpuUsage(cpuStart)
    peakRss = Math.max(peakRss, process.memoryUsage().rss)
    stage.decode = Math.max(0, wall - stage.embed - stage.write)
    return {
      photos: summary.indexed,
      failed: summary.failed,
      seconds: round(wall / 1000, 2),
      photos_per_second: round(summary.indexed / (wall / 1000), 2),
      stage_ms: { decode: Math.round(stage.decode), embed: Math.round(stage.embed), write: Math.round(stage.write) },
      backend: embedder.backend,
      backbone: embedder.backboneId,
      workers: options.threads ?? defaultWorkers(await selectBackend({ backend: options.backend })),
      startup_seconds: round(startupSeconds, 2),
      cpu_ms_per_photo: summary.indexed ? Math.round((cpu.user + cpu.system) / 1000 / summary.indexed) : 0,
      load_average: round(load, 2),
      rss_mb: Math.round(peakRss / 2 ** 20),
    }
  } finally {
    clearInterval(sampler)
    db.close()
    await embedder.close()
    rmSync(dir, { recursive: true, force: true })
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
          return (...args: unknown[]) => {
            const t = performance.now()
            try {
              return tx(...args)
            } finally {
              stage.write += performance.now() - t
            }
          }
        }
      }
      const value = Reflect.get(target, prop, target) as unknown
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}
