// Deeper fine-tuning (finetune: 'late'): the last block + Conv_1 of the feature's network train with
// the DPQ head from a cached activation map (the width-1.4 MobileNetV2's expanded_conv_15/add for the
// region feature, the first MobileNetV2's block_15_add for the legacy one). Real tfjs models; the
// activations of real JPEGs.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LEGACY_FEATURE, FEATURE, pooledFeatureModel, scalePixels } from '../src/core/embed/backbone.ts'
import { loadMobilenet, readBackboneArtifacts } from '../src/core/embed/backbone-files.ts'
import { graphNetwork } from '../src/core/embed/graph-network.ts'
import { createEmbedder } from '../src/core/embed/embedder.ts'
import { decodePhoto } from '../src/core/library/decode.ts'
import { MODEL_INPUT_SIZE } from '../src/core/types.ts'
import { tf } from '../src/core/dpq/tf.ts'
import { ensureBackend } from '../src/core/modeling/backend.ts'
import { createActivationExtractor, type ActivationExtractor } from '../src/core/modeling/activations.ts'
import { runCli } from './fixtures/cli.ts'
import { applyTail, finetuneInputs, LEGACY_TAIL, mapSize, randomTail, REGION_TAIL, tailArrays, type Tail, type TailSpec } from '../src/core/dpq/finetune.ts'
import { labelSets, meanAveragePrecision } from '../src/core/dpq/metrics.ts'
import { DpqModel } from '../src/core/dpq/model.ts'
import { createRng, normal } from '../src/core/dpq/prng.ts'
import { lookupTable } from '../src/core/search/lookup-table.ts'
import { trainDpq } from '../src/core/dpq/train.ts'
import { makePhotos } from './fixtures/photos.ts'

/**
 * Photos whose class shows only in the activation map (a class-specific channel pattern at a few
 * positions, under noise); the pooled part is noise alike for every class.
 */
function mapClusters(perClass: number, classes: number, seed: number, spec: TailSpec = LEGACY_TAIL) {
  const rng = createRng(seed)
  const channels = spec.channels
  const patterns = Array.from({ length: classes }, () => Float32Array.from({ length: channels }, () => Math.max(0, normal(rng))))
  const maps: Float32Array[] = []
  const pooled: Float32Array[] = []
  const labels: number[][] = []
  for (let c = 0; c < classes; c++) {
    for (let i = 0; i < perClass; i++) {
      const map = Float32Array.from({ length: mapSize(spec) }, () => 0.5 * Math.abs(normal(rng)))
      for (let p = 0; p < 49; p += 5) for (let k = 0; k < channels; k++) map[p * channels + k] += 2 * patterns[c][k]
      maps.push(map)
      pooled.push(Float32Array.from({ length: 8 }, () => normal(rng)))
      labels.push([c])
    }
  }
  return { inputs: finetuneInputs(spec, maps, pooled), labels }
}

const small = { M: 4, K: 16, D: 16, hidden: 32, batchSize: 32, seed: 5 }

function codeMap(model: DpqModel, inputs: Float32Array[], labels: number[][], queries: number[], database: number[], blocks: number): number {
  const codes = model.encode(database.map((i) => inputs[i]))
  const tables = model.embed(queries.map((i) => inputs[i])).map((q) => lookupTable(q, model.codebooks, model.M, model.K, model.D))
  return meanAveragePrecision(labelSets(queries.map((i) => labels[i])), labelSets(database.map((i) => labels[i])), (q, out) => {
    for (let j = 0; j < out.length; j++) {
      let s = 0
      for (let m = 0; m < blocks; m++) s += tables[q][m * model.K + codes[j * model.M + m]]
      out[j] = s
    }
  }).all
}

