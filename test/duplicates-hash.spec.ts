// The duplicate finder's perceptual hash: real images through sharp and the indexer's own decode
// (a small re-encoded copy lands a few bits from its original, another photo far), the hash
// candidates next to a full comparison of every pair, the lifted scores, and the library keeping
// hashes: written at indexing, computed from stored thumbnails for photos indexed without one.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp from 'sharp'
import { afterAll, describe, expect, it } from 'vitest'
import { hashLiftedScores } from '../src/core/duplicates/confirm.ts'
import { HASH_RULE } from '../src/core/duplicates/defaults.ts'
import { hashCandidatePairs } from '../src/core/duplicates/hash-candidates.ts'
import { hammingDistance, hashFromBytes, hashToBytes, perceptualHash } from '../src/core/duplicates/perceptual-hash.ts'
import { decodePhoto } from '../src/core/library/decode.ts'
import { hashStoredThumbnails } from '../src/core/library/hash-thumbnails.ts'
import { indexRoot } from '../src/core/library/indexer.ts'
import { thumbnailHash } from '../src/core/library/thumbnail-hash.ts'
import { openDb } from '../src/core/store/db.ts'
import { hashesWithoutPerceptualHash, packedPerceptualHashes } from '../src/core/store/perceptual-hashes.ts'
import { seededRandom } from '../src/bench/synthetic.ts'
import { photoBytes } from './fixtures/photos.ts'

const dirs: string[] = []
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })))

/** The hash the app keeps for an image file's bytes: that of the thumbnail the indexer makes. */
const appHash = async (bytes: Buffer) => thumbnailHash((await decodePhoto(bytes)).thumbnail)
const distance = (x: Uint32Array, y: Uint32Array) => hammingDistance(Uint32Array.of(x[0], x[1], y[0], y[1]), 0, 1)

describe('the perceptual hash', () => {
  it('puts re-saved copies of a photo a few bits from it, and other photos far', async () => {
    const original = await photoBytes(1, { width: 400, seed: 11 })
    const image = () => sharp(original)
    const copies = {
      resize25: await image().resize(100).jpeg({ quality: 85 }).toBuffer(),
      jpeg30: await image().jpeg({ quality: 30 }).toBuffer(),
      png: await image().png().toBuffer(),
      webp: await image().webp({ quality: 80 }).toBuffer(),
      brighter: await image().modulate({ brightness: 1.08 }).linear(1.1, -12.8).jpeg({ quality: 90 }).toBuffer(),
    }
    const others = [await photoBytes(1, { width: 400, seed: 12 }), await photoBytes(2, { width: 400, seed: 11 }), await photoBytes(5, { width: 400, seed: 3 })]
    const own = await appHash(original)
    for (const [kind, bytes] of Object.entries(copies)) expect(distance(own, await appHash(bytes)), kind).toBeLessThanOrEqual(HASH_RULE.maxDistance)
    for (const bytes of others) expect(distance(own, await appHash(bytes))).toBeGreaterThan(2 * HASH_RULE.maxDistance)
  })

  it('has 32 bits set (the mean and the frequencies above the median), and keeps its bits through storage', () => {
    const random = seededRandom(3)
    const grey = Float64Array.from({ length: 1024 }, () => random() * 255)
    const hash = perceptualHash(grey)
    const ones = [...hash].reduce((n, w) => n + w.toString(2).split('1').length - 1, 0)
    expect(ones).toBe(32)
    expect(hashFromBytes(hashToBytes(hash))).toEqual(hash)
    expect(() => perceptualHash(new Uint8Array(100))).toThrow(/32 × 32/)
  })
})

