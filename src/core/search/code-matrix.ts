// The codes of every photo under the active model, held in memory for search: N rows of M code bytes
// in one growable Uint8Array (row-major, so one photo's code is M adjacent bytes for the scan), with
// the photo id and the attributes filters need in parallel typed arrays. Rows are added, updated in
// place and swap-removed without reloading anything.

import { reconstructionNorms } from './reconstruction.ts'

/** What filters look at, per photo. */
export interface PhotoAttrs {
  rootId: number
  /** Capture time (EXIF, else file mtime), ms since epoch. */
  takenAt: number
}

export interface CodeRow extends PhotoAttrs {
  photoId: number
  /** M bytes, one codeword index per block. */
  code: Uint8Array
}

const MAX_PHOTO_ID = 0x7fffffff

export class CodeMatrix {
  /** M: code bytes per photo. */
  readonly blocks: number
  private codeBytes: Uint8Array
  private photoIds: Int32Array
  private rootIds: Int32Array
  private times: Float64Array
  private count = 0
  private readonly rows = new RowIndex()
  /** ‖x̂‖ per row under the codebooks `normsOf`; NaN where a code was set since they were computed. */
  private norms = new Float32Array(0)
  private normsOf: Float32Array | null = null
  private normsStale = false

  constructor(blocks: number, capacity = 0) {
    if (!Number.isInteger(blocks) || blocks < 1 || blocks > 256) throw new Error(`A code has 1…256 blocks, got ${blocks}`)
    this.blocks = blocks
    const cap = Math.max(0, Math.floor(capacity))
    this.codeBytes = new Uint8Array(cap * blocks)
    this.photoIds = new Int32Array(cap)
    this.rootIds = new Int32Array(cap)
    this.times = new Float64Array(cap)
  }

  /** Builds a matrix sized exactly for `rows` (later rows win when a photo id repeats). */
  static from(rows: Iterable<CodeRow>, blocks?: number): CodeMatrix {
    const list = Array.isArray(rows) ? (rows as CodeRow[]) : [...rows]
    const m = blocks ?? list[0]?.code.length
    if (m === undefined) throw new Error('CodeMatrix.from: no rows, so the number of blocks must be given')
    const matrix = new CodeMatrix(m, list.length)
    for (const row of list) matrix.set(row.photoId, row.code, row)
    return matrix
  }

  /** Number of photos. */
  get size(): number {
    return this.count
  }

  /** Memory held by the matrix (codes, ids, attributes, id → row index), in bytes. */
  get bytes(): number {
    return this.codeBytes.byteLength + this.photoIds.byteLength + this.rootIds.byteLength + this.times.byteLength + this.norms.byteLength + this.rows.bytes
  }

  /** Row-major codes; rows 0…size-1 are valid. A view: re-read after the matrix changes. */
  get codes(): Uint8Array {
    return this.codeBytes
  }

  /** Photo id of each row. A view: re-read after the matrix changes. */
  get ids(): Int32Array {
    return this.photoIds
  }

  get roots(): Int32Array {
    return this.rootIds
  }

  get takenAt(): Float64Array {
    return this.times
  }

  has(photoId: number): boolean {
    return this.rows.get(photoId) >= 0
  }

  /** Row of a photo, or -1. */
  rowOf(photoId: number): number {
    return this.rows.get(photoId)
  }

  /** A copy of a photo's code, or undefined. */
  codeOf(photoId: number): Uint8Array | undefined {
    const row = this.rows.get(photoId)
    if (row < 0) return undefined
    return this.codeBytes.slice(row * this.blocks, (row + 1) * this.blocks)
  }

  /** Inserts a photo's code, or overwrites it in place when the photo is already here. */
  set(photoId: number, code: ArrayLike<number>, attrs: PhotoAttrs): void {
    if (!Number.isInteger(photoId) || photoId < 1 || photoId > MAX_PHOTO_ID) throw new Error(`Photo id must be a positive 32-bit integer, got ${photoId}`)
    if (code.length !== this.blocks) throw new Error(`Photo ${photoId}: code has ${code.length} bytes, the model has ${this.blocks} blocks`)
    let row = this.rows.get(photoId)
    if (row < 0) {
      if (this.count === this.photoIds.length) this.grow()
      row = this.count++
      this.rows.set(photoId, row)
      this.photoIds[row] = photoId
    }
    this.codeBytes.set(code, row * this.blocks)
    this.rootIds[row] = attrs.rootId
    this.times[row] = attrs.takenAt
    if (this.normsOf) {
      this.norms[row] = Number.NaN
      this.normsStale = true
    }
  }

