// Fitting PCA-whitening on a set of features: the mean, and the projection onto the top
// principal directions scaled by 1/√(eigenvalue + shrinkage). Used offline by the script that
// regenerates the shipped whitening asset; pure (typed arrays in, typed arrays out).

export interface Whitening {
  /** Input dimension. */
  dim: number
  /** Output dimension (principal directions kept). */
  out: number
  /** Mean subtracted before projecting, length dim. */
  mean: Float32Array
  /** Row-major [dim, out]: y = (x − mean) · projection. */
  projection: Float32Array
}

export interface WhiteningFitOptions {
  /** Principal directions kept. */
  out: number
  /** Added to every eigenvalue before the inverse square root, as a multiple of the mean eigenvalue. */
  shrinkage: number
}

/** Fits whitening on `rows` (each of length dim). */
export function fitWhitening(rows: readonly Float32Array[], options: WhiteningFitOptions): Whitening {
  const n = rows.length
  const dim = rows[0]?.length ?? 0
  if (n < 2) throw new Error('whitening needs at least two features')
  if (options.out > dim) throw new Error(`cannot keep ${options.out} directions of a ${dim}-d feature`)
  const mean = new Float64Array(dim)
  for (const r of rows) for (let j = 0; j < dim; j++) mean[j] += r[j] / n
  const cov = new Float64Array(dim * dim)
  const centred = new Float64Array(dim)
  for (const r of rows) {
    for (let j = 0; j < dim; j++) centred[j] = r[j] - mean[j]
    for (let a = 0; a < dim; a++) {
      const ca = centred[a] / (n - 1)
      if (ca === 0) continue
      const row = a * dim
      for (let b = a; b < dim; b++) cov[row + b] += ca * centred[b]
    }
  }
  for (let a = 0; a < dim; a++) for (let b = 0; b < a; b++) cov[a * dim + b] = cov[b * dim + a]
  const { values, vectors } = symmetricEigen(cov, dim)
  const order = [...values.keys()].sort((a, b) => values[b] - values[a])
  const meanEigen = values.reduce((s, v) => s + Math.max(v, 0), 0) / dim
  const eps = options.shrinkage * meanEigen
  const projection = new Float32Array(dim * options.out)
  for (let k = 0; k < options.out; k++) {
    const col = order[k]
    const scale = 1 / Math.sqrt(Math.max(values[col], 0) + eps)
    for (let j = 0; j < dim; j++) projection[j * options.out + k] = vectors[j * dim + col] * scale
  }
  return { dim, out: options.out, mean: Float32Array.from(mean), projection }
}

/** Whitened, unit-length copy of one feature. */
export function applyWhitening(w: Whitening, x: Float32Array): Float32Array {
  const y = new Float32Array(w.out)
  for (let j = 0; j < w.dim; j++) {
    const c = x[j] - w.mean[j]
    if (c === 0) continue
    const row = j * w.out
    for (let k = 0; k < w.out; k++) y[k] += c * w.projection[row + k]
  }
  let norm = 0
  for (const v of y) norm += v * v
  norm = Math.sqrt(norm) || 1
  for (let k = 0; k < w.out; k++) y[k] /= norm
  return y
}

/**
 * Eigenvalues and eigenvectors (columns of `vectors`, row-major n×n) of a symmetric matrix:
 * Householder reduction to tridiagonal form, then the implicit QL algorithm (the JAMA / EISPACK
 * tred2 + tql2 pair). O(n³), about a second for n = 1,000.
 */
