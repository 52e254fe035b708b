// The compute page in Debian's Chromium: WebGPU and WebGL give the library's features (the same
// as the Node embedder's wasm), and a page that crashes or hangs mid-batch costs nothing but time.
// Without a GPU, Chromium's adapters are software (SwiftShader): the tests assert that, so nobody
// reads their durations as GPU timings.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CHROMIUM, FAST_SOFTWARE_WEBGPU, launchChromiumCompute, type ChromiumCompute } from '../src/core/compute/chromium.ts'
import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { connectCompute, type ComputeClient } from '../src/core/compute/client.ts'
import { SOFTWARE_DEADLINES } from '../src/core/compute/compute-embedder.ts'
import { createRoutedEmbedder } from '../src/core/compute/routed-embedder.ts'
import type { ComputeBackendName } from '../src/core/compute/protocol.ts'
import { readBackboneArtifacts } from '../src/core/embed/backbone-files.ts'
import { createInProcessEmbedder } from '../src/core/embed/in-process.ts'
import { MAP_SIZE, randomTail } from '../src/core/dpq/finetune.ts'
import { createRng, normal } from '../src/core/dpq/prng.ts'
import { trainDpq, type TrainOptions } from '../src/core/dpq/train.ts'
import { decodePhoto } from '../src/core/library/decode.ts'
import type { Embedder, ProgressEvent } from '../src/core/types.ts'
import { makePhotos } from './fixtures/photos.ts'
import { cosineOf } from '../src/core/search/exact.ts'

const missing = existsSync(CHROMIUM) ? null : `${CHROMIUM} is not installed: compute page tests skipped`
const dir = mkdtempSync(join(tmpdir(), 'lookalike-compute-'))
let inputs: Uint8Array[] = []
let reference: Float32Array[] = []
let wasm: Embedder
const open: ChromiumCompute[] = []

async function page(backends: ComputeBackendName[], extraArgs = FAST_SOFTWARE_WEBGPU) {
  const chromium = await launchChromiumCompute({ extraArgs })
  open.push(chromium)
  const client = await connectCompute(chromium.channel, { artifacts: readBackboneArtifacts(), backends, deadlines: SOFTWARE_DEADLINES })
  return { chromium, client }
}

/** One page per backend, shared by the tests that only need it to compute. */
const pages = new Map<ComputeBackendName, Promise<ComputeClient>>()
function pageOn(backend: ComputeBackendName): Promise<ComputeClient> {
  if (!pages.has(backend)) pages.set(backend, page([backend]).then((p) => p.client))
  return pages.get(backend)!
}

/**
 * Per-epoch losses on the page may differ from wasm's by float rounding only: the head alone
 * measured 4e-4 here; through the tail's 49 × 960 activations per photo, 3e-3 by the second epoch.
 */
const LOSS_TOLERANCE = 1e-3
const TAIL_LOSS_TOLERANCE = 1e-2

let wasmReady: Promise<unknown> | null = null
const ensureWasm = () => (wasmReady ??= tf.setBackend('wasm').then(() => tf.ready()))


/** Three classes apart in a few dimensions, with noise: enough for DPQ's loss terms to move. */
function clusters(perClass: number, dim: number, seed: number): { features: Float32Array[]; labels: number[][] } {
  const rng = createRng(seed)
  const features: Float32Array[] = []
  const labels: number[][] = []
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < perClass; i++) {
      const f = Float32Array.from({ length: dim }, (_, j) => (j === c ? 2 : 0) + normal(rng))
      features.push(f)
      labels.push([c])
    }
  }
  return { features, labels }
}

/** Per-epoch loss terms of a training, as its progress reports them. */
function lossesOf(events: ProgressEvent[]): Record<string, number>[] {
  return events.filter((e) => e.epoch !== undefined && e.loss).map((e) => e.loss!)
}

/** Largest relative difference between two runs' per-epoch loss terms. */
function largestRelativeDifference(a: Record<string, number>[], b: Record<string, number>[]): number {
  expect(a.map((e) => Object.keys(e).sort())).toEqual(b.map((e) => Object.keys(e).sort()))
  let worst = 0
  a.forEach((epoch, i) => {
    for (const [term, value] of Object.entries(epoch)) worst = Math.max(worst, Math.abs(value - b[i][term]) / Math.max(Math.abs(b[i][term]), 1e-6))
  })
  return worst
}

