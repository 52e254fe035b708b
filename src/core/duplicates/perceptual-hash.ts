// A perceptual hash per photo: 64 bits that survive what re-saving does to a picture (resizing,
// re-compression, a new format) because they describe only its coarsest shape. The photo is
// shrunk to 32 × 32 grey levels, the 8 × 8 lowest frequencies of its DCT are kept, and each bit
// says whether one frequency is above their median (pHash). Copies differ in a few bits; distinct
// photos in about half. It backs up the feature cosine where a copy is so small that the network
// sees little of it (a 100 px resize), and it finds such copies when the code scan does not.

/** Side of the grey image the hash is computed from. */
export const HASH_INPUT_SIZE = 32
const LOW = 8

/** cos((2x + 1) u π / 64) for u < 8, x < 32: the DCT-II basis the hash keeps. */
const basis = (() => {
  const out = new Float64Array(LOW * HASH_INPUT_SIZE)
  for (let u = 0; u < LOW; u++) {
    for (let x = 0; x < HASH_INPUT_SIZE; x++) out[u * HASH_INPUT_SIZE + x] = Math.cos(((2 * x + 1) * u * Math.PI) / (2 * HASH_INPUT_SIZE))
  }
  return out
})()

/** The 8 × 8 lowest DCT frequencies of a 32 × 32 grey image (row-major), row u, column v. */
export function lowFrequencies(grey: ArrayLike<number>): Float64Array {
  const N = HASH_INPUT_SIZE
  if (grey.length !== N * N) throw new Error(`A perceptual hash needs ${N} × ${N} grey levels, got ${grey.length}`)
  // rows first (each image row → 8 coefficients), then columns
  const rows = new Float64Array(N * LOW)
  for (let y = 0; y < N; y++) {
    for (let v = 0; v < LOW; v++) {
      let s = 0
      for (let x = 0; x < N; x++) s += grey[y * N + x] * basis[v * N + x]
      rows[y * LOW + v] = s
    }
  }
  const out = new Float64Array(LOW * LOW)
  for (let u = 0; u < LOW; u++) {
    for (let v = 0; v < LOW; v++) {
      let s = 0
      for (let y = 0; y < N; y++) s += rows[y * LOW + v] * basis[u * N + y]
      out[u * LOW + v] = s
    }
  }
  return out
}

/**
 * The 64-bit hash of a 32 × 32 grey image, as two 32-bit halves [high, low]: bit i (row-major over
 * the 8 × 8 frequencies) is set when that frequency is above the median of the 63 that are not
 * the mean (the mean's own bit is then always set).
 */
export function perceptualHash(grey: ArrayLike<number>): Uint32Array {
  const f = lowFrequencies(grey)
  const ac = Array.from(f.subarray(1)).sort((a, b) => a - b)
  const median = ac[(ac.length - 1) / 2]
  const out = new Uint32Array(2)
  for (let i = 0; i < 64; i++) if (i === 0 || f[i] > median) out[i >> 5] |= 1 << (31 - (i & 31))
  return out
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333)
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24
}

/** Bits that differ between hashes i and j of a packed list (two 32-bit words per hash). */
export function hammingDistance(hashes: Uint32Array, i: number, j: number): number {
  return popcount(hashes[2 * i] ^ hashes[2 * j]) + popcount(hashes[2 * i + 1] ^ hashes[2 * j + 1])
}

/** A hash as the 8 bytes stored in the library (high word first, big-endian). */
export function hashToBytes(hash: Uint32Array): Buffer {
  const out = Buffer.alloc(8)
  out.writeUInt32BE(hash[0], 0)
  out.writeUInt32BE(hash[1], 4)
  return out
}

export function hashFromBytes(bytes: Uint8Array): Uint32Array {
  if (bytes.length !== 8) throw new Error(`A perceptual hash is 8 bytes, got ${bytes.length}`)
  const view = new DataView(bytes.buffer, bytes.byteOffset, 8)
  return Uint32Array.of(view.getUint32(0), view.getUint32(4))
}