describe("DPQ with finetune 'late'", () => {
  const data = mapClusters(16, 3, 11)
  const start = randomTail(createRng(3))
  let model: DpqModel

  let leaked = 0

  beforeAll(async () => {
    await ensureBackend()
    const before = tf.memory().numTensors
    model = await trainDpq(data.inputs, data.labels, { ...small, epochs: 8, finetune: 'late', tail: start, tailLr: 1e-3 })
    model.encode(data.inputs)
    leaked = tf.memory().numTensors - before
  }, 300_000) // training the tail takes minutes on a loaded 2-core machine

  it('trains the tail with the head, and its codes group photos by class', () => {
    expect(model.head.tail).toBeDefined()
    // The wasm heap is bounded: training and encoding leave no tensor behind.
    expect(leaked).toBe(0)
    const moved = tailArrays(model.head.tail!).some((a, i) => a.some((v, j) => Math.abs(v - tailArrays(start)[i][j]) > 1e-6))
    expect(moved).toBe(true)
    // The caller's starting weights are untouched.
    expect(tailArrays(start)[0]).toEqual(tailArrays(randomTail(createRng(3)))[0])
    const queries = data.inputs.map((_, i) => i).filter((i) => i % 4 === 0)
    const database = data.inputs.map((_, i) => i).filter((i) => i % 4 !== 0)
    // Chance is 1/3.
    expect(codeMap(model, data.inputs, data.labels, queries, database, 1)).toBeGreaterThan(0.8)
  })

  it('keeps the prefix property: the first l bytes are the l-block code', () => {
    const codes = model.encode(data.inputs)
    for (let l = 1; l < small.M; l++) {
      const prefix = new DpqModel({ ...model.params, M: l }, model.head, model.codebooks.slice(0, l * small.K * small.D))
      const short = prefix.encode(data.inputs)
      for (let i = 0; i < data.inputs.length; i++) {
        expect(Array.from(short.subarray(i * l, (i + 1) * l))).toEqual(Array.from(codes.subarray(i * small.M, i * small.M + l)))
      }
    }
  })

  it('round-trips through serialize / deserialize with its tail', () => {
    const copy = DpqModel.deserialize(model.serialize())
    expect(copy.head.tail).toBeDefined()
    expect(Array.from(copy.encode(data.inputs))).toEqual(Array.from(model.encode(data.inputs)))
    const [a, b] = [model.embed(data.inputs.slice(0, 3)), copy.embed(data.inputs.slice(0, 3))]
    for (let i = 0; i < 3; i++) for (let j = 0; j < a[i].length; j++) expect(b[i][j]).toBeCloseTo(a[i][j], 5)
  })

  it('says clearly what it needs', async () => {
    await expect(trainDpq(data.inputs, data.labels, { ...small, epochs: 1, finetune: 'late' })).rejects.toThrow(/pretrained tail/)
    await expect(trainDpq([new Float32Array(20)], [[0]], { ...small, epochs: 1, finetune: 'late', tail: start })).rejects.toThrow(/activation map/)
    await expect(trainDpq(data.inputs, null, { ...small, finetune: 'late', tail: start })).rejects.toThrow(/album labels/)
    expect(() => model.embed([new Float32Array(8)])).toThrow(/expects/)
  })
})

describe("the region feature's own tail trains", () => {
  const data = mapClusters(6, 2, 12, REGION_TAIL)
  const start = randomTail(createRng(4), REGION_TAIL)

  it('from expanded_conv_15/add maps, and a saved model keeps which tail it has', async () => {
    await ensureBackend()
    const model = await trainDpq(data.inputs, data.labels, { ...small, epochs: 2, finetune: 'late', tail: start, tailLr: 1e-3 })
    expect(model.head.tail!.spec).toBe(REGION_TAIL)
    expect(tailArrays(model.head.tail!).some((a, i) => a.some((v, j) => Math.abs(v - tailArrays(start)[i][j]) > 1e-6))).toBe(true)
    const copy = DpqModel.deserialize(model.serialize())
    expect(copy.head.tail!.spec).toBe(REGION_TAIL)
    expect(Array.from(copy.encode(data.inputs))).toEqual(Array.from(model.encode(data.inputs)))
    // A legacy row (block_15_add map) is not this tail's input.
    await expect(trainDpq(mapClusters(2, 2, 1).inputs, [[0], [0], [1], [1]], { ...small, epochs: 1, finetune: 'late', tail: start })).rejects.toThrow(/activation map/)
  }, 300_000)
})

