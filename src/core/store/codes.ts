// DPQ codes: M bytes per model and file content. Written in batches while a model is encoded;
// read whole into the search matrix.
import type { Db } from './db.ts'
import { fromBlob, toBlob } from './float-blobs.ts'

/**
 * Stores codes (n × M bytes, row-major, in `hashes` order), one transaction per batch, with the
 * embeddings they were made from (n × D floats) when given.
 */
export function writeCodes(db: Db, modelId: number, hashes: readonly string[], codes: Uint8Array, embeddings?: Float32Array, batch = 2000): void {
  const m = hashes.length ? codes.length / hashes.length : 0
  const d = embeddings && hashes.length ? embeddings.length / hashes.length : 0
  const insert = db.prepare('INSERT OR REPLACE INTO codes (model_id, hash, code, embedding) VALUES (?, ?, ?, ?)')
  const write = db.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const embedding = embeddings ? toBlob(embeddings.subarray(i * d, (i + 1) * d)) : null
      insert.run(modelId, hashes[i], Buffer.from(codes.subarray(i * m, (i + 1) * m)), embedding)
    }
  })
  for (let from = 0; from < hashes.length; from += batch) write.immediate(from, Math.min(hashes.length, from + batch))
}

/** Every code of a model: hashes in order and their codes as one n × M matrix. */
export function codesFor(db: Db, modelId: number): { hashes: string[]; codes: Uint8Array } {
  const rows = db.prepare<[number], { hash: string; code: Buffer }>('SELECT hash, code FROM codes WHERE model_id = ? ORDER BY hash').all(modelId)
  const m = rows.length ? rows[0].code.length : 0
  const codes = new Uint8Array(rows.length * m)
  rows.forEach((r, i) => codes.set(r.code, i * m))
  return { hashes: rows.map((r) => r.hash), codes }
}

/** Codes by content hash (only the given hashes when passed). */
export function codesByHash(db: Db, modelId: number, hashes?: readonly string[]): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>()
  if (hashes) {
    const get = db.prepare<[number, string], { code: Buffer }>('SELECT code FROM codes WHERE model_id = ? AND hash = ?')
    for (const h of hashes) {
      const row = get.get(modelId, h)
      if (row) out.set(h, new Uint8Array(row.code))
    }
    return out
  }
  for (const row of db.prepare<[number], { hash: string; code: Buffer }>('SELECT hash, code FROM codes WHERE model_id = ?').iterate(modelId)) {
    out.set(row.hash, new Uint8Array(row.code))
  }
  return out
}

/** The stored embeddings of these content hashes under a model (those stored without one are left out). */
export function embeddingsByHash(db: Db, modelId: number, hashes: Iterable<string>): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>()
  const get = db.prepare<[number, string], { embedding: Buffer | null }>('SELECT embedding FROM codes WHERE model_id = ? AND hash = ?')
  for (const h of hashes) {
    const blob = get.get(modelId, h)?.embedding
    if (blob) out.set(h, fromBlob(blob))
  }
  return out
}

/** Content hashes with a feature for this backbone but no code under the model, in hash order. */
export function hashesWithoutCode(db: Db, backboneId: string, modelId: number): string[] {
  return db
    .prepare<[string, number], { hash: string }>(
      `SELECT f.hash FROM features f WHERE f.backbone = ?
       AND NOT EXISTS (SELECT 1 FROM codes c WHERE c.model_id = ? AND c.hash = f.hash) ORDER BY f.hash`,
    )
    .all(backboneId, modelId)
    .map((r) => r.hash)
}
