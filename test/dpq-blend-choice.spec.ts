// The library model's blend weight, chosen on held-out album photos ranked among each other: a weight
// whose embedding groups them clearly better than the default's wins, and a library whose held-out
// photos cannot judge (no two in one album) keeps the default.
import { beforeAll, describe, expect, it } from 'vitest'
import { chooseBlend, heldOutPeerMap } from '../src/core/dpq/blend-choice.ts'
import { LIBRARY_DEFAULTS, trainLibraryModel } from '../src/core/dpq/library-model.ts'
import { createRng, normal } from '../src/core/dpq/prng.ts'
import { ensureBackend } from '../src/core/modeling/backend.ts'
import { fourKinds } from './fixtures/features.ts'

/** Rows of `x` scaled by √w (first half) and √(1−w) (second half), as the blended embedding joins them. */
function joined(a: number[][], b: number[][], w: number): { x: Float32Array; D: number } {
  const D = a[0].length + b[0].length
  const x = new Float32Array(a.length * D)
  a.forEach((row, i) => {
    row.forEach((v, k) => (x[i * D + k] = Math.sqrt(w) * v))
    b[i].forEach((v, k) => (x[i * D + row.length + k] = Math.sqrt(1 - w) * v))
  })
  return { x, D }
}

describe('blend weight chosen on held-out album photos', () => {
  beforeAll(async () => {
    await ensureBackend()
  })

  const labels = [[0], [0], [1], [1], [2], [2]]
  // One half groups the albums; the other is the same for every photo but a little noise.
  const grouping = labels.map(([c]) => [c === 0 ? 1 : 0, c === 1 ? 1 : 0, c === 2 ? 1 : 0])
  const rng = createRng(5)
  const noise = labels.map(() => [normal(rng), normal(rng), normal(rng)])

  it('scores leave-one-out mAP among the held-out photos, and nothing when no two share an album', () => {
    expect(heldOutPeerMap(joined(grouping, grouping, 0.5).x, 6, labels)).toBe(1)
    // Each photo's album mate ranks second (AP 1/2) or third (AP 1/3) among the other three.
    const x = new Float32Array([1, 0, 0.6, 0.8, 0.8, 0.6, 0, 1])
    expect(heldOutPeerMap(x, 2, [[0], [0], [1], [1]])).toBeCloseTo((1 / 2 + 1 / 3 + 1 / 3 + 1 / 2) / 4, 6)
    expect(heldOutPeerMap(new Float32Array(6), 2, [[0], [1], [2]])).toBeNull()
  })

  it('takes the weight that ranks them clearly best, else keeps the default', () => {
    const o = { candidates: [0.2, 0.3, 0.4], default: 0.4, margin: 0.01 }
    // The learned half is noise (a head that memorised its few photos): the smallest weight wins.
    const fromNoise = chooseBlend({ ...o, candidates: [0.4, 0.3, 0.2] }, (w) => joined(noise, grouping, w), labels)!
    expect(fromNoise.weight).toBe(0.2)
    expect(Object.keys(fromNoise.peerMap)).toEqual(['0.2', '0.3', '0.4'])
    expect(fromNoise.peerMap['0.2']).toBeGreaterThan(fromNoise.peerMap['0.4'] + o.margin)
    // The learned half groups the albums: the default (the largest) stays.
    expect(chooseBlend(o, (w) => joined(grouping, noise, w), labels)?.weight).toBe(0.4)
    // Both halves group the albums perfectly: every weight ties, the default stays.
    expect(chooseBlend(o, (w) => joined(grouping, grouping, w), labels)?.weight).toBe(0.4)
    // A margin larger than any difference keeps the default; the default is tried even when not a candidate.
    expect(chooseBlend({ ...o, margin: 1 }, (w) => joined(noise, grouping, w), labels)?.weight).toBe(0.4)
    expect(Object.keys(chooseBlend({ ...o, candidates: [0.2] }, (w) => joined(noise, grouping, w), labels)!.peerMap)).toEqual(['0.2', '0.4'])
    expect(chooseBlend(o, (w) => joined(grouping, grouping, w), [[0], [1], [2], [3], [4], [5]])).toBeNull()
  })

  it('Retrain’s library model uses the chosen weight, a fixed one when given, and the unjudged weight when nothing can judge', async () => {
    // 4 kinds of 24-d features; albums of 10 photos on every kind (2 held out each), 80 photos in no album.
    const { features, albumOf } = fourKinds(9, 40)
    const heldOut = Array.from({ length: 8 }, (_, k) => 32 + k)
    const train = { M: 4, K: 16, D: 16, hidden: 32, batchSize: 32, epochs: 4, seed: 1 }
    const chosen = await trainLibraryModel(features, albumOf, heldOut, { train })
    const scores = chosen.blendChoice!
    expect(Object.keys(scores)).toEqual(LIBRARY_DEFAULTS.blendCandidates.map(String))
    const weight = chosen.model.head.blend!.weight
    expect(LIBRARY_DEFAULTS.blendCandidates).toContain(weight)
    expect(chosen.unjudged).toBeUndefined()
    if (weight !== LIBRARY_DEFAULTS.blend) expect(scores[String(weight)]).toBeGreaterThan(scores[String(LIBRARY_DEFAULTS.blend)] + LIBRARY_DEFAULTS.blendMargin)
    expect(Math.max(...Object.values(scores))).toBeLessThanOrEqual(scores[String(weight)] + LIBRARY_DEFAULTS.blendMargin)
    const fixed = await trainLibraryModel(features, albumOf, heldOut, { train, blend: 0.5 })
    expect(fixed.model.head.blend?.weight).toBe(0.5)
    expect(fixed.blendChoice).toBeUndefined()
    expect(fixed.unjudged).toBeUndefined()
    // One held-out photo per album: no held-out photo has an album mate to be ranked against.
    const lonely = await trainLibraryModel(features, albumOf, [36, 37, 38, 39], { train })
    expect(lonely.model.head.blend?.weight).toBe(LIBRARY_DEFAULTS.unjudgedBlend)
    expect(lonely.unjudged).toBe(true)
    expect(lonely.blendChoice).toBeUndefined()
  })
})
