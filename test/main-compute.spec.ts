// Main's routing between the compute page and the Node worker pool, with a stand-in window (no
// Electron here): a page on a real GPU gets the batches; a software adapter, a failed self-check
// or a page that never loads sends them to the pool; a crash or hang mid-batch fails only that
// batch, which the pool then embeds, and every later batch goes to the pool.
import { describe, expect, it } from 'vitest'
import type { ComputeChannel } from '../src/core/compute/client.ts'
import type { ComputeReady, ComputeReply, ComputeRequest } from '../src/core/compute/protocol.ts'
import type { BackboneArtifacts } from '../src/core/embed/backbone.ts'
import type { Embedder } from '../src/core/types.ts'
import { computeRoute, createDesktopEmbedder, deviceLabel } from '../src/main/compute.ts'
import { createRng, normal } from '../src/core/dpq/prng.ts'
import { trainDpq } from '../src/core/dpq/train.ts'
import { ensureBackend } from '../src/core/modeling/backend.ts'
import { planFinetune } from '../src/core/modeling/finetune-plan.ts'
import { COMPUTE_PAGE_URL, resolveComputeRequest } from '../src/main/compute-protocol.ts'

const PIXELS = 224 * 224 * 3
const NVIDIA: ComputeReady = {
  backend: 'webgpu',
  adapter: { vendor: 'nvidia', architecture: 'ampere', description: '', fallback: false },
  backboneId: 'stand-in-backbone',
  dim: 3,
  checks: [{ backend: 'webgpu', accepted: true, cosine: 0.99999, adapter: { vendor: 'nvidia', architecture: 'ampere', description: '', fallback: false } }],
  training: { backend: 'webgpu', adapter: { vendor: 'nvidia', architecture: 'ampere', description: '', fallback: false } },
}
const SWIFTSHADER: ComputeReady = {
  ...NVIDIA,
  adapter: { vendor: 'google', architecture: 'swiftshader', description: '', fallback: true },
  checks: [{ backend: 'webgpu', accepted: true, cosine: 1, adapter: { vendor: 'google', architecture: 'swiftshader', description: '', fallback: true } }],
  training: { backend: 'webgpu', adapter: { vendor: 'google', architecture: 'swiftshader', description: '', fallback: true } },
}
const artifacts: BackboneArtifacts = { modelTopology: {}, weightSpecs: [], weightData: new ArrayBuffer(8) }

/** The feature both the stand-in page and the stand-in pool compute: which photo, and its first bytes. */
const featureOf = (pixels: Uint8Array) => Float32Array.from([pixels[0], pixels[1], pixels[2]])
const photo = (k: number) => new Uint8Array(PIXELS).fill(k)

type Behaviour = 'answer' | 'crash' | 'hang' | 'never-loads'

/** A compute window whose page answers the protocol as scripted. */
function standInWindow(ready: ComputeReady, behaviour: () => Behaviour) {
  const listeners: ((m: ComputeReply) => void)[] = []
  const lost: ((reason: string) => void)[] = []
  const seen: ComputeRequest['type'][] = []
  const state = { closed: false, embedded: 0, trained: 0 }
  const lose = (reason: string) => lost.splice(0).forEach((l) => l(reason))
  const channel: ComputeChannel = {
    post(message) {
      seen.push(message.type)
      const b = behaviour()
      if (b === 'never-loads' || b === 'hang') return
      if (b === 'crash') return void setTimeout(() => lose("the compute page's renderer is gone (crashed)"), 5)
      const answer = (reply: ComputeReply) => setTimeout(() => listeners.forEach((l) => l(reply)), 1)
      if (message.type === 'init') return answer({ type: 'ready', id: message.id, ...ready })
      if (message.type === 'tail-speed') return answer({ type: 'tail-ms', id: message.id, ms: 13 })
      if (message.type === 'train') {
        // The page's trainer is the engine's trainDpq: run it here, as the page would.
        const rows = Array.from({ length: message.rows }, (_, i) => new Float32Array(message.features, i * message.dim * 4, message.dim))
        void ensureBackend()
          .then(() => trainDpq(rows, message.labels, message.options, { onProgress: (event) => answer({ type: 'progress', id: message.id, event }) }))
          .then((model) => {
            state.trained++
            const bytes = model.serialize()
            answer({ type: 'model', id: message.id, model: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer, seconds: 0 })
          })
        return
      }
      if (message.type !== 'embed') return
      const pixels = new Uint8Array(message.pixels)
      const flat = new Float32Array(message.count * 3)
      for (let i = 0; i < message.count; i++) flat.set(featureOf(pixels.subarray(i * PIXELS)), i * 3)
      state.embedded += message.count
      answer({ type: 'features', id: message.id, count: message.count, dim: 3, features: flat.buffer })
    },
    onMessage: (l) => listeners.push(l),
    onLost: (l) => lost.push(l),
    close: () => (state.closed = true),
  }
  return { window: { channel, close: () => (state.closed = true) }, seen, state }
}

