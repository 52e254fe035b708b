// Personalisation (docs/dpq.md, "Personalisation"): albums cover 5 of the 10 CIFAR-10 dev classes
// (`--album-photos` per class); every other photo is in no album. mAP on queries of album classes
// and of non-album classes, for the unsupervised model (before) and after retraining with and
// without the preservation term. Relevance = same true class. Prints one JSON line.
//   npx tsx bench/dpq-personalise.ts [--layers block_13_expand_relu] [--album-photos 100] [--preservation 0,1,3]
import { parseArgs } from 'node:util'
import { labelSets, meanAveragePrecision } from '../src/core/dpq/metrics.ts'
import type { DpqModel } from '../src/core/dpq/model.ts'
import { cosineScorer, dpqMaps, type Split } from '../src/core/dpq/protocol.ts'
import { trainDpq } from '../src/core/dpq/train.ts'
import { loadCached } from './dpq-cached.ts'

const { values } = parseArgs({
  options: {
    layers: { type: 'string', default: 'block_13_expand_relu' },
    'album-photos': { type: 'string', default: '100' },
    preservation: { type: 'string', default: '0,1' },
    epochs: { type: 'string', default: '30' },
  },
})
const photos = loadCached('cifar10', values.layers!.split(','))
const albumPhotos = Number(values['album-photos'])
const albumClasses = new Set([0, 1, 2, 3, 4])
const rank = new Map<number, number>()
const seen = new Map<number, number>()
photos.names.forEach((_, i) => {
  const c = photos.labels[i][0]
  rank.set(i, seen.get(c) ?? 0)
  seen.set(c, (seen.get(c) ?? 0) + 1)
})
// Queries: files 400–499 of every class; the library is everything else.
const queries = photos.names.map((_, i) => i).filter((i) => rank.get(i)! >= 400)
const database = photos.names.map((_, i) => i).filter((i) => rank.get(i)! < 400)
const albumOf = (i: number) => (albumClasses.has(photos.labels[i][0]) && rank.get(i)! < albumPhotos ? [photos.labels[i][0]] : [])
const library = database.map((i) => photos.features[i])
const sets = labelSets(photos.labels)

function measure(model: DpqModel | null) {
  const out: Record<string, Record<string, number>> = {}
  for (const [group, inAlbums] of [['album_classes', true], ['other_classes', false]] as const) {
    const q = queries.filter((i) => albumClasses.has(photos.labels[i][0]) === inAlbums)
    const split: Split = { train: [], queries: q, database }
    const qs = q.map((i) => sets[i])
    const ds = database.map((i) => sets[i])
    if (!model) {
      out[group] = { float: round(meanAveragePrecision(qs, ds, cosineScorer(photos.features, q, database)).all) }
      continue
    }
    const maps = dpqMaps(model, photos.features, split, qs, ds, [8, 32, 64])
    out[group] = Object.fromEntries(Object.entries(maps).map(([k, v]) => [k, round(v.all)]))
  }
  return out
}

const started = performance.now()
const before = await trainDpq(library, null)
const result: Record<string, unknown> = {
  layers: values.layers,
  album_photos_per_class: albumPhotos,
  float: measure(null),
  before: { ...measure(before), seconds: round((performance.now() - started) / 1000) },
}
for (const beta of values.preservation!.split(',').map(Number)) {
  const t = performance.now()
  const after = await trainDpq(library, database.map(albumOf), { preservation: beta, epochs: Number(values.epochs) })
  result[`after_preservation_${beta}`] = { ...measure(after), seconds: round((performance.now() - t) / 1000) }
}
console.log(JSON.stringify(result))

function round(x: number): number {
  return Math.round(x * 10_000) / 10_000
}
