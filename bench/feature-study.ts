// Choosing the stored feature by measured retrieval on real photos (docs/backbone.md): every
// cached variant of bench/feature-study-extract.ts, raw or signed-square-rooted, with or without
// PCA-whitening fitted on another dataset, scored by float cosine. Prints JSON lines.
// clothing-small: the first 20 photos per class query the rest. coco256: every photo queries the
// 255 others (relevant = shares a label).
// usage: tsx bench/feature-study.ts [--fit cifar150] [--variants a,b] [--dims 128,256,512] [--shrinkage 0.1,1]
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { applyWhitening, fitWhitening } from '../src/core/embed/whitening-fit.ts'

const { values } = parseArgs({
  options: {
    fit: { type: 'string', default: 'cifar150' },
    variants: { type: 'string' },
    dims: { type: 'string', default: '128,256,512' },
    shrinkage: { type: 'string', default: '0.1,1' },
    sets: { type: 'string', default: 'clothing,coco256' },
    roots: { type: 'string', default: 'l2,ssqrt' },
    quiet: { type: 'boolean', default: false },
  },
})

interface Study {
  variants: Record<string, number>
  items: { path: string; labels: string[] }[]
}
const meta = (name: string): Study => JSON.parse(readFileSync(`.tmp/study/${name}.json`, 'utf8'))
function load(name: string, variant: string): Float32Array[] {
  const dim = meta(name).variants[variant]
  const buf = readFileSync(`.tmp/study/${name}.${variant}.f32`)
  const all = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4)
  return Array.from({ length: all.length / dim }, (_, i) => all.slice(i * dim, (i + 1) * dim))
}

const unit = (x: Float32Array) => {
  let n = 0
  for (const v of x) n += v * v
  n = Math.sqrt(n) || 1
  return x.map((v) => v / n)
}
const ssqrt = (x: Float32Array) => unit(x.map((v) => Math.sign(v) * Math.sqrt(Math.abs(v))))

/** Queries and relevance of a dataset under its protocol. */
function protocol(name: string): { queries: number[]; database: number[]; relevant: (q: number, d: number) => boolean } {
  const { items } = meta(name)
  if (name === 'coco256') {
    const all = items.map((_, i) => i)
    return { queries: all, database: all, relevant: (q, d) => items[q].labels.some((l) => items[d].labels.includes(l)) }
  }
  const seen = new Map<string, number>()
  const queries: number[] = []
  const database: number[] = []
  items.forEach((it, i) => {
    const n = seen.get(it.labels[0]) ?? 0
    seen.set(it.labels[0], n + 1)
    ;(n < 20 ? queries : database).push(i)
  })
  return { queries, database, relevant: (q, d) => items[q].labels[0] === items[d].labels[0] }
}

function score(name: string, vectors: Float32Array[]): { p20: number; map: number } {
  const { queries, database, relevant } = protocol(name)
  let p20 = 0
  let map = 0
  for (const q of queries) {
    const candidates = database.filter((d) => d !== q)
    const sims = candidates.map((d) => {
      let s = 0
      const a = vectors[q]
      const b = vectors[d]
      for (let j = 0; j < a.length; j++) s += a[j] * b[j]
      return s
    })
    const order = candidates.map((_, i) => i).sort((a, b) => sims[b] - sims[a])
    const r = rankingScores(order.map((i) => relevant(q, candidates[i])), 20)
    p20 += r.precisionAtK
    map += r.averagePrecision
  }
  return { p20: round(p20 / queries.length), map: round(map / queries.length) }
}
/** Precision of the first k and average precision of a ranking given as relevant/not per rank. */
function rankingScores(relevant: boolean[], k: number): { precisionAtK: number; averagePrecision: number } {
  let hits = 0
  let sum = 0
  let atK = 0
  relevant.forEach((r, rank) => {
    if (r) {
      hits++
      sum += hits / (rank + 1)
    }
    if (rank === k - 1) atK = hits / k
  })
  return { precisionAtK: atK, averagePrecision: hits ? sum / hits : 0 }
}
const round = (x: number) => Math.round(x * 1000) / 1000

const sets = values.sets!.split(',')
const all = Object.keys(meta(sets[0]).variants)
const variants = values.variants ? values.variants.split(',') : all
for (const variant of variants) {
  const data = Object.fromEntries(sets.map((s) => [s, load(s, variant)]))
  const emit = (transform: string, f: (s: string) => Float32Array[]) => {
    const row: Record<string, unknown> = { variant, transform }
    for (const s of sets) Object.assign(row, Object.fromEntries(Object.entries(score(s, f(s))).map(([k, v]) => [`${s}_${k}`, v])))
    console.log(JSON.stringify(row))
  }
  if (!values.quiet) {
    emit('l2', (s) => data[s].map(unit))
    emit('ssqrt', (s) => data[s].map(ssqrt))
  }
  const dims = values.dims!.split(',').map(Number).filter((d) => d > 0)
  if (variant === 'legacy' || dims.length === 0) continue
  const fitRows = load(values.fit!, variant)
  for (const root of values.roots!.split(',').map((r) => r === 'ssqrt')) {
    const pre = (x: Float32Array) => (root ? ssqrt(x) : unit(x))
    const fitted = fitRows.map(pre)
    for (const out of dims) {
      if (out > fitted[0].length) continue
      for (const shrinkage of values.shrinkage!.split(',').map(Number)) {
        const w = fitWhitening(fitted, { out, shrinkage })
        emit(`${root ? 'ssqrt+' : ''}pcaw${out}@${shrinkage}(${values.fit})`, (s) => data[s].map((x) => applyWhitening(w, pre(x))))
      }
    }
  }
}
