// DPQ on synthetic features: the properties a user relies on (every code length from one model,
// supervised codes that see what PQ cannot, repeatable training), with real tfjs models.
import { beforeAll, describe, expect, it } from 'vitest'
import { DpqModel } from '../src/core/dpq/model.ts'
import { evaluate, splitByClass, type LabelledPhotos } from '../src/core/dpq/protocol.ts'
import { createRng, normal } from '../src/core/dpq/prng.ts'
import { reconstruct } from '../src/core/dpq/quantize.ts'
import { tf } from '../src/core/dpq/tf.ts'
import { trainDpq, TrainingCancelled } from '../src/core/dpq/train.ts'
import { CENTRING, UNSUPERVISED_METHOD } from '../src/core/dpq/unsupervised.ts'
import { ensureBackend } from '../src/core/modeling/backend.ts'

// dpq/ is backend-agnostic: the Node side selects the backend (wasm here) before training.
beforeAll(async () => {
  await ensureBackend()
})

/**
 * `classes` classes told apart only by 2 low-variance dimensions (centres on a circle of
 * radius 1), hidden among `noise` dimensions of standard deviation 3: Euclidean methods (PQ,
 * cosine on the raw feature) mostly see the noise.
 */
function hiddenClusters(perClass: number, classes: number, noise: number, seed: number): LabelledPhotos {
  const rng = createRng(seed)
  const names: string[] = []
  const labels: number[][] = []
  const features: Float32Array[] = []
  for (let c = 0; c < classes; c++) {
    for (let i = 0; i < perClass; i++) {
      const f = new Float32Array(2 + noise)
      f[0] = Math.cos((2 * Math.PI * c) / classes) + 0.15 * normal(rng)
      f[1] = Math.sin((2 * Math.PI * c) / classes) + 0.15 * normal(rng)
      for (let j = 2; j < f.length; j++) f[j] = 3 * normal(rng)
      names.push(`c${c}/${String(i).padStart(4, '0')}.jpg`)
      labels.push([c])
      features.push(f)
    }
  }
  return { names, labels, classNames: Array.from({ length: classes }, (_, c) => `c${c}`), features }
}

const small = { M: 4, K: 16, D: 16, hidden: 64, batchSize: 64, seed: 7 }

function meanResidualNorm(model: DpqModel, features: Float32Array[], blocks: number): number {
  const x = model.embedFlat(features)
  const h = reconstruct(model, model.encode(features), blocks)
  let sum = 0
  for (let i = 0; i < features.length; i++) {
    let s = 0
    for (let j = 0; j < model.D; j++) s += (x[i * model.D + j] - h[i * model.D + j]) ** 2
    sum += Math.sqrt(s)
  }
  return sum / features.length
}

