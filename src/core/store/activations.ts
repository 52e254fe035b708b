// Late CNN activations (e.g. MobileNetV2's block_15_add, 7×7×160) per file content, for
// fine-tuned models. One byte per value with a per-photo range: 7.7 KB instead of 31 KB, and the
// rounding (≤ range/510) is far below what moves a fine-tuned embedding (test/activations.spec.ts).
import type { Db } from './db.ts'

/** One photo's activation as stored: value = lo + step · byte. */
export function quantizeActivation(values: Float32Array): { lo: number; step: number; data: Uint8Array } {
  let lo = Infinity
  let hi = -Infinity
  for (const v of values) {
    if (v < lo) lo = v
    if (v > hi) hi = v
  }
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) throw new Error('activation has no finite values')
  const step = hi > lo ? (hi - lo) / 255 : 1
  const data = new Uint8Array(values.length)
  for (let i = 0; i < values.length; i++) data[i] = Math.round((values[i] - lo) / step)
  return { lo, step, data }
}

export function dequantizeActivation(lo: number, step: number, data: Uint8Array): Float32Array {
  const out = new Float32Array(data.length)
  for (let i = 0; i < data.length; i++) out[i] = lo + step * data[i]
  return out
}

/** Stores activations in one transaction. */
export function putActivations(db: Db, layer: string, rows: readonly { hash: string; values: Float32Array }[]): void {
  const insert = db.prepare('INSERT OR REPLACE INTO activations (hash, layer, lo, step, data) VALUES (?, ?, ?, ?, ?)')
  db.transaction(() => {
    for (const { hash, values } of rows) {
      const q = quantizeActivation(values)
      insert.run(hash, layer, q.lo, q.step, Buffer.from(q.data.buffer, q.data.byteOffset, q.data.byteLength))
    }
  }).immediate()
}

/** Activations by content hash (missing ones left out). */
export function activationsFor(db: Db, layer: string, hashes: Iterable<string>): Map<string, Float32Array> {
  const get = db.prepare<[string, string], { lo: number; step: number; data: Buffer }>('SELECT lo, step, data FROM activations WHERE hash = ? AND layer = ?')
  const out = new Map<string, Float32Array>()
  for (const hash of hashes) {
    const row = get.get(hash, layer)
    if (row) out.set(hash, dequantizeActivation(row.lo, row.step, row.data))
  }
  return out
}

/** Which of these hashes have no stored activation for the layer. */
export function withoutActivation(db: Db, layer: string, hashes: Iterable<string>): string[] {
  const has = db.prepare<[string, string], { one: number }>('SELECT 1 AS one FROM activations WHERE hash = ? AND layer = ?')
  return [...hashes].filter((h) => has.get(h, layer) === undefined)
}

/** Drops every stored activation (models that read none are active); returns how many went. */
export function dropActivations(db: Db): number {
  return db.prepare('DELETE FROM activations').run().changes
}

/** Drops the stored activations of every other layer key (another tail's maps); returns how many went. */
export function dropOtherActivations(db: Db, layer: string): number {
  return db.prepare('DELETE FROM activations WHERE layer <> ?').run(layer).changes
}

export function activationCount(db: Db, layer: string): number {
  return db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM activations WHERE layer = ?').get(layer)!.n
}

/** Photos with a feature for this backbone whose activation map at `layer` is stored. */
export function mappedFeatureCount(db: Db, backboneId: string, layer: string): number {
  return db
    .prepare<[string, string], { n: number }>('SELECT COUNT(*) AS n FROM activations a JOIN features f ON f.hash = a.hash AND f.backbone = ? WHERE a.layer = ?')
    .get(backboneId, layer)!.n
}
