// DPQ training time on a library's own features and albums, as Retrain would train (supervised on
// the albums, unsupervised without two of them), on this process's backend or on the compute page
// in headless Chromium. Nothing is written to the library.
import { trainingBackendOf } from '../core/compute/protocol.ts'
import { trainDpq, type TrainOptions } from '../core/dpq/train.ts'
import { ensureBackend } from '../core/modeling/backend.ts'
import { albumLabels } from '../core/store/albums.ts'
import { openDb } from '../core/store/db.ts'
import { featuresFor, libraryBackbone } from '../core/store/features.ts'
import type { ProgressEvent } from '../core/types.ts'

export interface BenchTrainOptions {
  compute?: 'node' | 'chromium'
  epochs?: number
}

export interface BenchTrainReport {
  photos: number
  albums: number
  supervised: boolean
  epochs: number
  /** Training alone (no encoding), wall seconds. */
  train_seconds: number
  compute: 'node' | 'chromium'
  backend: string
  /** Chromium only: the adapter the page trained on, and its self-checks. */
  adapter?: { vendor: string; architecture: string; description: string; fallback: boolean } | null
  chromium?: string
  /** Loss terms of the last epoch. */
  final_loss: Record<string, number>
  note?: string
}

export async function benchTrain(dbFile: string, options: BenchTrainOptions = {}): Promise<BenchTrainReport> {
  const db = openDb(dbFile)
  let features: Float32Array[]
  let labels: number[][]
  try {
    const backbone = libraryBackbone(db)
    if (!backbone) throw new Error(`${dbFile} has no photo features: index a folder first`)
    const byHash = featuresFor(db, backbone)
    const albums = albumLabels(db)
    const ids = [...new Set([...albums.values()].flat())].sort((a, b) => a - b)
    const classOf = new Map(ids.map((id, i) => [id, i]))
    const hashes = [...byHash.keys()]
    features = hashes.map((h) => byHash.get(h)!)
    labels = hashes.map((h) => (albums.get(h) ?? []).map((a) => classOf.get(a)!))
  } finally {
    db.close()
  }
  const supervised = new Set(labels.flat()).size >= 2
  const trainOptions: TrainOptions = options.epochs ? { epochs: options.epochs } : {}
  const events: ProgressEvent[] = []
  const onProgress = (e: ProgressEvent) => events.push(e)
  const albumsCount = new Set(labels.flat()).size
  let report: Omit<BenchTrainReport, 'final_loss'>
  if (options.compute === 'chromium') {
    const { launchChromiumCompute } = await import('../core/compute/chromium.ts')
    const { connectCompute } = await import('../core/compute/client.ts')
    const { SOFTWARE_DEADLINES } = await import('../core/compute/compute-embedder.ts')
    const { readBackboneArtifacts } = await import('../core/embed/backbone-files.ts')
    const chromium = await launchChromiumCompute()
    try {
      const client = await connectCompute(chromium.channel, { artifacts: readBackboneArtifacts(), deadlines: SOFTWARE_DEADLINES })
      const started = performance.now()
      await client.train(features, supervised ? labels : null, trainOptions, { onProgress })
      const seconds = (performance.now() - started) / 1000
      // Unsupervised runs beside WebGPU train on the page's wasm.
      const backend = trainingBackendOf(client.training.backend, supervised ? labels : null)
      const adapter = backend === client.training.backend ? client.training.adapter : null
      report = {
        photos: features.length,
        albums: albumsCount,
        supervised,
        epochs: events.filter((e) => e.epoch).length,
        train_seconds: Math.round(seconds * 100) / 100,
        compute: 'chromium',
        backend,
        adapter,
        chromium: chromium.version,
        ...(adapter?.fallback ? { note: 'software adapter (no GPU): train_seconds measures a CPU emulating a GPU, never a GPU' } : {}),
      }
      client.close()
    } finally {
      await chromium.close()
    }
  } else {
    const backend = await ensureBackend()
    const started = performance.now()
    await trainDpq(features, supervised ? labels : null, trainOptions, { onProgress })
    const seconds = (performance.now() - started) / 1000
    report = { photos: features.length, albums: albumsCount, supervised, epochs: events.filter((e) => e.epoch).length, train_seconds: Math.round(seconds * 100) / 100, compute: 'node', backend }
  }
  const last = [...events].reverse().find((e) => e.loss)
  return { ...report, final_loss: last?.loss ?? {} }
}
