// Retrain's library model learns twice: once without the held-out album photos, which then choose
// the blend weight and judge each codebook block, and once more from every album photo, with the
// weight and the blocks as judged. The held-out photos measure the first (the checked model).
import { beforeAll, describe, expect, it } from 'vitest'
import { trainLibraryModel } from '../src/core/dpq/library-model.ts'
import type { ProgressEvent } from '../src/core/types.ts'
import { ensureBackend } from '../src/core/modeling/backend.ts'
import { fourKinds } from './fixtures/features.ts'

describe('the final pass on every album photo', () => {
  beforeAll(() => ensureBackend())

  // 4 kinds of 24-d features; albums of 20 photos on every kind (4 held out each), 40 photos in no album.
  const { features, albumOf } = fourKinds(11, 80)
  const heldOut = Array.from({ length: 16 }, (_, k) => 64 + k)
  const train = { M: 4, K: 16, D: 16, hidden: 32, batchSize: 32, epochs: 3, seed: 1 }

  it('keeps the checked model as it was trained without it, and learns again with its weight and blocks', async () => {
    const once = await trainLibraryModel(features, albumOf, heldOut, { train, finalPass: false })
    const epochs: number[] = []
    const finalEpochs: number[] = []
    const twice = await trainLibraryModel(features, albumOf, heldOut, { train, finalPass: true }, {
      onProgress: (e: ProgressEvent) => {
        if (e.epoch) epochs.push(e.epoch)
        if (e.stage === 'final pass') finalEpochs.push(e.epoch!)
      },
    })
    expect(once.checked).toBeUndefined()
    // The held-out photos measured, chose and judged exactly what they would have without the final pass.
    expect(Buffer.from(twice.checked!.serialize())).toEqual(Buffer.from(once.model.serialize()))
    expect(twice.fitted).toEqual(once.fitted)
    expect(twice.blendChoice).toEqual(once.blendChoice)
    expect(twice.model.head.blend!.weight).toBe(once.model.head.blend!.weight)
    expect(twice.model.params.blockScale).toEqual(once.fitted.blockScale)
    // The final head learned from the held-out photos too: other weights, other codebooks.
    expect(Buffer.from(twice.model.serialize())).not.toEqual(Buffer.from(once.model.serialize()))
    expect(twice.model.codebooks).not.toEqual(once.model.codebooks)
    // Both passes report as one run of epochs, the second as the final pass.
    expect(epochs).toEqual([1, 2, 3, 4, 5, 6])
    expect(finalEpochs).toEqual([4, 5, 6])
  })

  it('runs from 50 photos in the median album up to a number of album photos, and not without held-out photos', async () => {
    expect((await trainLibraryModel(features, albumOf, [], { train, finalPass: true, blend: 0.4 })).checked).toBeUndefined()
    // Albums of 20: the final pass cost photos in no album precision there.
    expect((await trainLibraryModel(features, albumOf, heldOut, { train })).checked).toBeUndefined()
    const large = features.map((_, i) => [i % 2])
    const heldLarge = Array.from({ length: 20 }, (_, k) => 100 + k)
    expect((await trainLibraryModel(features, large, heldLarge, { train })).checked).toBeDefined()
    // Past the album photos a second pass fits in Retrain's minute.
    expect((await trainLibraryModel(features, large, heldLarge, { train, finalPassMaxAlbumPhotos: 100 })).checked).toBeUndefined()
  })
})