describe('DPQ model', () => {
  const data = hiddenClusters(60, 4, 14, 1)

  it('gives every code length from one model: the first l bytes are the l-block code', async () => {
    const model = await trainDpq(data.features, null, small)
    const codes = model.encode(data.features)
    expect(codes.length).toBe(data.features.length * small.M)
    for (let l = 1; l < small.M; l++) {
      const prefixModel = new DpqModel({ ...model.params, M: l }, model.head, model.codebooks.slice(0, l * small.K * small.D))
      const short = prefixModel.encode(data.features)
      for (let i = 0; i < data.features.length; i++) {
        expect(Array.from(short.subarray(i * l, (i + 1) * l))).toEqual(Array.from(codes.subarray(i * small.M, i * small.M + l)))
      }
    }
  })

  it('shrinks the residual block by block, unsupervised and under every training schedule', async () => {
    const runs = [
      { labels: null, schedule: undefined },
      ...(['sequential', 'alternating', 'joint'] as const).map((schedule) => ({ labels: data.labels, schedule })),
    ]
    for (const { labels, schedule } of runs) {
      const model = await trainDpq(data.features, labels, { ...small, epochs: 6, schedule, codebookEpochs: 2 })
      const norms = [0, 1, 2, 3, 4].map((l) => meanResidualNorm(model, data.features, l))
      for (let l = 1; l < norms.length; l++) expect(norms[l]).toBeLessThan(norms[l - 1])
    }
  })

  it('unsupervised: inner products of embeddings are the features\' own, less half the library mean', async () => {
    // Unit-norm features around a shared direction, as a library of one kind of photo looks.
    const rng = createRng(3)
    const features = Array.from({ length: 80 }, () => {
      const f = Float32Array.from({ length: 12 }, (_, j) => (j === 0 ? 2 : 0) + normal(rng))
      const n = Math.hypot(...f)
      return f.map((v) => v / n)
    })
    const model = await trainDpq(features, null, { M: 2, K: 8, D: 12, seed: 1 })
    expect(model.params.method).toBe(UNSUPERVISED_METHOD)
    const mean = new Float64Array(12)
    for (const f of features) f.forEach((v, j) => (mean[j] += v / features.length))
    Array.from(model.head.mean).forEach((v, j) => expect(v).toBeCloseTo(CENTRING * mean[j], 5))
    // D is the feature size, so the projection is a rotation times the scale: ⟨x_f, x_g⟩ = s²·⟨f − αμ, g − αμ⟩.
    const x = model.embed(features)
    const s = model.head.scale[0]
    const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((t, v, j) => t + v * b[j], 0)
    const shifted = features.map((f) => f.map((v, j) => v - CENTRING * mean[j]))
    for (const [i, j] of [[0, 1], [2, 50], [7, 7], [40, 79]]) expect(dot(x[i], x[j])).toBeCloseTo(s * s * dot(shifted[i], shifted[j]), 3)
  })

  it('learns classes hidden under high-variance noise that PQ and float cosine cannot see', async () => {
    const photos = hiddenClusters(100, 4, 30, 2)
    const split = splitByClass(photos.names, photos.labels, 60, 20)
    const report = await evaluate(photos, split, { dataset: 'synthetic', lengths: [8, 16], dpq: { ...small, M: 2, epochs: 40 } })
    expect(report.map.pq['16']).toBeLessThan(0.45)
    expect(report.map.float).toBeLessThan(0.45)
    expect(report.map.dpq['8']).toBeGreaterThan(report.map.pq['8'] + 0.3)
    expect(report.map.dpq['16']).toBeGreaterThan(report.map.pq['16'] + 0.3)
  })

  it('trains the same model twice under one seed, and another under another seed', async () => {
    const options = { ...small, epochs: 4 }
    const a = await trainDpq(data.features, data.labels, options)
    const b = await trainDpq(data.features, data.labels, options)
    const c = await trainDpq(data.features, data.labels, { ...options, seed: 8 })
    expect(Buffer.compare(a.serialize(), b.serialize())).toBe(0)
    expect(Buffer.compare(a.serialize(), c.serialize())).not.toBe(0)
    expect(Array.from(a.encode(data.features))).toEqual(Array.from(b.encode(data.features)))
  })

  it('round-trips through serialize and keeps its codes and embeddings', async () => {
    const model = await trainDpq(data.features, data.labels, { ...small, epochs: 2 })
    const copy = DpqModel.deserialize(model.serialize())
    expect(copy.params).toEqual(model.params)
    expect(Array.from(copy.encode(data.features))).toEqual(Array.from(model.encode(data.features)))
    expect(Array.from(copy.embed([data.features[0]])[0])).toEqual(Array.from(model.embed([data.features[0]])[0]))
    expect(() => DpqModel.deserialize(Buffer.from('not a model'))).toThrow(/Not a serialized DPQ model/)
  })

  it('reports epochs and loss terms, and stops with a clear error when cancelled', async () => {
    const events: { epoch?: number; loss?: Record<string, number> }[] = []
    const controller = new AbortController()
    const run = trainDpq(data.features, data.labels, { ...small, epochs: 10, schedule: 'alternating' }, {
      onProgress: (e) => {
        events.push(e)
        if (e.epoch === 6) controller.abort()
      },
      signal: controller.signal,
    })
    await expect(run).rejects.toBeInstanceOf(TrainingCancelled)
    expect(events.map((e) => e.epoch)).toEqual([1, 2, 3, 4, 5, 6])
    expect(Object.keys(events[0].loss!)).toEqual(expect.arrayContaining(['semantic', 'classification']))
    expect(Object.keys(events[5].loss!)).toContain('quantization')
  })

  it('handles libraries smaller than a codebook, and refuses an empty one', async () => {
    const tiny = data.features.slice(0, 5)
    const model = await trainDpq(tiny, null, { M: 8, K: 256, D: 8 })
    expect(model.encode(tiny).length).toBe(5 * 8)
    await expect(trainDpq([], null)).rejects.toThrow(/without any photo features/)
  })

  it('splits by class in file-name order; a multi-label photo counts for its rarest label', () => {
    // Class 0 ("person") is on every photo; 1 and 2 are rare.
    const names = ['b.jpg', 'a.jpg', 'c.jpg', 'e.jpg', 'd.jpg', 'f.jpg']
    const labels = [[0, 1], [0, 1], [0, 1], [0, 2], [0, 2], [0, 2]]
    const split = splitByClass(names, labels, 1, 1)
    expect(split.train.map((i) => names[i]).sort()).toEqual(['a.jpg', 'd.jpg'])
    expect(split.queries.map((i) => names[i]).sort()).toEqual(['b.jpg', 'e.jpg'])
    expect(split.database.map((i) => names[i]).sort()).toEqual(['a.jpg', 'c.jpg', 'd.jpg', 'f.jpg'])
  })

  it('leaves no tensors behind on the bounded wasm heap, finished or cancelled', async () => {
    await trainDpq(data.features.slice(0, 20), null, small)
    const before = tf.memory().numTensors
    for (const schedule of ['sequential', 'alternating', 'joint'] as const) {
      const model = await trainDpq(data.features, data.labels, { ...small, epochs: 4, schedule, codebookEpochs: 1 })
      model.encode(data.features)
      model.embed(data.features)
    }
    const controller = new AbortController()
    const cancelled = trainDpq(data.features, data.labels, { ...small, epochs: 6, schedule: 'alternating' }, {
      signal: controller.signal,
      onProgress: (e) => e.epoch === 4 && controller.abort(),
    })
    await expect(cancelled).rejects.toBeInstanceOf(TrainingCancelled)
    expect(tf.memory().numTensors).toBe(before)
  })
})