  /** Removes a photo in O(1): the last row moves into its place. False when it was not here. */
  remove(photoId: number): boolean {
    const row = this.rows.get(photoId)
    if (row < 0) return false
    const last = --this.count
    if (row !== last) {
      const m = this.blocks
      this.codeBytes.copyWithin(row * m, last * m, (last + 1) * m)
      this.photoIds[row] = this.photoIds[last]
      this.rootIds[row] = this.rootIds[last]
      this.times[row] = this.times[last]
      if (this.normsOf) this.norms[row] = this.norms[last]
      this.rows.set(this.photoIds[row], row)
    }
    this.rows.delete(photoId)
    return true
  }

  /**
   * ‖x̂‖ of each row's reconstruction x̂ = Σ_m c_{m,code[m]} under `codebooks` (M × K × D): exact search
   * divides code scores by it to estimate cosines. Computed for every row once per codebooks, then only
   * for rows set since. Rows 0…size-1 are valid; a view, like `codes`.
   */
  reconstructionNorms(codebooks: Float32Array, K: number, D: number): Float32Array {
    if (codebooks.length !== this.blocks * K * D) throw new Error(`Codebooks hold ${codebooks.length} values, expected M·K·D = ${this.blocks * K * D}`)
    if (this.normsOf !== codebooks) {
      this.norms = new Float32Array(this.photoIds.length).fill(Number.NaN)
      this.normsOf = codebooks
      this.normsStale = true
    }
    if (!this.normsStale) return this.norms
    const stale: number[] = []
    for (let row = 0; row < this.count; row++) if (Number.isNaN(this.norms[row])) stale.push(row)
    reconstructionNorms(this.codeBytes, this.blocks, Int32Array.from(stale), codebooks, K, D, this.norms)
    this.normsStale = false
    return this.norms
  }

  private grow(): void {
    const cap = Math.max(1024, this.photoIds.length * 2)
    const codes = new Uint8Array(cap * this.blocks)
    codes.set(this.codeBytes)
    this.codeBytes = codes
    this.photoIds = extend(this.photoIds, new Int32Array(cap))
    this.rootIds = extend(this.rootIds, new Int32Array(cap))
    this.times = extend(this.times, new Float64Array(cap))
    if (this.normsOf) this.norms = extend(this.norms, new Float32Array(cap).fill(Number.NaN))
  }
}

function extend<T extends Int32Array | Float32Array | Float64Array>(from: T, to: T): T {
  to.set(from as never)
  return to
}

/**
 * Photo id → row. SQLite hands out small increasing ids, so a typed array indexed by id costs 4 bytes a
 * photo where a Map would cost ~10× that; ids beyond DENSE_LIMIT (unusual) fall back to a Map.
 */
class RowIndex {
  private static readonly DENSE_LIMIT = 1 << 24
  /** row + 1; 0 = absent */
  private dense = new Int32Array(0)
  private sparse = new Map<number, number>()

  get bytes(): number {
    return this.dense.byteLength + this.sparse.size * 40
  }

  get(id: number): number {
    if (id >= 0 && id < this.dense.length) return this.dense[id] - 1
    return this.sparse.get(id) ?? -1
  }

  set(id: number, row: number): void {
    if (id < RowIndex.DENSE_LIMIT) {
      if (id >= this.dense.length) {
        const grown = new Int32Array(Math.min(RowIndex.DENSE_LIMIT, Math.max(1024, id + 1, Math.ceil(this.dense.length * 1.5))))
        grown.set(this.dense)
        this.dense = grown
      }
      this.dense[id] = row + 1
    } else this.sparse.set(id, row)
  }

  delete(id: number): void {
    if (id < this.dense.length) this.dense[id] = 0
    else this.sparse.delete(id)
  }
}
