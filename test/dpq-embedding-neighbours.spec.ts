// Retrain's library model can blend each photo's learned embedding with its nearest photos' before
// the codebooks are fitted: the model records it, the codebooks quantize the blended embeddings, and
// the held-out photos judge the blocks on them.
import { beforeAll, describe, expect, it } from 'vitest'
import { trainLibraryModel } from '../src/core/dpq/library-model.ts'
import { blendAmongRows, EMBEDDING_NEIGHBOURS } from '../src/core/dpq/neighbour-blend.ts'
import { quantize, reconstruct } from '../src/core/dpq/quantize.ts'
import { ensureBackend } from '../src/core/modeling/backend.ts'
import { fourKinds } from './fixtures/features.ts'

describe('a library model that blends embeddings with their neighbours', () => {
  beforeAll(() => ensureBackend())

  // 4 kinds of 24-d features; albums of 20 photos on every kind (4 held out each), 40 photos in no album.
  const { features, albumOf } = fourKinds(5, 80)
  const heldOut = Array.from({ length: 16 }, (_, k) => 64 + k)
  const train = { M: 4, K: 16, D: 16, hidden: 32, batchSize: 32, epochs: 3, seed: 1 }

  /** Mean squared distance between rows and their codes' reconstruction. */
  function error(x: Float32Array, model: Parameters<typeof quantize>[0]): number {
    const back = reconstruct(model, quantize(model, x))
    let s = 0
    for (let i = 0; i < x.length; i++) s += (x[i] - back[i]) ** 2
    return s / (x.length / model.D)
  }

  it('records the blend, fits the codebooks to the blended embeddings, and leaves the head as it was', async () => {
    const plain = await trainLibraryModel(features, albumOf, heldOut, { train })
    const mixed = await trainLibraryModel(features, albumOf, heldOut, { train, embeddingNeighbours: EMBEDDING_NEIGHBOURS })
    expect(plain.model.params.embeddingNeighbours).toBeUndefined()
    expect(mixed.model.params.embeddingNeighbours).toEqual(EMBEDDING_NEIGHBOURS)
    // The same head and weight: only what the codebooks quantize differs.
    expect(mixed.model.head.blend!.weight).toBe(plain.model.head.blend!.weight)
    expect(mixed.model.embedFlat(features)).toEqual(plain.model.embedFlat(features))
    expect(mixed.model.codebooks).not.toEqual(plain.model.codebooks)
    const blended = blendAmongRows(mixed.model.embedFlat(features), mixed.model.D, EMBEDDING_NEIGHBOURS, train.seed)
    // Each model's codebooks fit what it encodes better than the other's do.
    expect(error(blended, mixed.model)).toBeLessThan(error(blended, plain.model))
    // The held-out photos judged every block on the blended embeddings.
    expect(mixed.fitted.prefixMap).toHaveLength(4)
    expect(mixed.fitted.prefixMap).not.toEqual(plain.fitted.prefixMap)
  })

  it('the final pass keeps the blend and the checked blocks', async () => {
    const large = features.map((_, i) => [i % 2])
    const held = Array.from({ length: 20 }, (_, k) => 100 + k)
    const { model, checked, fitted } = await trainLibraryModel(features, large, held, { train, embeddingNeighbours: EMBEDDING_NEIGHBOURS })
    expect(checked!.params.embeddingNeighbours).toEqual(EMBEDDING_NEIGHBOURS)
    expect(model.params.embeddingNeighbours).toEqual(EMBEDDING_NEIGHBOURS)
    expect(model.params.blockScale).toEqual(fitted.blockScale)
  })
})