export function symmetricEigen(matrix: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const V = Float64Array.from(matrix)
  const d = new Float64Array(n)
  const e = new Float64Array(n)
  const at = (i: number, j: number) => V[i * n + j]
  const set = (i: number, j: number, v: number) => {
    V[i * n + j] = v
  }

  // tred2: Householder tridiagonalisation.
  for (let j = 0; j < n; j++) d[j] = at(n - 1, j)
  for (let i = n - 1; i > 0; i--) {
    let scale = 0
    let h = 0
    for (let k = 0; k < i; k++) scale += Math.abs(d[k])
    if (scale === 0) {
      e[i] = d[i - 1]
      for (let j = 0; j < i; j++) {
        d[j] = at(i - 1, j)
        set(i, j, 0)
        set(j, i, 0)
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k] /= scale
        h += d[k] * d[k]
      }
      let f = d[i - 1]
      let g = Math.sqrt(h)
      if (f > 0) g = -g
      e[i] = scale * g
      h -= f * g
      d[i - 1] = f - g
      for (let j = 0; j < i; j++) e[j] = 0
      for (let j = 0; j < i; j++) {
        f = d[j]
        set(j, i, f)
        g = e[j] + at(j, j) * f
        for (let k = j + 1; k <= i - 1; k++) {
          g += at(k, j) * d[k]
          e[k] += at(k, j) * f
        }
        e[j] = g
      }
      f = 0
      for (let j = 0; j < i; j++) {
        e[j] /= h
        f += e[j] * d[j]
      }
      const hh = f / (h + h)
      for (let j = 0; j < i; j++) e[j] -= hh * d[j]
      for (let j = 0; j < i; j++) {
        f = d[j]
        g = e[j]
        for (let k = j; k <= i - 1; k++) V[k * n + j] -= f * e[k] + g * d[k]
        d[j] = at(i - 1, j)
        set(i, j, 0)
      }
    }
    d[i] = h
  }
  for (let i = 0; i < n - 1; i++) {
    set(n - 1, i, at(i, i))
    set(i, i, 1)
    const h = d[i + 1]
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = at(k, i + 1) / h
      for (let j = 0; j <= i; j++) {
        let g = 0
        for (let k = 0; k <= i; k++) g += at(k, i + 1) * at(k, j)
        for (let k = 0; k <= i; k++) V[k * n + j] -= g * d[k]
      }
    }
    for (let k = 0; k <= i; k++) set(k, i + 1, 0)
  }
  for (let j = 0; j < n; j++) {
    d[j] = at(n - 1, j)
    set(n - 1, j, 0)
  }
  set(n - 1, n - 1, 1)
  e[0] = 0

  // tql2: implicit QL iterations on the tridiagonal matrix.
  for (let i = 1; i < n; i++) e[i - 1] = e[i]
  e[n - 1] = 0
  let f = 0
  let tst1 = 0
  const eps = 2 ** -52
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]) + Math.abs(e[l]))
    let m = l
    while (m < n && Math.abs(e[m]) > eps * tst1) m++
    if (m > l) {
      do {
        let g = d[l]
        let p = (d[l + 1] - g) / (2 * e[l])
        let r = Math.hypot(p, 1)
        if (p < 0) r = -r
        d[l] = e[l] / (p + r)
        d[l + 1] = e[l] * (p + r)
        const dl1 = d[l + 1]
        let h = g - d[l]
        for (let i = l + 2; i < n; i++) d[i] -= h
        f += h
        p = d[m]
        let c = 1
        let c2 = c
        let c3 = c
        const el1 = e[l + 1]
        let s = 0
        let s2 = 0
        for (let i = m - 1; i >= l; i--) {
          c3 = c2
          c2 = c
          s2 = s
          g = c * e[i]
          h = c * p
          r = Math.hypot(p, e[i])
          e[i + 1] = s * r
          s = e[i] / r
          c = p / r
          p = c * d[i] - s * g
          d[i + 1] = h + s * (c * g + s * d[i])
          for (let k = 0; k < n; k++) {
            h = V[k * n + i + 1]
            V[k * n + i + 1] = s * V[k * n + i] + c * h
            V[k * n + i] = c * V[k * n + i] - s * h
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]) / dl1
        e[l] = s * p
        d[l] = c * p
      } while (Math.abs(e[l]) > eps * tst1)
    }
    d[l] += f
    e[l] = 0
  }
  return { values: d, vectors: V }
}
