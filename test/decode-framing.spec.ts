// The backbone sees the whole photo: a portrait photo is letterboxed into the square model input,
// not cut to its centre. Features made from centre crops keep their own id, and an outside image
// searched while a library still reads them is framed as they were.
import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import { backboneId, CROPPED_REGION_FEATURE, FEATURE, featureById, framingOf, LEGACY_FEATURE } from '../src/core/embed/backbone.ts'
import { embedImage } from '../src/core/embed/embedder.ts'
import { decodePhoto, LETTERBOX_BACKGROUND } from '../src/core/library/decode.ts'
import { MODEL_INPUT_SIZE, type Embedder, type ModelInput } from '../src/core/types.ts'

const WIDTH = 600
const HEIGHT = 800

/** A portrait photo: a red band across the top eighth, a blue one across the bottom eighth, green between. */
async function portrait(): Promise<Buffer> {
  const band = HEIGHT / 8
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}">
    <rect width="${WIDTH}" height="${HEIGHT}" fill="#00c000"/>
    <rect width="${WIDTH}" height="${band}" fill="#ff0000"/>
    <rect y="${HEIGHT - band}" width="${WIDTH}" height="${band}" fill="#0000ff"/></svg>`
  return sharp(Buffer.from(svg)).jpeg({ quality: 95 }).toBuffer()
}

/** The mean colour of rows [top, bottom) and columns [left, right) of a model input. */
function meanColour(pixels: ModelInput, [left, top, right, bottom]: number[]): number[] {
  const sum = [0, 0, 0]
  for (let y = top; y < bottom; y++) for (let x = left; x < right; x++) for (let c = 0; c < 3; c++) sum[c] += pixels[(y * MODEL_INPUT_SIZE + x) * 3 + c]
  const n = (right - left) * (bottom - top)
  return sum.map((s) => Math.round(s / n))
}

const S = MODEL_INPUT_SIZE
const near = (got: number[], want: number[], tolerance = 12) => got.every((v, c) => Math.abs(v - want[c]) <= tolerance)

describe('framing the model input', () => {
  it('letterboxes a portrait photo: both ends are in, the bars are the background colour', async () => {
    const { modelInput } = await decodePhoto(await portrait())
    const content = Math.round((S * WIDTH) / HEIGHT)
    const bar = Math.floor((S - content) / 2)
    expect(near(meanColour(modelInput, [0, 0, bar - 2, S]), Object.values(LETTERBOX_BACKGROUND)), 'left bar').toBe(true)
    expect(near(meanColour(modelInput, [S - bar + 2, 0, S, S]), Object.values(LETTERBOX_BACKGROUND)), 'right bar').toBe(true)
    expect(near(meanColour(modelInput, [S / 2 - 10, 2, S / 2 + 10, 20]), [255, 0, 0]), 'top band').toBe(true)
    expect(near(meanColour(modelInput, [S / 2 - 10, S - 20, S / 2 + 10, S - 2]), [0, 0, 255]), 'bottom band').toBe(true)
  })

  it('a centre crop fills the square and cuts both bands off', async () => {
    const { modelInput } = await decodePhoto(await portrait(), 'centre-crop')
    const whole = meanColour(modelInput, [0, 0, S, S])
    expect(near(whole, [0, 192, 0]), `mean colour ${whole}`).toBe(true)
  })

  it('the framing is part of the feature: the current one is letterboxed, centre-cropped ids are kept as they were', () => {
    expect(FEATURE.framing).toBe('letterbox')
    expect(backboneId(FEATURE)).toMatch(/:letterbox$/)
    expect(backboneId(CROPPED_REGION_FEATURE)).toBe(backboneId(FEATURE).replace(/:letterbox$/, ''))
    expect(backboneId(LEGACY_FEATURE)).not.toMatch(/letterbox/)
    expect(featureById(backboneId(CROPPED_REGION_FEATURE))).toBe(CROPPED_REGION_FEATURE)
    expect(framingOf(backboneId(CROPPED_REGION_FEATURE))).toBe('centre-crop')
    expect(framingOf(backboneId(LEGACY_FEATURE))).toBe('centre-crop')
    expect(framingOf(backboneId())).toBe('letterbox')
  })

  it("an outside image is framed as its embedder's feature was: centre crop for a library still on the old feature", async () => {
    // A stand-in backbone: the mean colour of the input's left eighth, where the bars are.
    const leftEdge = (id: string): Embedder => ({
      backboneId: id,
      backend: 'cpu',
      dim: 3,
      async embed(inputs) {
        return inputs.map((p) => new Float32Array(meanColour(p, [0, 0, S / 8, S])))
      },
      async close() {},
    })
    const image = await portrait()
    const old = await embedImage(image, leftEdge(backboneId(CROPPED_REGION_FEATURE)))
    const now = await embedImage(image, leftEdge(backboneId(FEATURE)))
    expect(near([...now], Object.values(LETTERBOX_BACKGROUND))).toBe(true)
    expect(near([...old], [0, 192, 0])).toBe(true)
  })
})