describe('activations of real photos', () => {
  let dir: string
  let files: string[]
  let pixels: Uint8Array[]
  let features: Float32Array[]

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lookalike-finetune-'))
    files = await Promise.all(
      [
        { r: 200, g: 40, b: 40 },
        { r: 30, g: 90, b: 220 },
      ].map(async (background, i) => {
        const file = join(dir, `p${i}.jpg`)
        const noise = Buffer.from(Array.from({ length: 64 * 48 * 3 }, (_, k) => (k * 37 * (i + 1)) % 256))
        const texture = await sharp(noise, { raw: { width: 64, height: 48, channels: 3 } }).png().toBuffer()
        await sharp({ create: { width: 320, height: 240, channels: 3, background } })
          .composite([{ input: texture, left: 40 + 100 * i, top: 60 }])
          .jpeg()
          .toFile(file)
        return file
      }),
    )
    pixels = await Promise.all(files.map(async (f) => (await decodePhoto(f)).modelInput as Uint8Array))
    const embedder = await createEmbedder({ threads: 0 })
    try {
      features = await embedder.embed(pixels)
    } finally {
      await embedder.close()
    }
  }, 300_000) // loading the network takes minutes on a loaded 2-core machine
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  /** Rows read the library's feature after the map; the tail's pooled Conv_1 of each row. */
  function checkRows(rows: Float32Array[], tail: Tail): Float32Array {
    const size = mapSize(tail.spec)
    rows.forEach((row, i) => {
      expect(row.length).toBe(size + features[i].length)
      const pooled = row.subarray(size)
      for (let j = 0; j < pooled.length; j++) expect(pooled[j]).toBeCloseTo(features[i][j], 4)
    })
    const flat = new Float32Array(rows.length * rows[0].length)
    rows.forEach((r, i) => flat.set(r, i * r.length))
    const out = applyTail(tail, flat, rows.length)
    const width = out.length / rows.length
    const top = new Float32Array(rows.length * tail.spec.out)
    for (let i = 0; i < rows.length; i++) top.set(out.subarray(i * width, i * width + tail.spec.out), i * tail.spec.out)
    // Two different photos, two different outputs.
    expect(top.subarray(0, tail.spec.out).some((v, j) => Math.abs(v - top[tail.spec.out + j]) > 1e-3)).toBe(true)
    return top
  }

  it("the region feature's tail is the width-1.4 network's own: its pooled Conv_1, from the same pass as the feature", async () => {
    const extractor = await createActivationExtractor()
    try {
      expect(extractor.tail.spec).toBe(REGION_TAIL)
      const top = checkRows(await extractor.fromPhotos(files), extractor.tail)
      // The tail as matMuls and shifted slices = the graph model's Conv_1 (BN and ReLU6 fused), averaged.
      const network = await graphNetwork(tf, readBackboneArtifacts('mobilenet_v2_mid'), ['Conv_1'])
      const expected = tf.tidy(() => network.maps(tf.tensor4d(scalePixels(pixels, MODEL_INPUT_SIZE, '[0,1]'), [2, MODEL_INPUT_SIZE, MODEL_INPUT_SIZE, 3]))[0].mean([1, 2]).dataSync() as Float32Array)
      network.dispose()
      expect(expected.length).toBe(2 * REGION_TAIL.out)
      let worst = 0
      for (let j = 0; j < expected.length; j++) worst = Math.max(worst, Math.abs(top[j] - expected[j]))
      expect(worst).toBeLessThan(1e-4)
      await expect(extractor.fromPhotos([join(dir, 'missing.jpg')])).rejects.toThrow(/missing\.jpg/)
    } finally {
      extractor.dispose()
    }
  }, 300_000)

  it('a model fine-tuned before the region feature had its tail still reads the first MobileNetV2 beside the region feature', async () => {
    const extractor = await createActivationExtractor(FEATURE, LEGACY_TAIL)
    try {
      expect(extractor.tail.spec).toBe(LEGACY_TAIL)
      const top = checkRows(await extractor.fromPhotos(files), extractor.tail)
      // The tail as matMuls and shifted slices = the Keras layers model's pooled out_relu.
      const mobilenet = await loadMobilenet(tf)
      const reference = pooledFeatureModel(tf, mobilenet, ['out_relu'])
      const expected = tf.tidy(() => (reference.predict(tf.tensor4d(scalePixels(pixels, MODEL_INPUT_SIZE, LEGACY_FEATURE.range), [2, MODEL_INPUT_SIZE, MODEL_INPUT_SIZE, 3])) as tf.Tensor).dataSync() as Float32Array)
      mobilenet.dispose()
      for (let j = 0; j < expected.length; j++) expect(Math.abs(top[j] - expected[j])).toBeLessThan(1e-3)
    } finally {
      extractor.dispose()
    }
  }, 300_000)
})

describe('lookalike eval / train --finetune', () => {
  const lookalike = (...args: string[]) => runCli(args, 240_000)
  let dir: string
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'lookalike-finetune-cli-'))
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('eval --finetune late fine-tunes on the photo files and prints the protocol JSON', async () => {
    const photos = join(dir, 'photos')
    await makePhotos(photos, { groups: 3, perGroup: 6 })
    const out = lookalike('eval', photos, '--db', join(dir, 'lib.sqlite'), '--train-per-class', '4', '--queries-per-class', '2', '--epochs', '2', '--finetune', 'late', '--json')
    expect(out.code, out.stderr).toBe(0)
    const report = JSON.parse(out.stdout)
    expect(report).toMatchObject({ finetune: 'late', classes: 3, train: 12, queries: 6, map: { float: expect.any(Number) } })
    for (const bits of ['8', '32', '64']) expect(report.map.dpq[bits]).toBeGreaterThan(0)
  }, 240_000)

  it('train --finetune late fine-tunes the library on its albums, and similar searches with it; a bad mode is named', () => {
    const db = join(dir, 'lib.sqlite') // indexed by the eval above
    expect(lookalike('albums', 'import-folders', '--db', db).stdout).toMatch(/group-0: 6 photos/)
    const out = lookalike('train', '--db', db, '--finetune', 'late', '--epochs', '2', '--json')
    expect(out.code, out.stderr).toBe(0)
    expect(JSON.parse(out.stdout)).toMatchObject({ finetune: 'late', kind: 'supervised', after: { '8': expect.any(Number), exact: expect.any(Number) } })
    const similar = lookalike('similar', join(dir, 'photos', 'group-1', 'photo-000.jpg'), '--db', db, '--bits', 'exact', '--top', '3', '--json')
    expect(similar.code, similar.stderr).toBe(0)
    expect(JSON.parse(similar.stdout).results).toHaveLength(3)
    const bad = lookalike('train', '--db', db, '--finetune', 'deep')
    expect(bad.code).not.toBe(0)
    expect(bad.stderr).toMatch(/--finetune must be off or late/)
  }, 240_000)
})