describe('hash candidates', () => {
  const n = 400
  const random = seededRandom(9)
  const hashes = new Uint32Array(2 * n)
  for (let i = 0; i < n; i++) {
    // every fourth photo is a copy of the one before, 0–9 bits off
    if (i % 4 === 1) {
      hashes.copyWithin(2 * i, 2 * (i - 1), 2 * i)
      for (let flips = Math.floor(random() * 10); flips > 0; flips--) {
        const bit = Math.floor(random() * 64)
        hashes[2 * i + (bit >> 5)] ^= 1 << (bit & 31)
      }
    } else {
      hashes[2 * i] = Math.floor(random() * 2 ** 32)
      hashes[2 * i + 1] = Math.floor(random() * 2 ** 32)
    }
  }
  const ids = Int32Array.from({ length: n }, (_, i) => 1000 - 2 * i)
  const naive = (maxDistance: number, ok: (i: number, j: number) => boolean = () => true) => {
    const out: string[] = []
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) if (ok(i, j) && hammingDistance(hashes, i, j) <= maxDistance) out.push(`${Math.min(ids[i], ids[j])}-${Math.max(ids[i], ids[j])}`)
    return out.sort()
  }
  const keys = (p: { a: Int32Array; b: Int32Array }) => Array.from(p.a, (a, i) => `${a}-${p.b[i]}`).sort()

  it('finds exactly the pairs within the distance that a comparison of every pair finds, each once', () => {
    for (const maxDistance of [0, 3, 6, 8]) {
      const found = hashCandidatePairs(hashes, ids, maxDistance)
      expect(keys(found), `distance ${maxDistance}`).toEqual(naive(maxDistance))
      for (let i = 0; i < found.a.length; i++) expect(found.a[i]).toBeLessThan(found.b[i])
    }
    expect(naive(6).length).toBeGreaterThan(40)
  })

  it('pairs only the queried rows, and leaves photos without a hash out', () => {
    const rows = Int32Array.of(1, 5, 9, 200, 201)
    const queried = new Set(rows)
    expect(keys(hashCandidatePairs(hashes, ids, 6, { rows }))).toEqual(naive(6, (i, j) => queried.has(i) || queried.has(j)))
    const known = Uint8Array.from({ length: n }, (_, i) => (i % 8 === 1 ? 0 : 1))
    expect(keys(hashCandidatePairs(hashes, ids, 6, { known }))).toEqual(naive(6, (i, j) => known[i] === 1 && known[j] === 1))
  })

  it('lifts the cosine of pairs with close hashes only, towards 1 and never past it', () => {
    const cosines = Float32Array.of(0.8, 0.8, 0.8, 1)
    const rowA = Int32Array.of(0, 0, 2, 0)
    const rowB = Int32Array.of(1, 2, 3, 1)
    const known = Uint8Array.of(1, 1, 1, 0)
    const lifted = hashLiftedScores(cosines, hashes, known, rowA, rowB, { maxDistance: 64, shrink: 0.5 })
    expect(Array.from(lifted, (x) => Math.round(x * 100) / 100)).toEqual([0.9, 0.9, 0.8, 1]) // row 3 has no hash
    const tight = hashLiftedScores(cosines, hashes, known, rowA, rowB, { maxDistance: hammingDistance(hashes, 0, 1), shrink: 0.5 })
    expect(tight[0]).toBeCloseTo(0.9)
    expect(tight[1]).toBeCloseTo(0.8) // 0 and 2 are unrelated: about 32 bits apart
  })
})

describe('the library keeps hashes', () => {
  it('writes them at indexing, and computes missing ones from the stored thumbnails', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lookalike-hash-'))
    dirs.push(dir)
    const photos = join(dir, 'photos')
    mkdirSync(photos)
    for (let i = 0; i < 3; i++) writeFileSync(join(photos, `p${i}.jpg`), await photoBytes(i, { width: 200, seed: i + 1 }))
    writeFileSync(join(photos, 'p0-copy.jpg'), await photoBytes(0, { width: 200, seed: 1 }))
    const thumbnailDir = join(dir, 'thumbnails')
    const db = openDb(join(dir, 'library.sqlite'))
    try {
      await indexRoot(db, photos, { thumbnailDir })
      const contents = db.prepare<[], { hash: string }>("SELECT DISTINCT hash FROM photos WHERE status = 'ok' ORDER BY hash").all().map((r) => r.hash)
      expect(contents).toHaveLength(3)
      expect(hashesWithoutPerceptualHash(db)).toEqual([])
      const indexed = packedPerceptualHashes(db, contents)
      expect([...indexed.known]).toEqual([1, 1, 1])

      // a library from before hashes: the pass hashes its thumbnails, to the same bits
      db.prepare('DELETE FROM perceptual_hashes').run()
      expect(hashesWithoutPerceptualHash(db)).toEqual(contents)
      const progress: number[] = []
      expect(await hashStoredThumbnails(db, thumbnailDir, ({ done }) => void progress.push(done))).toBe(3)
      expect(progress.at(-1)).toBe(3)
      expect(packedPerceptualHashes(db, contents)).toEqual(indexed)
      expect(await hashStoredThumbnails(db, thumbnailDir)).toBe(0)

      // content no photo has any more takes its hash with it
      rmSync(join(photos, 'p2.jpg'))
      await indexRoot(db, photos, { thumbnailDir })
      expect(db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM perceptual_hashes').get()!.n).toBe(2)
    } finally {
      db.close()
    }
  })
})
