// The compute page in Debian's Chromium: WebGPU and WebGL give the library's features (the same
// as the Node embedder's wasm), and a page that crashes or hangs mid-batch costs nothing but time.
// Without a GPU, Chromium's adapters are software (SwiftShader): the tests assert that, so nobody
// reads their durations as GPU timings.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CHROMIUM, FAST_SOFTWARE_WEBGPU, launchChromiumCompute, type ChromiumCompute } from '../src/core/compute/chromium.ts'
import { connectCompute } from '../src/core/compute/client.ts'
import { SOFTWARE_DEADLINES } from '../src/core/compute/compute-embedder.ts'
import { createRoutedEmbedder } from '../src/core/compute/routed-embedder.ts'
import type { ComputeBackendName } from '../src/core/compute/protocol.ts'
import { readBackboneArtifacts } from '../src/core/embed/backbone-files.ts'
import { createInProcessEmbedder } from '../src/core/embed/in-process.ts'
import { decodePhoto } from '../src/core/library/decode.ts'
import type { Embedder } from '../src/core/types.ts'
import { makePhotos } from './fixtures/photos.ts'

const missing = existsSync(CHROMIUM) ? null : `${CHROMIUM} is not installed: compute page tests skipped`
const dir = mkdtempSync(join(tmpdir(), 'lookalike-compute-'))
let inputs: Uint8Array[] = []
let reference: Float32Array[] = []
let wasm: Embedder
const open: ChromiumCompute[] = []

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0
  let na = 0
  let nb = 0
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i]
    na += a[i] * a[i]
    nb += b[i] * b[i]
  }
  return dot / Math.sqrt(na * nb)
}

async function page(backends: ComputeBackendName[]) {
  const chromium = await launchChromiumCompute({ extraArgs: FAST_SOFTWARE_WEBGPU })
  open.push(chromium)
  const client = await connectCompute(chromium.channel, { artifacts: readBackboneArtifacts(), backends, deadlines: SOFTWARE_DEADLINES })
  return { chromium, client }
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
  for (const backend of ['webgpu', 'webgl'] as const) {
    it(`embeds 20 photos on ${backend} with the same features as wasm (≥ 0.999 cosine)`, async () => {
      const { client } = await page([backend])
      expect(client.backend).toBe(backend)
      expect(client.checks[0]).toMatchObject({ backend, accepted: true })
      // No GPU here: Chromium's software adapter. Correctness only, never a GPU timing.
      expect(client.adapter?.fallback).toBe(true)
      expect(client.backboneId).toBe(wasm.backboneId)
      const features = await client.embed(inputs)
      expect(features).toHaveLength(20)
      const lowest = Math.min(...features.map((f, i) => cosine(f, reference[i])))
      console.log(JSON.stringify({ compute: backend, adapter: client.adapter, photos: 20, lowest_cosine_vs_wasm: lowest }))
      expect(lowest).toBeGreaterThanOrEqual(0.999)
      client.close()
      // Software WebGPU is slow: on a quiet 2-core box this takes about a minute; under load, more.
    }, 600_000)
  }

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
    features.forEach((f, i) => expect(cosine(f, reference[i])).toBeGreaterThan(0.99999))
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
    features.forEach((f, i) => expect(cosine(f, reference[i])).toBeGreaterThan(0.99999))
    expect(routed.fallbackReason()).toMatch(/no answer to embed/)
    await routed.close()
  })
})
