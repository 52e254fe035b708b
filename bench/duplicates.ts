// Duplicate detection, measured. Prints JSON.
//
//   npx tsx bench/duplicates.ts [--originals 250] [--distractors 1000] [--skip-quality] [--skip-timing] [--n 10000,100000]
//                               [--k 10] [--blocks 2]   (candidate settings other than the shipped CANDIDATES)
//                               [--hash-distance 4] [--hash-shrink 0.4]   (a hash rule other than the shipped HASH_RULE)
//
// Quality: originals drawn from ../shared/datasets/clothing-small and coco256, each re-saved twelve
// ways (bench/duplicate-variants.ts), among distinct photos as distractors, indexed into a real
// library (.tmp/duplicates/, reused by reruns; a new stored feature is re-embedded there, missing
// perceptual hashes are computed from the stored thumbnails). Pairs are found exactly as the app
// finds them (code-scan and hash candidates, feature cosine lifted by close hashes, connected
// groups) and scored against the truth at every threshold: pair precision and, per variant kind,
// recall (the variant grouped with its original) and precision. The thresholds the app ships come
// from here, and the hash rule from the grid of rules it also measures.
//
// Timing: the whole-library pass on synthetic libraries of 10k and 100k photos (codes of a model
// with the real shapes, features of the stored feature's dimension, one photo in five with
// near-copies, their perceptual hashes a few bits from the original's), one thread.
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { candidatePairs, codewordDistances, mergePairs } from '../src/core/duplicates/candidates.ts'
import { hashLiftedScores, pairCosines, type HashRule } from '../src/core/duplicates/confirm.ts'
import { CANDIDATES, DEFAULT_THRESHOLDS, HASH_RULE, THRESHOLD_FLOOR } from '../src/core/duplicates/defaults.ts'
import { hashCandidatePairs } from '../src/core/duplicates/hash-candidates.ts'
import { hammingDistance } from '../src/core/duplicates/perceptual-hash.ts'
import { hashStoredThumbnails } from '../src/core/library/hash-thumbnails.ts'
import { packedPerceptualHashes } from '../src/core/store/perceptual-hashes.ts'
import { groupPairs, type ScoredPairs } from '../src/core/duplicates/groups.ts'
import { ensureCodes } from '../src/core/modeling/codes.ts'
import { loadActiveModel } from '../src/core/modeling/models.ts'
import { codesByHash } from '../src/core/store/codes.ts'
import { CodeMatrix } from '../src/core/search/code-matrix.ts'
import { gaussian, randomCodes, seededRandom, syntheticModel } from '../src/bench/synthetic.ts'
import { createEmbedder } from '../src/core/embed/embedder.ts'
import { indexRoot } from '../src/core/library/indexer.ts'
import { recomputeFeatures } from '../src/core/library/refeature.ts'
import { activeReadsOther } from '../src/core/store/models.ts'
import { thumbnailDirFor } from '../src/core/paths.ts'
import { openDb } from '../src/core/store/db.ts'
import { packedFeatures } from '../src/core/store/duplicates.ts'
import { makeBenchPhotos, VARIANT_KINDS, type BenchPhoto } from './duplicate-variants.ts'

const { values } = parseArgs({
  options: {
    originals: { type: 'string', default: '250' },
    distractors: { type: 'string', default: '1000' },
    dir: { type: 'string', default: '.tmp/duplicates' },
    'skip-quality': { type: 'boolean', default: false },
    'skip-timing': { type: 'boolean', default: false },
    n: { type: 'string', default: '10000,100000' },
    k: { type: 'string' },
    blocks: { type: 'string' },
    'hash-distance': { type: 'string' },
    'hash-shrink': { type: 'string' },
  },
})

/** The candidate settings measured: the shipped ones unless --k or --blocks say otherwise. */
const candidates = { k: Number(values.k ?? CANDIDATES.k), blocks: Number(values.blocks ?? CANDIDATES.blocks) }
const hashRule: HashRule = { maxDistance: Number(values['hash-distance'] ?? HASH_RULE.maxDistance), shrink: Number(values['hash-shrink'] ?? HASH_RULE.shrink) }

