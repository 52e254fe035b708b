// The backbone as the rest of the app sees it: real MobileNetV2 weights from the nsfwjs package,
// real JPEGs written by sharp, the real wasm backend.
import * as tf from '@tensorflow/tfjs'
import { createRequire } from 'node:module'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FEATURE, backboneId, pooledFeatureModel } from '../src/core/embed/backbone.ts'
import { loadMobilenet } from '../src/core/embed/backbone-files.ts'
import { fuseBackbone } from '../src/core/embed/fused-backbone.ts'
import { selectBackend } from '../src/core/embed/backend.ts'
import { createEmbedder, embedImage } from '../src/core/embed/embedder.ts'
import { createInProcessEmbedder } from '../src/core/embed/in-process.ts'
import { createWorkerPoolEmbedder } from '../src/core/embed/worker-pool.ts'
import { decodePhoto } from '../src/core/library/decode.ts'
import type { Embedder } from '../src/core/types.ts'
import { MODEL_INPUT_SIZE } from '../src/core/types.ts'
import { cosineOf } from '../src/core/search/exact.ts'

const dir = mkdtempSync(join(tmpdir(), 'lookalike-embed-'))
let embedder: Embedder

/** A scene with structure in every direction, so a wrong rotation changes the feature. */
function sceneSvg(width: number, height: number): Buffer {
  return Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
    <defs><linearGradient id="sky" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#3a7bd5"/><stop offset="1" stop-color="#e0f0ff"/></linearGradient></defs>
    <rect width="100%" height="100%" fill="url(#sky)"/>
    <rect y="${height * 0.65}" width="100%" height="${height * 0.35}" fill="#2e7d32"/>
    <circle cx="${width * 0.8}" cy="${height * 0.2}" r="${height * 0.1}" fill="#ffd600"/>
    <polygon points="${width * 0.1},${height * 0.65} ${width * 0.3},${height * 0.25} ${width * 0.5},${height * 0.65}" fill="#5d4037"/>
    <rect x="${width * 0.55}" y="${height * 0.45}" width="${width * 0.2}" height="${height * 0.2}" fill="#c62828"/>
  </svg>`)
}

beforeAll(async () => {
  // No network, ever: any fetch during backend start-up or weight loading fails the test.
  const realFetch = globalThis.fetch
  globalThis.fetch = () => Promise.reject(new Error('network access during model load'))
  try {
    embedder = await createInProcessEmbedder()
  } finally {
    globalThis.fetch = realFetch
  }
  await sharp(sceneSvg(640, 480)).jpeg({ quality: 90 }).toFile(join(dir, 'upright.jpg'))
  // The same scene stored sideways with EXIF orientation 6 ("rotate 90° clockwise to view").
  await sharp(join(dir, 'upright.jpg')).rotate(270).jpeg({ quality: 90 }).withMetadata({ orientation: 6 }).toFile(join(dir, 'exif-rotated.jpg'))
  await sharp(join(dir, 'upright.jpg')).rotate(270).jpeg({ quality: 90 }).toFile(join(dir, 'sideways.jpg'))
})

afterAll(async () => {
  await embedder?.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('backbone', () => {
  it('loads offline and describes itself truthfully', async () => {
    expect(embedder.backboneId).toBe(backboneId(FEATURE))
    expect(embedder.backboneId).toContain('mobilenet_v2')
    const [feature] = await embedder.embed([(await decodePhoto(join(dir, 'upright.jpg'))).modelInput])
    expect(feature).toBeInstanceOf(Float32Array)
    expect(feature.length).toBe(embedder.dim)
    expect(Math.hypot(...feature)).toBeCloseTo(1, 4)
  })

  it('computes with fused ops exactly what the Keras layers model computes', async () => {
    const mobilenet = await loadMobilenet(tf)
    const layers = ['block_12_add', 'block_13_expand_relu', 'out_relu']
    const fused = fuseBackbone(tf, mobilenet, layers)
    const reference = pooledFeatureModel(tf, mobilenet, layers)
    const input = (await decodePhoto(join(dir, 'upright.jpg'))).modelInput
    const [diff, scale] = tf.tidy(() => {
      const x = tf.tensor4d(input, [1, MODEL_INPUT_SIZE, MODEL_INPUT_SIZE, 3], 'float32').div(255) as tf.Tensor4D
      const expected = reference.predict(x) as tf.Tensor
      const actual = tf.concat(fused.pooled(x), 1)
      return [tf.max(tf.abs(expected.sub(actual))).dataSync()[0], tf.max(expected).dataSync()[0]]
    })
    fused.dispose()
    mobilenet.dispose()
    expect(scale).toBeGreaterThan(0.1)
    expect(diff).toBeLessThan(1e-4 * scale)
  })

  it('gives the same feature for the same file every time', async () => {
    const a = await embedImage(join(dir, 'upright.jpg'), embedder)
    const b = await embedImage(join(dir, 'upright.jpg'), embedder)
    expect(Array.from(b)).toEqual(Array.from(a))
  })

  it('embeds a rotated-EXIF photo like its upright twin', async () => {
    const upright = await embedImage(join(dir, 'upright.jpg'), embedder)
    const rotated = await embedImage(join(dir, 'exif-rotated.jpg'), embedder)
    const sideways = await embedImage(join(dir, 'sideways.jpg'), embedder)
    expect(cosineOf(upright, rotated)).toBeGreaterThan(0.99)
    // Control: without the EXIF tag the photo really looks different to the network.
    expect(cosineOf(upright, sideways)).toBeLessThan(cosineOf(upright, rotated) - 0.01)
  })

  it('embeds an image outside any library, and refuses a non-image clearly', async () => {
    const outside = await embedImage(join(dir, 'upright.jpg'))
    expect(outside.length).toBe(embedder.dim)
    const dropped = await embedImage(readFileSync(join(dir, 'upright.jpg')), embedder)
    expect(cosineOf(dropped, outside)).toBeGreaterThan(0.9999)
    writeFileSync(join(dir, 'notes.jpg'), 'this is not a JPEG')
    await expect(embedImage(join(dir, 'notes.jpg'), embedder)).rejects.toThrow()
  })

  it('keeps tfjs memory flat across sixteen hundred embeddings', async () => {
    const pixels = MODEL_INPUT_SIZE * MODEL_INPUT_SIZE * 3
    const batch = Array.from({ length: 16 }, (_, i) => {
      const p = new Uint8Array(pixels)
      for (let j = 0; j < pixels; j++) p[j] = (j * (i + 7)) & 255
      return p
    })
    await embedder.embed(batch)
    const before = tf.memory()
    // A leaked tensor per batch crashed a probe's wasm heap after ~1,000 photos: go well past that.
    for (let round = 0; round < 100; round++) {
      await embedder.embed(batch)
      const now = tf.memory()
      expect([now.numTensors, now.numBytes]).toEqual([before.numTensors, before.numBytes])
    }
  }, 300_000)

  it('rejects a model input of the wrong size without leaking', async () => {
    const before = tf.memory().numTensors
    await expect(embedder.embed([new Uint8Array(10)])).rejects.toThrow(/224×224 RGB/)
    expect(tf.memory().numTensors).toBe(before)
  })
})

describe('worker threads', () => {
  it('embed like the calling thread, in input order', async () => {
    const pool = await createEmbedder({ threads: 2 })
    try {
      expect(pool.backboneId).toBe(embedder.backboneId)
      const inputs = await Promise.all(['upright.jpg', 'sideways.jpg', 'exif-rotated.jpg'].map(async (f) => (await decodePhoto(join(dir, f))).modelInput))
      const [fromPool, here] = await Promise.all([pool.embed(inputs), embedder.embed(inputs)])
      expect(fromPool).toHaveLength(3)
      fromPool.forEach((f, i) => expect(cosineOf(f, here[i])).toBeGreaterThan(0.9999))
    } finally {
      await pool.close()
    }
  })

  it('replace a worker that died, failing only the batch it held', async () => {
    const pool = await createWorkerPoolEmbedder({ workers: 2, backend: 'wasm' })
    try {
      const input = (await decodePhoto(join(dir, 'upright.jpg'))).modelInput
      const [expected] = await embedder.embed([input])
      const inFlight = pool.embed([input, input])
      await pool.threads()[0].terminate()
      await expect(inFlight).rejects.toThrow(/embedding worker stopped/)
      const again = await pool.embed([input, input])
      again.forEach((f) => expect(cosineOf(f, expected)).toBeGreaterThan(0.9999))
      expect(pool.threads()).toHaveLength(2)
    } finally {
      await pool.close()
    }
  })
})

describe('backend selection', () => {
  const installed = (pkg: string) => {
    try {
      createRequire(import.meta.url).resolve(pkg)
      return true
    } catch {
      return false
    }
  }
  const nodePackages = installed('@tensorflow/tfjs-node-gpu') || installed('@tensorflow/tfjs-node')

  it.skipIf(nodePackages)('falls back to wasm when the native packages are absent, quietly', async () => {
    const choice = await selectBackend({ backend: 'auto' })
    expect(choice).toMatchObject({ name: 'wasm', kind: 'wasm', tfBackend: 'wasm' })
    expect(choice.skipped.map((s) => s.name)).toEqual(['node-gpu', 'node'])
  })

  it.skipIf(installed('@tensorflow/tfjs-node-gpu'))('fails clearly when an absent backend is forced', async () => {
    await expect(selectBackend({ backend: 'node-gpu' })).rejects.toThrow(/node-gpu.*unavailable.*not installed/)
    await expect(selectBackend({ backend: 'tpu' })).rejects.toThrow(/unknown backend "tpu"/)
  })

  it('honours LOOKALIKE_BACKEND=cpu', async () => {
    process.env.LOOKALIKE_BACKEND = 'cpu'
    try {
      const choice = await selectBackend()
      expect(choice).toMatchObject({ name: 'cpu', kind: 'cpu' })
      expect(tf.getBackend()).toBe('cpu')
    } finally {
      delete process.env.LOOKALIKE_BACKEND
    }
  })
})
