// `lookalike eval <folder> --unsupervised`: precision@k and average precision on hand-made rankings,
// the search kernels' rankings on a hand-made model, and the command end to end on real JPEGs
// (sharp), with its one-line errors for bad input.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { averagePrecision, labelSets, precisionAt } from '../src/core/dpq/metrics.ts'
import { cosineQuality, rankingQuality, searchQuality } from '../src/core/search/retrieval-quality.ts'
import { runCli } from './fixtures/cli.ts'
import { makePhotos } from './fixtures/photos.ts'

const dirs: string[] = []
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })))
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'lookalike-unsup-eval-'))
  dirs.push(d)
  return d
}

const R = true
const _ = false

describe('precision@k and average precision', () => {
  it('score a hand-made ranking', () => {
    // Relevant at ranks 1, 3 and 6 of 6.
    const ranking = [R, _, R, _, _, R]
    expect(precisionAt(ranking, 1)).toBe(1)
    expect(precisionAt(ranking, 2)).toBe(0.5)
    expect(precisionAt(ranking, 3)).toBeCloseTo(2 / 3, 12)
    expect(precisionAt(ranking, 5)).toBeCloseTo(2 / 5, 12)
    // Shorter than k: scored on its length.
    expect(precisionAt(ranking, 20)).toBe(0.5)
    // Mean of the precision at each relevant rank: (1/1 + 2/3 + 3/6) / 3.
    expect(averagePrecision(ranking)).toBeCloseTo((1 + 2 / 3 + 3 / 6) / 3, 12)
    expect(averagePrecision([R, R, _, _])).toBe(1)
    expect(averagePrecision([_, _, R, R])).toBeCloseTo((1 / 3 + 2 / 4) / 2, 12)
    expect(averagePrecision([_, _, _])).toBe(0)
    expect(precisionAt([], 20)).toBe(0)
    expect(() => precisionAt(ranking, 0)).toThrow(/k ≥ 1/)
  })

  it('P@20 over a database of 25, averaged over queries; relevant means sharing any label', () => {
    // Query 0 is class 0; query 1 is classes 1 and 2 (multi-label). Database: 25 photos, class of
    // photo j is j % 3, and photo 24 is in classes 0 and 2.
    const databaseLabels = Array.from({ length: 25 }, (_, j) => (j === 24 ? [0, 2] : [j % 3]))
    const sets = labelSets([[0], [1, 2], ...databaseLabels])
    const relevance = { queryLabels: sets.slice(0, 2), databaseLabels: sets.slice(2) }
    const byClass = (classes: number[]) => Array.from({ length: 25 }, (_, j) => j).sort((a, b) => Number(classes.some((c) => databaseLabels[b].includes(c))) - Number(classes.some((c) => databaseLabels[a].includes(c))) || a - b)
    // Both queries get the same ranking: class-0 photos first (0, 3, …, 21, then 24), then the rest.
    // Query 0: its 9 relevant photos are ranks 1–9 → P@20 = 9/20, AP 1.
    // Query 1: photo 24 (classes 0 and 2) at rank 9 is its first relevant one, then the 16 of classes
    // 1 and 2 at ranks 10–25 → P@20 = 12/20, AP = mean over i = 1…17 of i / (8 + i).
    const ranking = Int32Array.from(byClass([0]))
    const q = rankingQuality(() => ranking, relevance, 20)
    const ap1 = Array.from({ length: 17 }, (_, i) => (i + 1) / (8 + i + 1)).reduce((a, b) => a + b, 0) / 17
    expect(q.precisionAtK).toBeCloseTo((9 / 20 + 12 / 20) / 2, 12)
    expect(q.map).toBeCloseTo((1 + ap1) / 2, 12)
  })

  it('search at a code length and exact mode rank a hand-made model; cosine ranks plain vectors', () => {
    // One block of four codewords, each database photo coded exactly by its own.
    const database = [new Float32Array([1, 0.1]), new Float32Array([0, 1]), new Float32Array([0.9, 0.2]), new Float32Array([-1, 0])]
    const codebooks = new Float32Array(database.flatMap((v) => [...v]))
    const sets = labelSets([[0], [0], [1], [0], [1]])
    const relevance = { queryLabels: sets.slice(0, 1), databaseLabels: sets.slice(1) }
    const query = new Float32Array([1, 0])
    const set = { quantizer: { M: 1, K: 4, D: 2, codebooks }, queries: [query], codes: Uint8Array.from([0, 1, 2, 3]), embeddings: database }
    // Scores 1, 0, 0.9, −1: photos 0, 2 (both relevant), then 1, 3.
    const quality = searchQuality(set, [8], relevance, 20)
    expect(Object.keys(quality)).toEqual(['8', 'exact'])
    expect(quality['8']).toEqual({ precisionAtK: 0.5, map: 1 })
    expect(quality.exact).toEqual({ precisionAtK: 0.5, map: 1 })
    expect(cosineQuality([query], database, relevance, 2)).toEqual({ precisionAtK: 1, map: 1 })
    // A query that looks the other way ranks its look-alikes last.
    expect(cosineQuality([new Float32Array([-1, 0])], database, relevance, 2).map).toBeCloseTo((1 / 3 + 2 / 4) / 2, 6)
    expect(() => searchQuality(set, [16], relevance, 20)).toThrow(/8 … 8 bits/)
  })
})