/** The worker pool, standing in: same features, counted. */
function standInPool() {
  const pool = { started: 0, embedded: 0 }
  const start = async (): Promise<Embedder> => {
    pool.started++
    return {
      backboneId: 'stand-in-backbone',
      backend: 'wasm',
      dim: 3,
      embed: async (inputs) => ((pool.embedded += inputs.length), inputs.map(featureOf)),
      close: async () => {},
    }
  }
  return { pool, start }
}

const quiet = () => {}

describe('desktop embedding route', () => {
  it('sends batches to a page on a real GPU and names backend and adapter', async () => {
    const page = standInWindow(NVIDIA, () => 'answer')
    const { pool, start } = standInPool()
    const embedder = await createDesktopEmbedder({ open: () => page.window, artifacts: () => artifacts, fallback: start, log: quiet })
    const features = await embedder.embed([photo(1), photo(2)])
    expect(features.map((f) => f[0])).toEqual([1, 2])
    expect(page.state.embedded).toBe(2)
    expect(pool.started).toBe(0)
    expect(embedder.backend).toBe('webgpu')
    expect(embedder.device).toBe('WebGPU · nvidia ampere')
    await embedder.close()
    expect(page.state.closed).toBe(true)
  })

  it('keeps to the worker pool on a software adapter, and closes the page', async () => {
    const page = standInWindow(SWIFTSHADER, () => 'answer')
    const { pool, start } = standInPool()
    const embedder = await createDesktopEmbedder({ open: () => page.window, artifacts: () => artifacts, fallback: start, log: quiet })
    expect((await embedder.embed([photo(7)]))[0][0]).toBe(7)
    expect(page.seen).toEqual(['init'])
    expect(page.state.closed).toBe(true)
    expect(pool).toEqual({ started: 1, embedded: 1 })
  })

  it('keeps to the worker pool when the page never answers its init', async () => {
    const page = standInWindow(NVIDIA, () => 'never-loads')
    const { pool, start } = standInPool()
    const embedder = await createDesktopEmbedder({ open: () => page.window, artifacts: () => artifacts, fallback: start, log: quiet, deadlines: { initMs: 50 } })
    expect((await embedder.embed([photo(3)]))[0][0]).toBe(3)
    expect(page.state.closed).toBe(true)
    expect(pool.started).toBe(1)
  })

  for (const failure of ['crash', 'hang'] as const) {
    it(`a page that ${failure === 'crash' ? 'crashes' : 'hangs'} mid-batch loses no photo: the pool embeds that batch and every later one`, async () => {
      let behaviour: Behaviour = 'answer'
      const page = standInWindow(NVIDIA, () => behaviour)
      const { pool, start } = standInPool()
      const logged: string[] = []
      const embedder = await createDesktopEmbedder({
        open: () => page.window,
        artifacts: () => artifacts,
        fallback: start,
        log: (l) => logged.push(l),
        deadlines: { embedMs: 100, embedPerPhotoMs: 0 },
      })
      expect((await embedder.embed([photo(1)]))[0][0]).toBe(1)
      behaviour = failure
      const batch = [photo(4), photo(5), photo(6)]
      expect((await embedder.embed(batch)).map((f) => f[0])).toEqual([4, 5, 6])
      expect(page.state.closed).toBe(true)
      expect(pool).toEqual({ started: 1, embedded: 3 })
      expect(logged.at(-1)).toMatch(failure === 'crash' ? /renderer is gone/ : /no answer to embed/)
      behaviour = 'answer'
      expect((await embedder.embed([photo(8)]))[0][0]).toBe(8)
      expect(pool.embedded).toBe(4)
      expect(page.state.embedded).toBe(1)
      expect(embedder.device).toBeUndefined()
      expect(embedder.backend).toBe('wasm')
    })
  }
})

/** A small labelled training set (three classes). */
function albums(seed: number) {
  const rng = createRng(seed)
  const features = Array.from({ length: 30 }, (_, i) => Float32Array.from({ length: 8 }, (_, j) => (j === i % 3 ? 2 : 0) + normal(rng)))
  return { features, labels: features.map((_, i) => [i % 3]) }
}
const tiny = { M: 2, K: 4, D: 4, hidden: 8, batchSize: 16, epochs: 2, seed: 1 }

