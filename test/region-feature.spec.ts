// The region feature's parts against plain references: R-MAC as one max-pool per scale against a
// slice per region, the whitening fit against its definition, the shipped asset against the
// network it whitens, and the whole extractor on a real photo (real weights, wasm).
import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FEATURE, backboneId, type RegionSpec } from '../src/core/embed/backbone.ts'
import { readBackboneArtifacts } from '../src/core/embed/backbone-files.ts'
import { createFeatureExtractor } from '../src/core/embed/feature-extractor.ts'
import { graphNetwork } from '../src/core/embed/graph-network.ts'
import { regionScales, rmac } from '../src/core/embed/rmac.ts'
import { decodeWhitening, float16ToFloat32, float32ToFloat16 } from '../src/core/embed/whitening.ts'
import { WHITENING_ASSET } from '../src/core/embed/whitening-asset.ts'
import { applyWhitening, fitWhitening, symmetricEigen } from '../src/core/embed/whitening-fit.ts'
import { decodePhoto } from '../src/core/library/decode.ts'
import { cosineOf } from '../src/core/search/exact.ts'

const dir = mkdtempSync(join(tmpdir(), 'lookalike-region-'))
beforeAll(async () => {
  await tf.setBackend('wasm')
  const svg = (hue: number) =>
    Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="640" height="480">
      <rect width="100%" height="100%" fill="hsl(${hue},60%,70%)"/>
      <circle cx="200" cy="220" r="120" fill="hsl(${hue + 120},70%,40%)"/>
      <rect x="380" y="120" width="180" height="260" fill="#333"/></svg>`)
  await sharp(svg(20)).jpeg({ quality: 90 }).toFile(join(dir, 'a.jpg'))
  await sharp(svg(200)).jpeg({ quality: 90 }).toFile(join(dir, 'b.jpg'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('R-MAC', () => {
  it('covers the map edge to edge with 1 + 4 + 9 regions at every size the networks produce', () => {
    for (const side of [7, 14, 28]) {
      const counts = regionScales(side).map(({ size, stride }) => {
        const n = Math.floor((side - size) / stride) + 1
        expect((n - 1) * stride + size).toBe(side)
        return n * n
      })
      expect(counts).toEqual([1, 4, 9])
    }
  })

  it('equals the sum of unit-length region maxima taken one slice at a time', () => {
    const maps = tf.randomUniform([2, 14, 14, 5], 0, 6, 'float32', 7) as tf.Tensor4D
    const fused = rmac(tf, maps).arraySync()
    const values = maps.arraySync()
    for (let b = 0; b < 2; b++) {
      const sum = new Float64Array(5)
      for (const { size, stride } of regionScales(14)) {
        for (let y = 0; y + size <= 14; y += stride) {
          for (let x = 0; x + size <= 14; x += stride) {
            const m = Array.from({ length: 5 }, (_, c) => Math.max(...values[b].slice(y, y + size).flatMap((row) => row.slice(x, x + size).map((cell) => cell[c]))))
            const n = Math.hypot(...m)
            m.forEach((v, c) => (sum[c] += v / n))
          }
        }
      }
      const n = Math.hypot(...sum)
      sum.forEach((v, c) => expect(fused[b][c]).toBeCloseTo(v / n, 5))
    }
    maps.dispose()
  })
})

describe('whitening', () => {
  it('finds eigenpairs of a symmetric matrix', () => {
    const n = 6
    const a = new Float64Array(n * n)
    for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) a[i * n + j] = a[j * n + i] = Math.sin(3 * i + 7 * j)
    const { values, vectors } = symmetricEigen(a, n)
    for (let k = 0; k < n; k++) {
      for (let i = 0; i < n; i++) {
        let av = 0
        for (let j = 0; j < n; j++) av += a[i * n + j] * vectors[j * n + k]
        expect(av).toBeCloseTo(values[k] * vectors[i * n + k], 9)
      }
    }
  })

  it('makes the kept directions uncorrelated with unit variance (no shrinkage)', () => {
    const rows = Array.from({ length: 500 }, (_, r) => Float32Array.from({ length: 12 }, (_, j) => Math.sin(r * 0.37 * (j + 1)) * (j + 1) + (j % 3) * Math.cos(r)))
    const w = fitWhitening(rows, { out: 4, shrinkage: 0 })
    const projected = rows.map((x) => Array.from({ length: 4 }, (_, k) => x.reduce((s, v, j) => s + (v - w.mean[j]) * w.projection[j * 4 + k], 0)))
    for (let a = 0; a < 4; a++) {
      for (let b = 0; b < 4; b++) {
        const cov = projected.reduce((s, y) => s + y[a] * y[b], 0) / (rows.length - 1)
        expect(cov).toBeCloseTo(a === b ? 1 : 0, 4)
      }
    }
    expect(Math.hypot(...applyWhitening(w, rows[0]))).toBeCloseTo(1, 5)
    expect(() => fitWhitening(rows.slice(0, 1), { out: 1, shrinkage: 0 })).toThrow(/at least two/)
  })

  it('stores the projection in half precision with three significant digits', () => {
    const values = Float32Array.from([0, 1, -1, 0.1234, -3.5e-3, 65000, 1e-6, 12.75])
    const back = float16ToFloat32(float32ToFloat16(values))
    values.forEach((v, i) => expect(Math.abs(back[i] - v)).toBeLessThanOrEqual(Math.max(Math.abs(v) * 1e-3, 1e-7)))
  })
})

describe('the shipped region feature', () => {
  it('names its layer, whitening and decoding in the backbone id', () => {
    expect(FEATURE.network).toBe('mobilenet_v2_mid')
    const spec = FEATURE as RegionSpec
    expect(backboneId(FEATURE)).toContain(`mobilenet_v2_mid@nsfwjs4.4:${spec.layer}:rmac:${WHITENING_ASSET.id}:l2:[0,1]:decode`)
    const w = decodeWhitening(WHITENING_ASSET)
    expect(w.projection.length).toBe(WHITENING_ASSET.dim * WHITENING_ASSET.out)
    expect(w.projection.every(Number.isFinite)).toBe(true)
  })

  it('refuses a layer the network does not have', async () => {
    await expect(graphNetwork(tf, readBackboneArtifacts('mobilenet_v2_mid'), ['expanded_conv_99/expand'])).rejects.toThrow(/no layer expanded_conv_99/)
  })

  it('whitens in the graph exactly as the fitting script does on the unwhitened vector', async () => {
    const artifacts = readBackboneArtifacts('mobilenet_v2_mid')
    const spec = FEATURE as RegionSpec
    const shipped = await createFeatureExtractor(tf, artifacts, FEATURE)
    const raw = await createFeatureExtractor(tf, artifacts, { ...spec, whitening: null })
    const before = tf.memory().numTensors
    const pixels = await Promise.all(['a.jpg', 'b.jpg'].map(async (f) => (await decodePhoto(join(dir, f))).modelInput))
    const features = await shipped.embed(pixels)
    const unwhitened = await raw.embed(pixels)
    expect(tf.memory().numTensors).toBe(before)
    expect(raw.dim).toBe(WHITENING_ASSET.dim)
    expect(shipped.dim).toBe(WHITENING_ASSET.out)
    const w = decodeWhitening(WHITENING_ASSET)
    features.forEach((f, i) => {
      expect(f.length).toBe(WHITENING_ASSET.out)
      expect(Math.hypot(...f)).toBeCloseTo(1, 4)
      expect(cosineOf(f, applyWhitening(w, unwhitened[i]))).toBeGreaterThan(0.9999)
    })
    // Different photos, different features; the same photo, the same feature.
    expect(cosineOf(features[0], features[1])).toBeLessThan(0.99)
    expect(cosineOf((await shipped.embed(pixels.slice(0, 1)))[0], features[0])).toBeGreaterThan(0.99999)
    shipped.dispose()
    raw.dispose()
  }, 120_000)
})