const SOURCES = ['../shared/datasets/clothing-small', '../shared/datasets/coco256'].map((p) => resolve(p))
const log = (...args: unknown[]) => console.error('[duplicates]', ...args)
const out: Record<string, unknown> = { bench: 'duplicates', candidates, hashRule, shipped: DEFAULT_THRESHOLDS }

if (!values['skip-quality']) {
  if (SOURCES.every((s) => !existsSync(s))) out.quality = { skipped: `no photos: ${SOURCES.join(' and ')} are missing` }
  else out.quality = await quality()
}
if (!values['skip-timing']) {
  const dim = await featureDim()
  out.timing = String(values.n).split(',').map((n) => timing(Number(n), dim))
}
console.log(JSON.stringify(out, null, 1))

// ---- quality ---------------------------------------------------------------------------------

async function quality() {
  const dir = resolve(String(values.dir))
  const photosDir = join(dir, 'photos')
  const photos = await makeBenchPhotos(SOURCES, photosDir, Number(values.originals), Number(values.distractors))
  log(`${photos.length} photos in ${photosDir}; indexing…`)
  const dbFile = join(dir, 'library.sqlite')
  const indexStarted = performance.now()
  await indexLibrary(dbFile, photosDir)
  const indexSeconds = (performance.now() - indexStarted) / 1000

  const db = openDb(dbFile)
  // a library indexed before hashes were kept gets them from its thumbnails, as the app's pass does
  const hashStarted = performance.now()
  const backfilled = await hashStoredThumbnails(db, thumbnailDirFor(dbFile))
  const backfillSeconds = (performance.now() - hashStarted) / 1000
  const stored = loadActiveModel(db)
  if (!stored) throw new Error('no model after indexing')
  const rows = db.prepare<[], { id: number; hash: string; relPath: string }>("SELECT id, hash, rel_path AS relPath FROM photos WHERE status = 'ok'").all()
  const byName = new Map(photos.map((p) => [p.file.slice(photosDir.length + 1), p]))
  const codes = codesByHash(db, stored.id)
  const matrix = CodeMatrix.from(rows.filter((r) => codes.has(r.hash)).map((r) => ({ photoId: r.id, code: codes.get(r.hash)!, rootId: 1, takenAt: 0 })), stored.model.M)
  const truth = new Map<number, { photo: BenchPhoto; hash: string }>()
  for (const r of rows) {
    const photo = byName.get(r.relPath)
    if (photo) truth.set(r.id, { photo, hash: r.hash })
  }

  // the app's pass, timed
  const t0 = performance.now()
  const { M, K, D, codebooks } = stored.model
  const dist = codewordDistances(codebooks, M, K, D, Math.min(candidates.blocks, M))
  const codePairs = candidatePairs(matrix, dist, K, { ...candidates, blocks: Math.min(candidates.blocks, M) })
  const t1 = performance.now()
  const ids = Array.from(matrix.ids.subarray(0, matrix.size))
  const hashOf = new Map(rows.map((r) => [r.id, r.hash]))
  const perceptual = packedPerceptualHashes(db, ids.map((id) => hashOf.get(id)!))
  const hashPairsOf = (maxDistance: number) => hashCandidatePairs(perceptual.values, Int32Array.from(ids), maxDistance, { known: perceptual.known })
  const found = mergePairs([codePairs, hashPairsOf(hashRule.maxDistance)])
  const t2 = performance.now()
  const { dim, vectors } = packedFeatures(db, stored.backbone, ids.map((id) => hashOf.get(id)!))
  const rowOf = new Map(ids.map((id, i) => [id, i]))
  const rowsOf = (p: { a: Int32Array; b: Int32Array }) => ({ rowA: Int32Array.from(p.a, (id) => rowOf.get(id)!), rowB: Int32Array.from(p.b, (id) => rowOf.get(id)!) })
  const { rowA, rowB } = rowsOf(found)
  const cosines = pairCosines(vectors, dim, rowA, rowB)
  const scores = hashLiftedScores(cosines, perceptual.values, perceptual.known, rowA, rowB, hashRule)
  const t3 = performance.now()
  const pairs: ScoredPairs = { a: found.a, b: found.b, score: scores }

  // What the candidates lose: truth pairs (variant, original) that are not candidates, per variant
  // kind, from the code scan alone and with the hash candidates.
  const codeKeys = new Set(Array.from(codePairs.a, (a, i) => `${a}-${codePairs.b[i]}`))
  const candidateKeys = new Set(Array.from(found.a, (a, i) => `${a}-${found.b[i]}`))
  const idOf = new Map([...truth].map(([id, t]) => [t.photo.file, id]))
  const truthA: number[] = []
  const truthB: number[] = []
  const missedPerKind: Record<string, number> = {}
  const missedByCodesPerKind: Record<string, number> = {}
  // every variant's cosine and hash distance to its own original (whether or not a candidate)
  const variantCosines: Record<string, number[]> = {}
  const variantDistances: Record<string, number[]> = {}
  for (const [id, t] of truth) {
    if (t.photo.kind === 'original' || t.photo.kind === 'distractor') continue
    const original = idOf.get(t.photo.original!)
    if (original === undefined) continue
    const [a, b] = id < original ? [id, original] : [original, id]
    truthA.push(a)
    truthB.push(b)
    if (!candidateKeys.has(`${a}-${b}`)) missedPerKind[t.photo.kind] = (missedPerKind[t.photo.kind] ?? 0) + 1
    if (!codeKeys.has(`${a}-${b}`)) missedByCodesPerKind[t.photo.kind] = (missedByCodesPerKind[t.photo.kind] ?? 0) + 1
    const [c] = pairCosines(vectors, dim, Int32Array.of(rowOf.get(id)!), Int32Array.of(rowOf.get(original)!))
    ;(variantCosines[t.photo.kind] ??= []).push(c)
    if (perceptual.known[rowOf.get(id)!] && perceptual.known[rowOf.get(original)!]) {
      ;(variantDistances[t.photo.kind] ??= []).push(hammingDistance(perceptual.values, rowOf.get(id)!, rowOf.get(original)!))
    }
  }
  const missed = Object.values(missedPerKind).reduce((n, m) => n + m, 0)
  const missedByCodes = Object.values(missedByCodesPerKind).reduce((n, m) => n + m, 0)

  // Thresholds swept coarsely, then each pick refined to 0.001 between the step below it and it.
  const steps = [...Array.from({ length: 35 }, (_, i) => THRESHOLD_FLOOR + i * 0.01), ...Array.from({ length: 10 }, (_, i) => 0.95 + i * 0.005), ...Array.from({ length: 10 }, (_, i) => 0.99 + i * 0.001)]
  const sweepOf = (scored: ScoredPairs) => [...new Set(steps.map((x) => round(x, 3)))].sort((a, b) => a - b).map((t) => score(groupPairs(scored, t), truth, t))
  const pickIn = (scored: ScoredPairs, swept: ReturnType<typeof score>[], precision: number) => {
    const i = swept.findIndex((s) => s.precision >= precision)
    if (i <= 0) return swept[i] ?? null
    for (let t = round(swept[i - 1].threshold + 0.001, 3); t < swept[i].threshold; t = round(t + 0.001, 3)) {
      const s = score(groupPairs(scored, t), truth, t)
      if (s.precision >= precision) return s
    }
    return swept[i]
  }
  const sweep = sweepOf(pairs)
  const pick = (precision: number) => pickIn(pairs, sweep, precision)
  const dupPick = pick(0.99)
  const simPick = pick(0.5)
  // Other hash rules: each one's duplicate pick (precision ≥ 0.99) and its recall.
  const hashRules = []
  for (const maxDistance of [0, 2, 4, 6]) {
    const ruleFound = mergePairs([codePairs, hashPairsOf(maxDistance)])
    const r = rowsOf(ruleFound)
    const ruleCosines = pairCosines(vectors, dim, r.rowA, r.rowB)
    for (const shrink of maxDistance === 0 ? [1] : [0.7, 0.5, 0.4, 0.35, 0.3]) {
      const scored: ScoredPairs = { ...ruleFound, score: hashLiftedScores(ruleCosines, perceptual.values, perceptual.known, r.rowA, r.rowB, { maxDistance, shrink }) }
      const p = pickIn(scored, sweepOf(scored), 0.99)
      hashRules.push({ maxDistance, shrink, threshold: p?.threshold ?? null, precision: p?.precision ?? null, recall: p?.recall ?? null, resize25: p?.perKind.resize25?.recall ?? null })
    }
  }
  // The same pick had every (variant, original) pair been a candidate: what the code scan costs.
  const withTruth = mergePairs([found, { a: Int32Array.from(truthA), b: Int32Array.from(truthB) }])
  const truthRows = rowsOf(withTruth)
  const allTruth: ScoredPairs = { ...withTruth, score: hashLiftedScores(pairCosines(vectors, dim, truthRows.rowA, truthRows.rowB), perceptual.values, perceptual.known, truthRows.rowA, truthRows.rowB, hashRule) }
  const everyTruthPair = dupPick ? score(groupPairs(allTruth, dupPick.threshold), truth, dupPick.threshold) : null
  const atShipped = score(groupPairs(pairs, DEFAULT_THRESHOLDS.duplicates), truth, DEFAULT_THRESHOLDS.duplicates)
  db.close()
  return {
    photos: matrix.size,
    originals: photos.filter((p) => p.kind === 'original').length,
    variantsPerOriginal: VARIANT_KINDS.length,
    distractors: photos.filter((p) => p.kind === 'distractor').length,
    backbone: stored.backbone,
    featureDim: dim,
    indexSeconds: round(indexSeconds),
    hashBackfill: { hashed: backfilled, seconds: round(backfillSeconds, 2), photosWithHash: perceptual.known.reduce((n, k) => n + k, 0) },
    pass: { candidatesMs: round(t1 - t0), hashCandidatesMs: round(t2 - t1), confirmMs: round(t3 - t2), candidatePairs: found.a.length, codePairs: codePairs.a.length },
    codeScan: { truthPairs: truthA.length, missedByCodes, candidateRecall: round(1 - missedByCodes / truthA.length, 4), missedPerKind: missedByCodesPerKind },
    withHashCandidates: { missed, candidateRecall: round(1 - missed / truthA.length, 4), missedPerKind },
    variantCosine: Object.fromEntries(Object.entries(variantCosines).map(([k, v]) => [k, quantiles(v)])),
    variantHashDistance: Object.fromEntries(Object.entries(variantDistances).map(([k, v]) => [k, { ...quantiles(v), p95: round([...v].sort((x, y) => x - y)[Math.floor(0.95 * v.length)] ?? NaN, 1), max: Math.max(...v) }])),
    distinctHashDistance: distinctDistances(perceptual.values, perceptual.known, ids.map((id) => truth.get(id))),
    hashRules,
    pickedDuplicates: dupPick ? { threshold: dupPick.threshold, precision: dupPick.precision, recall: dupPick.recall } : null,
    pickedSimilar: simPick ? { threshold: simPick.threshold, precision: simPick.precision } : null,
    atShipped,
    sweep: sweep.map(({ perKind: _, ...s }) => s),
    perKindAtPicked: dupPick?.perKind ?? null,
    atPickedWithEveryTruthPair: everyTruthPair && { precision: everyTruthPair.precision, recall: everyTruthPair.recall, recallPerKind: Object.fromEntries(Object.entries(everyTruthPair.perKind).map(([k, v]) => [k, v.recall])) },
  }
}