async function trainBoth(client: ComputeClient, features: Float32Array[], labels: number[][], options: TrainOptions) {
  const onPage: ProgressEvent[] = []
  const onWasm: ProgressEvent[] = []
  const pageModel = await client.train(features, labels, options, { onProgress: (e) => onPage.push(e) })
  await ensureWasm()
  const wasmModel = await trainDpq(features, labels, options, { onProgress: (e) => onWasm.push(e) })
  return { pageModel, wasmModel, page: lossesOf(onPage), wasm: lossesOf(onWasm) }
}

beforeAll(async () => {
  if (missing) return
  // 20 fixture photos in four look-alike groups, decoded as the indexer decodes them.
  const photos = await makePhotos(dir, { groups: 4, perGroup: 5, size: 256 })
  inputs = await Promise.all(photos.map(async (p) => (await decodePhoto(readFileSync(p.path))).modelInput))
  wasm = await createInProcessEmbedder({ backend: 'wasm' })
  reference = await wasm.embed(inputs)
})

afterAll(async () => {
  await Promise.all(open.map((c) => c.close().catch(() => undefined)))
  await wasm?.close()
  rmSync(dir, { recursive: true, force: true })
})

describe.skipIf(missing)('compute page in Chromium', () => {
  it('refuses a WebGPU whose features differ from wasm, and embeds on the fallback instead', async () => {
    // A WebGPU that computes wrongly: Dawn without robust buffer access, which tfjs-backend-webgpu
    // 4.22's matmul relies on (see FAST_SOFTWARE_WEBGPU); on Chromium 156's software adapter the
    // region feature then comes out at 0.996 cosine. Should a build read only in bounds, there is
    // no wrong backend here to refuse.
    const { client } = await page(['webgpu'], ['--enable-dawn-features=disable_robustness,skip_validation'])
    console.log(JSON.stringify({ compute: 'webgpu without robust buffer access', check: client.checks[0] }))
    if (client.backend === 'webgpu') return
    expect(client.checks[0]).toMatchObject({ backend: 'webgpu', accepted: false })
    expect(client.checks[0].reason).toMatch(/features differ from wasm's \(cosine 0\.\d+ < 0\.999\)/)
    expect(client.checks[0].cosine).toBeLessThan(0.999)
    expect(client.backend).toBe('wasm')
    const features = await client.embed(inputs.slice(0, 4))
    features.forEach((f, i) => expect(cosineOf(f, reference[i])).toBeGreaterThan(0.9999))
  }, 600_000)

  for (const backend of ['webgpu', 'webgl'] as const) {
    it(`accepts ${backend} and embeds 20 photos there with the same features as wasm (≥ 0.999 cosine)`, async () => {
      const client = await pageOn(backend)
      expect(client.backend).toBe(backend)
      expect(client.checks[0]).toMatchObject({ backend, accepted: true })
      expect(client.checks[0].cosine).toBeGreaterThanOrEqual(0.999)
      // No GPU here: Chromium's software adapter. Correctness only, never a GPU timing.
      expect(client.adapter?.fallback).toBe(true)
      expect(client.backboneId).toBe(wasm.backboneId)
      // The page trains where it embeds.
      expect(client.training).toEqual({ backend, adapter: client.adapter })
      const features = await client.embed(inputs)
      expect(features).toHaveLength(20)
      const lowest = Math.min(...features.map((f, i) => cosineOf(f, reference[i])))
      console.log(JSON.stringify({ compute: backend, adapter: client.adapter, self_check_cosine: client.checks[0].cosine, photos: 20, lowest_cosine_vs_wasm: lowest }))
      expect(lowest).toBeGreaterThanOrEqual(0.999)
      // Software WebGPU is slow: on a busy 2-core box the 20 photos took over two minutes.
    }, 600_000)
  }

  // WebGPU trains where it is accepted; WebGL where WebGPU is not.
  for (const backend of ['webgpu', 'webgl'] as const) {
    it(`trains DPQ on ${backend} with the per-epoch losses of wasm (supervised, fixed seeds)`, async () => {
      const client = await pageOn(backend)
      expect(client.training.backend).toBe(backend)
      expect(client.training.adapter?.fallback).toBe(true)
      const { features, labels } = clusters(20, 32, 11)
      const options: TrainOptions = { M: 2, K: 16, D: 16, hidden: 32, batchSize: 32, epochs: 4, warmup: 0.5, seed: 7 }
      const run = await trainBoth(client, features, labels, options)
      expect(run.page).toHaveLength(4)
      const worst = largestRelativeDifference(run.page, run.wasm)
      console.log(JSON.stringify({ train: 'supervised', backend: client.training.backend, epochs: run.page, wasm: run.wasm, largest_relative_difference: worst }))
      expect(worst).toBeLessThan(LOSS_TOLERANCE)
      // The same model, up to float rounding: the codes of the training photos mostly agree.
      const a = run.pageModel.encode(features)
      const b = run.wasmModel.encode(features)
      expect(a.filter((code, i) => code === b[i]).length / a.length).toBeGreaterThan(0.9)
    }, 600_000)
  }

  it('trains deeper fine-tuning\'s tail on webgpu, with the per-epoch losses of wasm', async () => {
    const client = await pageOn('webgpu')
    expect(client.training.backend).toBe('webgpu')
    expect(client.training.adapter?.fallback).toBe(true)
    // Rows as fine-tuning reads them: a block_15_add map, then the pooled feature.
    const rng = createRng(5)
    const { features: pooled, labels } = clusters(4, 16, 5)
    const features = pooled.map((p) => {
      const row = new Float32Array(MAP_SIZE + p.length)
      for (let j = 0; j < MAP_SIZE; j++) row[j] = Math.abs(normal(rng))
      row.set(p, MAP_SIZE)
      return row
    })
    const tail = randomTail(createRng(9))
    // Small learning rates: a random tail's outputs are badly scaled, and a diverging run would
    // magnify float rounding into differences that say nothing about the backend.
    const options: TrainOptions = { M: 2, K: 8, D: 16, hidden: 32, batchSize: 12, epochs: 2, seed: 3, finetune: 'late', tail, lr: 1e-4, tailLr: 3e-5 }
    const run = await trainBoth(client, features, labels, options)
    expect(run.page).toHaveLength(2)
    const worst = largestRelativeDifference(run.page, run.wasm)
    console.log(JSON.stringify({ train: 'finetune late', backend: client.training.backend, epochs: run.page, wasm: run.wasm, largest_relative_difference: worst }))
    expect(run.page[0].semantic).toBeCloseTo(run.wasm[0].semantic, 4)
    expect(worst).toBeLessThan(TAIL_LOSS_TOLERANCE)
    // The tail came back trained: its weights moved from where they started.
    const trained = run.pageModel.head.tail!
    expect(trained).toBeTruthy()
    expect(Array.from(trained.conv1.weights.slice(0, 64))).not.toEqual(Array.from(tail.conv1.weights.slice(0, 64)))
    // And the page timed the tail pass the fine-tuning plan scales its estimate by.
    expect(await client.tailMs()).toBeGreaterThan(0)
  }, 600_000)

  it('a page killed mid-batch fails only that batch, and the fallback embeds it', async () => {
    const { chromium, client } = await page(['wasm'])
    const fallbacks: string[] = []
    const routed = createRoutedEmbedder(client, { fallback: () => createInProcessEmbedder({ backend: 'wasm' }), onFallback: (r) => fallbacks.push(r) })
    expect(routed.route()).toBe('compute')
    const batch = routed.embed(inputs)
    // The page is working on the batch when its renderer dies.
    await new Promise((r) => setTimeout(r, 300))
    await chromium.crash()
    const features = await batch
    expect(features).toHaveLength(20)
    features.forEach((f, i) => expect(cosineOf(f, reference[i])).toBeGreaterThan(0.99999))
    expect(routed.route()).toBe('fallback')
    expect(fallbacks).toHaveLength(1)
    expect(fallbacks[0]).toMatch(/crash|gone/)
    // Later batches go straight to the fallback.
    expect(await routed.embed(inputs.slice(0, 2))).toHaveLength(2)
    await routed.close()
  })

  it('a page that stops answering is left after its deadline, and the batch is not lost', async () => {
    const chromium = await launchChromiumCompute()
    open.push(chromium)
    // A deadline no batch can meet stands in for a hung GPU.
    const client = await connectCompute(chromium.channel, { artifacts: readBackboneArtifacts(), backends: ['wasm'], deadlines: { embedMs: 1, embedPerPhotoMs: 0 } })
    const routed = createRoutedEmbedder(client, { fallback: () => createInProcessEmbedder({ backend: 'wasm' }) })
    const features = await routed.embed(inputs.slice(0, 4))
    features.forEach((f, i) => expect(cosineOf(f, reference[i])).toBeGreaterThan(0.99999))
    expect(routed.fallbackReason()).toMatch(/no answer to embed/)
    await routed.close()
  })
})
