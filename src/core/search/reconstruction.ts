// ‖x̂‖ for codes: the norm of a code's reconstruction x̂ = Σ_m c_{m,code[m]}, which exact search
// divides code scores by to estimate cosines. A few codes are summed directly (M·D adds each); a whole
// library goes through the codewords' inner products instead, ‖x̂‖² = Σ_m ‖c_m‖² + 2·Σ_{m<m'} ⟨c_m, c_m'⟩,
// M(M+1)/2 lookups a photo once the K × K tables exist (1M photos, D = 256: about 5 s → under 1 s).

/** Writes ‖x̂‖ of each listed row of `codes` (row-major, M bytes a row) to out[row]. */
export function reconstructionNorms(codes: Uint8Array, M: number, rows: Int32Array, codebooks: Float32Array, K: number, D: number, out: Float32Array): void {
  const directCost = rows.length * M * D
  const gramCost = ((M * (M - 1)) / 2) * K * K * D
  if (directCost <= gramCost) direct(codes, M, rows, codebooks, K, D, out)
  else viaGram(codes, M, rows, codebooks, K, D, out)
}

function direct(codes: Uint8Array, M: number, rows: Int32Array, codebooks: Float32Array, K: number, D: number, out: Float32Array): void {
  const x = new Float64Array(D)
  for (const row of rows) {
    x.fill(0)
    for (let m = 0; m < M; m++) {
      const base = (m * K + codes[row * M + m]) * D
      for (let d = 0; d < D; d++) x[d] += codebooks[base + d]
    }
    let ss = 0
    for (let d = 0; d < D; d++) ss += x[d] * x[d]
    out[row] = Math.sqrt(ss)
  }
}

function viaGram(codes: Uint8Array, M: number, rows: Int32Array, codebooks: Float32Array, K: number, D: number, out: Float32Array): void {
  const self = new Float64Array(M * K)
  for (let i = 0; i < M * K; i++) self[i] = dot(codebooks, i * D, codebooks, i * D, D)
  // cross[pair][a·K + b] = ⟨c_{m,a}, c_{m',b}⟩ for each pair m < m'
  const pairs: { m: number; n: number; table: Float32Array }[] = []
  for (let m = 0; m < M; m++) {
    for (let n = m + 1; n < M; n++) {
      const table = new Float32Array(K * K)
      for (let a = 0; a < K; a++) for (let b = 0; b < K; b++) table[a * K + b] = dot(codebooks, (m * K + a) * D, codebooks, (n * K + b) * D, D)
      pairs.push({ m, n, table })
    }
  }
  for (const row of rows) {
    const o = row * M
    let ss = 0
    for (let m = 0; m < M; m++) ss += self[m * K + codes[o + m]]
    for (const { m, n, table } of pairs) ss += 2 * table[codes[o + m] * K + codes[o + n]]
    out[row] = Math.sqrt(Math.max(0, ss))
  }
}

function dot(a: Float32Array, i: number, b: Float32Array, j: number, D: number): number {
  let s0 = 0
  let s1 = 0
  let d = 0
  for (; d + 1 < D; d += 2) {
    s0 += a[i + d] * b[j + d]
    s1 += a[i + d + 1] * b[j + d + 1]
  }
  if (d < D) s0 += a[i + d] * b[j + d]
  return s0 + s1
}