/**
 * Indexes the bench folder into its library with the app's indexer (a rerun skips unchanged files),
 * upgrades a library made with an older feature as the app does (every photo re-embedded, then the
 * switch to a model on the new feature), then codes it as the app does.
 */
async function indexLibrary(dbFile: string, folder: string): Promise<void> {
  const embedder = await createEmbedder()
  const db = openDb(dbFile)
  try {
    const summary = await indexRoot(db, folder, { thumbnailDir: thumbnailDirFor(dbFile), embedder, onProgress: (p) => p.done % 500 === 0 && log(`indexed ${p.done}/${p.total}`) })
    log(`index: ${summary.indexed} indexed, ${summary.skipped} unchanged, ${summary.failed} failed`)
    const upgrade = activeReadsOther(db, embedder.backboneId)
    if (upgrade) {
      const { embedded } = await recomputeFeatures(db, { embedder })
      log(`feature upgrade: ${embedded} photos re-embedded`)
    }
    await ensureCodes(db, embedder.backboneId, { switchFeature: upgrade })
  } finally {
    db.close()
    await embedder.close()
  }
}

/** Pair precision, and per variant kind recall and precision, of groups at a threshold. */
function score(groups: Int32Array[], truth: Map<number, { photo: BenchPhoto; hash: string }>, threshold: number) {
  const origin = (id: number) => {
    const t = truth.get(id)
    return t ? (t.photo.original ?? `hash:${t.hash}`) : `?${id}`
  }
  const groupOf = new Map<number, number>()
  groups.forEach((g, i) => g.forEach((id) => groupOf.set(id, i)))
  let pairsTotal = 0
  let pairsRight = 0
  const perKind: Record<string, { pairs: number; right: number; variants: number; found: number }> = {}
  const kindOf = (id: number) => truth.get(id)?.photo.kind ?? '?'
  for (const g of groups) {
    for (let i = 0; i < g.length; i++) {
      for (let j = i + 1; j < g.length; j++) {
        // identical bytes in the source folders are duplicates too
        const right = origin(g[i]) === origin(g[j]) || truth.get(g[i])?.hash === truth.get(g[j])?.hash
        pairsTotal++
        if (right) pairsRight++
        for (const k of new Set([kindOf(g[i]), kindOf(g[j])])) {
          const s = (perKind[k] ??= { pairs: 0, right: 0, variants: 0, found: 0 })
          s.pairs++
          if (right) s.right++
        }
      }
    }
  }
  const originalId = new Map<string, number>()
  for (const [id, t] of truth) if (t.photo.kind === 'original') originalId.set(t.photo.file, id)
  let variants = 0
  let found = 0
  for (const [id, t] of truth) {
    if (t.photo.kind === 'original' || t.photo.kind === 'distractor') continue
    const s = (perKind[t.photo.kind] ??= { pairs: 0, right: 0, variants: 0, found: 0 })
    s.variants++
    variants++
    const o = originalId.get(t.photo.original!)
    if (o !== undefined && groupOf.has(id) && groupOf.get(id) === groupOf.get(o)) {
      s.found++
      found++
    }
  }
  return {
    threshold,
    groups: groups.length,
    precision: round(pairsTotal ? pairsRight / pairsTotal : 1, 4),
    recall: round(found / variants, 4),
    perKind: Object.fromEntries(
      Object.entries(perKind).map(([k, s]) => [k, { precision: round(s.pairs ? s.right / s.pairs : 1, 4), recall: s.variants ? round(s.found / s.variants, 4) : null, pairs: s.pairs }]),
    ),
  }
}