describe('desktop training route', () => {
  it('trains on the page (where it embeds) for a hardware adapter, at the speed the page measured', async () => {
    const page = standInWindow(NVIDIA, () => 'answer')
    const { pool, start } = standInPool()
    const embedder = await createDesktopEmbedder({ open: () => page.window, artifacts: () => artifacts, fallback: start, log: quiet })
    const trainer = embedder.trainer?.()
    expect(trainer?.backend).toBe('webgpu')
    const { features, labels } = albums(1)
    const epochs: number[] = []
    const model = await trainer!.train(features, labels, tiny, { onProgress: (e) => e.epoch && epochs.push(e.epoch) })
    expect(page.state.trained).toBe(1)
    expect(epochs).toEqual([1, 2])
    expect(model.encode(features)).toHaveLength(30 * 2)
    expect(await trainer!.tailSpeed()).toBeCloseTo(0.1)
    // Unsupervised training reads synchronously, which WebGPU cannot: it runs here.
    await trainer!.train(features, null, tiny)
    expect(page.state.trained).toBe(1)
    expect(pool.started).toBe(0)
  })

  it('offers no page training on a software adapter', async () => {
    const page = standInWindow(SWIFTSHADER, () => 'answer')
    const embedder = await createDesktopEmbedder({ open: () => page.window, artifacts: () => artifacts, fallback: standInPool().start, log: quiet })
    expect(embedder.trainer?.() ?? null).toBeNull()
  })

  it('a page that crashes mid-training costs the run, not the model: it trains here instead', async () => {
    let behaviour: Behaviour = 'answer'
    const page = standInWindow(NVIDIA, () => behaviour)
    const embedder = await createDesktopEmbedder({ open: () => page.window, artifacts: () => artifacts, fallback: standInPool().start, log: quiet })
    const trainer = embedder.trainer!()!
    behaviour = 'crash'
    const { features, labels } = albums(2)
    await ensureBackend()
    const here = await trainDpq(features, labels, tiny)
    const model = await trainer.train(features, labels, tiny)
    expect(Array.from(model.encode(features))).toEqual(Array.from(here.encode(features)))
    expect(page.state.closed).toBe(true)
    expect(embedder.trainer!()).toBeNull()
  })
})

describe('the fine-tuning plan on the page', () => {
  const work = { photos: 1000, albumPhotos: 500, missingMaps: 1000, epochs: 30 }
  it('fine-tunes by default on a GPU and scales the training part by the page\'s measured speed', () => {
    const cpu = planFinetune({ ...work, backendKind: 'wasm', speed: 1 })
    const gpu = planFinetune({ ...work, backendKind: 'gpu', speed: 1, trainSpeed: 0.05 })
    expect(gpu.finetune).toBe('late')
    // Maps and codes stay on this machine's CPU; only training got 20× faster.
    const here = 1000 * 0.035 + 1000 * 0.004
    expect(gpu.lateSeconds).toBeCloseTo(here + (cpu.lateSeconds - here) * 0.05, 0)
    expect(gpu.lateSeconds).toBeLessThan(cpu.lateSeconds)
  })
})

describe('computeRoute', () => {
  it('takes the page only for a self-checked hardware adapter', () => {
    expect(computeRoute(NVIDIA).page).toBe(true)
    expect(computeRoute(SWIFTSHADER)).toMatchObject({ page: false, reason: expect.stringMatching(/software adapter/) })
    expect(computeRoute({ ...NVIDIA, backend: 'wasm', adapter: null }).page).toBe(false)
    expect(computeRoute({ ...NVIDIA, checks: [{ ...NVIDIA.checks[0], accepted: false }] }).page).toBe(false)
    expect(computeRoute({ ...NVIDIA, backend: 'webgl', checks: [{ ...NVIDIA.checks[0], backend: 'webgl' }], adapter: { vendor: 'Google Inc. (NVIDIA)', architecture: '', description: 'ANGLE (NVIDIA, GeForce RTX 3060)', fallback: false } }).page).toBe(true)
  })
  it('labels what the status bar shows', () => {
    expect(deviceLabel(NVIDIA)).toBe('WebGPU · nvidia ampere')
    expect(deviceLabel({ backend: 'webgl', adapter: { vendor: 'Google Inc. (NVIDIA)', architecture: '', description: 'ANGLE (NVIDIA, GeForce RTX 3060)', fallback: false } })).toBe('WebGL · Google Inc. (NVIDIA) ANGLE (NVIDIA, GeForce RTX 3060)')
    expect(deviceLabel({ backend: 'wasm', adapter: null })).toBe('wasm')
  })
})

describe('compute page scheme', () => {
  const dir = '/opt/Lookalike/out/compute'
  it('serves the page and its assets, nothing outside its folder', () => {
    expect(resolveComputeRequest('GET', COMPUTE_PAGE_URL, dir)).toEqual({ file: `${dir}/index.html` })
    expect(resolveComputeRequest('GET', 'lookalike-compute://page/assets/tfjs-backend-wasm-simd-x.wasm', dir)).toEqual({ file: `${dir}/assets/tfjs-backend-wasm-simd-x.wasm` })
    expect(resolveComputeRequest('GET', 'lookalike-compute://page/..%2F..%2Fmain%2Findex.js', dir)).toMatchObject({ status: 403 })
    // The URL parser already folds dot segments: whatever survives stays inside the folder.
    expect(resolveComputeRequest('GET', 'lookalike-compute://page/%2e%2e/main/index.js', dir)).toEqual({ file: `${dir}/main/index.js` })
    expect(resolveComputeRequest('GET', 'lookalike-compute://other/index.html', dir)).toMatchObject({ status: 400 })
    expect(resolveComputeRequest('POST', COMPUTE_PAGE_URL, dir)).toMatchObject({ status: 405 })
  })
})