const lookalike = (...args: string[]) => runCli(args, 300_000)
// Child processes load the backbone and index on a shared 2-core machine: minutes, not seconds.
const CLI_TEST_MS = 900_000

describe('lookalike eval --unsupervised', () => {
  it('indexes a labelled folder, fits the unsupervised model without labels and scores its search; a rerun reuses the features', async () => {
    const dir = tmp()
    const photos = join(dir, 'photos')
    await makePhotos(photos, { groups: 3, perGroup: 8 })
    const db = join(dir, 'lib.sqlite')
    const args = ['eval', photos, '--unsupervised', '--db', db, '--queries-per-class', '2', '--json']
    const first = lookalike(...args)
    expect(first.code, first.stderr).toBe(0)
    const report = JSON.parse(first.stdout)
    const scores = { precision_at_20: expect.any(Number), map: expect.any(Number) }
    const lengths = ['8', '16', '24', '32', '40', '48', '56', '64']
    expect(report).toEqual({
      dataset: 'photos',
      mode: 'unsupervised',
      backbone: expect.any(String),
      photos: 24,
      classes: 3,
      queries: 6,
      database: 18,
      trained_on: 24,
      train_seconds: expect.any(Number),
      search: Object.fromEntries([...lengths, 'exact'].map((p) => [p, scores])),
      float: scores,
    })
    const all = [...Object.values(report.search), report.float] as { precision_at_20: number; map: number }[]
    for (const { precision_at_20, map } of all) {
      for (const v of [precision_at_20, map]) {
        expect(v).toBeGreaterThanOrEqual(0)
        expect(v).toBeLessThanOrEqual(1)
        expect(Math.round(v * 1000) / 1000).toBe(v)
      }
      // 6 look-alikes per query among 18 photos: P@20 is 6/18 at best.
      expect(precision_at_20).toBeLessThanOrEqual(0.334)
    }
    // Each group has its own palette and pattern: cosine of the backbone feature separates them
    // (mAP 1.0 measured with the region feature, 0.97 with the legacy one), and so does the model's
    // float embedding (PCA of it; 1.0 with either). A random ranking of 6 relevant among 18 scores about 0.38.
    expect(report.float.map).toBeGreaterThan(0.8)
    expect(report.search.exact.map).toBeGreaterThan(0.8)
    // The library is smaller than K = 256: every photo gets its own codeword, and 8 bits rank as exact does.
    expect(report.search['8'].map).toBeGreaterThan(0.8)
    expect(report.train_seconds).toBeGreaterThan(0)

    const rerun = lookalike(...args)
    expect(rerun.code, rerun.stderr).toBe(0)
    const again = JSON.parse(rerun.stdout)
    expect({ search: again.search, float: again.float }).toEqual({ search: report.search, float: report.float })

    // --feature picks the image feature: the legacy one has its own backbone id (and features).
    const human = lookalike(...args.filter((a) => a !== '--json'), '--feature', 'legacy')
    expect(human.code, human.stderr).toBe(0)
    expect(human.stdout).toMatch(/^photos: 24 photos in 3 classes, 6 queries against 18 photos/)
    expect(human.stdout).toMatch(/^backbone mobilenet_v2@nsfwjs4\.4:block_13_expand_relu:/m)
    expect(human.stdout).not.toContain(report.backbone)
    expect(human.stdout).toMatch(/^64 bits +0\.\d{3} +\d\.\d{3}$/m)
    expect(human.stdout).toMatch(/^float \(cosine of feature\) +0\.\d{3} +\d\.\d{3}$/m)
  }, CLI_TEST_MS)

  it('bad input is one line and exit code 2', async () => {
    const dir = tmp()
    const db = join(dir, 'lib.sqlite')
    const oneLine = (run: { code: number | null; stderr: string }, message: RegExp) => {
      expect(run.code, run.stderr).toBe(2)
      expect(run.stderr.trim().split('\n')).toHaveLength(1)
      expect(run.stderr).toMatch(message)
    }
    oneLine(lookalike('eval', join(dir, 'nowhere'), '--unsupervised', '--db', db), /^lookalike: no folder at .*nowhere$/m)
    const photos = join(dir, 'one-class')
    await makePhotos(photos, { groups: 1, perGroup: 3 })
    oneLine(lookalike('eval', photos, '--unsupervised', '--db', db, '--queries-per-class', '0'), /--queries-per-class must be at least 1, got "0"/)
    oneLine(lookalike('eval', photos, '--unsupervised', '--db', db, '--queries-per-class', '2.5'), /--queries-per-class must be a non-negative integer, got "2.5"/)
    oneLine(lookalike('eval', photos, '--unsupervised', '--db', db, '--queries-per-class', 'many'), /--queries-per-class must be a non-negative integer, got "many"/)
    oneLine(lookalike('eval', photos, '--unsupervised', '--db', db, '--epochs', '3'), /Unknown option '--epochs'/)
    oneLine(lookalike('eval', photos, '--unsupervised', '--db', db, '--feature', 'sift'), /--feature must be region, region-crop or legacy, got "sift"/)
    oneLine(lookalike('eval', photos, '--unsupervised', '--db', db, '--json'), /every labelled photo in .*one-class is in one class \(group-0\): scoring look-alikes needs at least two/)
  }, CLI_TEST_MS)
})