/**
 * How close distinct photos' hashes come: among originals and distractors (never copies of one
 * another), how many pairs are at most d bits apart, for d = 0 … 16.
 */
function distinctDistances(values: Uint32Array, known: Uint8Array, photos: ({ photo: BenchPhoto; hash: string } | undefined)[]) {
  const rows = photos.flatMap((t, r) => (t && known[r] && (t.photo.kind === 'original' || t.photo.kind === 'distractor') ? [r] : []))
  const atMost = new Array<number>(17).fill(0)
  for (let i = 0; i < rows.length; i++) {
    for (let j = i + 1; j < rows.length; j++) {
      if (photos[rows[i]]!.hash === photos[rows[j]]!.hash) continue
      const d = hammingDistance(values, rows[i], rows[j])
      for (let k = d; k <= 16; k++) atMost[k]++
    }
  }
  return { photos: rows.length, pairs: (rows.length * (rows.length - 1)) / 2, pairsAtMost: Object.fromEntries(atMost.map((n, d) => [d, n]).filter(([d]) => d % 2 === 0)) }
}

// ---- timing ------------------------------------------------------------------------------------

/** The stored feature's dimension, as the app's embedder reports it. */
async function featureDim(): Promise<number> {
  const embedder = await createEmbedder()
  try {
    return embedder.dim
  } finally {
    await embedder.close()
  }
}

