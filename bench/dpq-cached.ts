// Loads features cached by bench/extract-dataset-features.ts as labelled photos, keeping the
// chosen layers' slices (in the given order).
import { readFileSync } from 'node:fs'
import type { LabelledPhotos } from '../src/core/dpq/protocol.ts'

export function loadCached(dataset: string, layers: string[]): LabelledPhotos {
  const meta = JSON.parse(readFileSync(`.tmp/features/${dataset}-11.json`, 'utf8')) as {
    layers: string[]
    layerDims: number[]
    dim: number
    items: { path: string; labels: string[] }[]
  }
  const raw = readFileSync(`.tmp/features/${dataset}-11.f32`)
  const all = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4)
  const slices = layers.map((name) => {
    const at = meta.layers.indexOf(name)
    if (at < 0) throw new Error(`unknown layer ${name}; cached: ${meta.layers.join(', ')}`)
    const start = meta.layerDims.slice(0, at).reduce((a, b) => a + b, 0)
    return [start, meta.layerDims[at]] as const
  })
  const dim = slices.reduce((s, [, w]) => s + w, 0)
  const classNames = [...new Set(meta.items.flatMap((i) => i.labels))].sort()
  const classOf = new Map(classNames.map((c, i) => [c, i]))
  const features = meta.items.map((_, i) => {
    const f = new Float32Array(dim)
    let at = 0
    for (const [start, width] of slices) {
      f.set(all.subarray(i * meta.dim + start, i * meta.dim + start + width), at)
      at += width
    }
    return f
  })
  return { names: meta.items.map((i) => i.path), labels: meta.items.map((i) => i.labels.map((l) => classOf.get(l)!)), classNames, features }
}