/**
 * The pass on a synthetic library of n photos: residual-style codebooks (M = 8, K = 256, D = 256),
 * random codes, one photo in five with 1–3 near-copies (same code but the last blocks, features a
 * little noisy, perceptual hashes 0–4 bits off), features of `dim` dimensions, random hashes.
 */
function timing(n: number, dim: number) {
  const M = 8
  const K = 256
  const D = 256
  const model = syntheticModel(M, K, D, 7)
  const codes = randomCodes(new Uint8Array(n * M), K, 11)
  const random = seededRandom(13)
  const normal = gaussian(random)
  const features = new Float32Array(n * dim)
  const hashes = new Uint32Array(n * 2)
  let planted = 0
  for (let i = 0; i < n; ) {
    for (let d = 0; d < dim; d++) features[i * dim + d] = normal()
    hashes[2 * i] = Math.floor(random() * 2 ** 32)
    hashes[2 * i + 1] = Math.floor(random() * 2 ** 32)
    const copies = random() < 0.2 ? 1 + Math.floor(random() * 3) : 0
    for (let c = 1; c <= copies && i + c < n; c++) {
      codes.copyWithin((i + c) * M, i * M, i * M + M - 2)
      hashes.copyWithin(2 * (i + c), 2 * i, 2 * i + 2)
      for (let flip = Math.floor(random() * 5); flip > 0; flip--) {
        const bit = Math.floor(random() * 64)
        hashes[2 * (i + c) + (bit >> 5)] ^= 1 << (bit & 31)
      }
      for (let d = 0; d < dim; d++) features[(i + c) * dim + d] = features[i * dim + d] + normal() * 0.15
      planted++
    }
    i += 1 + copies
  }
  const matrix = new CodeMatrix(M, n)
  for (let i = 0; i < n; i++) matrix.set(i + 1, codes.subarray(i * M, i * M + M), { rootId: 1, takenAt: 0 })
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  const dist = codewordDistances(model.codebooks, M, K, D, candidates.blocks)
  const t1 = performance.now()
  const lists = []
  for (let start = 0; start < n; start += 256) {
    lists.push(candidatePairs(matrix, dist, K, { ...candidates, rows: Int32Array.from({ length: Math.min(256, n - start) }, (_, i) => start + i) }))
  }
  const t2a = performance.now()
  lists.push(hashCandidatePairs(hashes, Int32Array.from({ length: n }, (_, i) => i + 1), hashRule.maxDistance))
  const t2b = performance.now()
  const pairs = mergePairs(lists)
  const t2 = performance.now()
  const rowA = Int32Array.from(pairs.a, (id) => id - 1)
  const rowB = Int32Array.from(pairs.b, (id) => id - 1)
  const scores = hashLiftedScores(pairCosines(features, dim, rowA, rowB), hashes, new Uint8Array(n).fill(1), rowA, rowB, hashRule)
  const t3 = performance.now()
  const groups = groupPairs({ ...pairs, score: scores }, DEFAULT_THRESHOLDS.duplicates)
  const t4 = performance.now()
  const cpu = process.cpuUsage(cpu0)
  const grouped = groups.reduce((s, g) => s + g.length - 1, 0)
  log(`timing n=${n}: ${((t4 - t0) / 1000).toFixed(1)} s`)
  return {
    photos: n,
    featureDim: dim,
    wallSeconds: round((t4 - t0) / 1000, 2),
    cpuSeconds: round((cpu.user + cpu.system) / 1e6, 2),
    stepsMs: { codewordDistances: round(t1 - t0), candidateScan: round(t2a - t1), hashCandidates: round(t2b - t2a), mergePairs: round(t2 - t2b), featureCosines: round(t3 - t2), grouping: round(t4 - t3) },
    candidatePairs: pairs.a.length,
    plantedCopies: planted,
    copiesGrouped: grouped,
    featuresMB: round(features.byteLength / 2 ** 20),
  }
}

function round(x: number, digits = 1): number {
  const f = 10 ** digits
  return Math.round(x * f) / f
}

function quantiles(values: number[]) {
  const s = [...values].sort((a, b) => a - b)
  const q = (p: number) => round(s[Math.min(s.length - 1, Math.floor(p * s.length))], 4)
  return { min: q(0), p05: q(0.05), median: q(0.5), n: s.length }
}

