// Embedding and encoding library photos under a model, chunk by chunk: inputs are read from the
// library file per chunk, so a fine-tuned model's 31 KB rows never all sit in memory.
import type { DpqModel } from '../dpq/model.ts'
import { quantize } from '../dpq/quantize.ts'
import { TrainingCancelled } from '../dpq/train.ts'
import { writeCodes } from '../store/codes.ts'
import type { Db } from '../store/db.ts'
import type { LockHolder } from '../store/locks.ts'
import type { ProgressEvent } from '../types.ts'
import { modelInputs, modelTail } from './inputs.ts'
import { embeddingMixer, storesEmbeddings, type EmbeddingMixer } from './neighbours.ts'

export interface ModelingHooks {
  onProgress?(event: ProgressEvent): void
  signal?: AbortSignal
  /** Another process holds the library's models lock: this one waits (told once, with who holds it). */
  onLockWait?(holder: LockHolder): void
}

/**
 * Embeddings (n × D) and codes (n × M) of the given photos, in order (empty when not kept); `present`
 * is false where a photo has no input.
 */
export interface LibraryEmbedding {
  x: Float32Array
  codes: Uint8Array
  present: boolean[]
}

export interface EncodeOptions extends ModelingHooks {
  /** Write the codes under this model id. */
  writeTo?: number
  /** Inputs of a chunk (default: modelInputs from the library file). */
  read?: (part: readonly string[]) => Map<string, Float32Array>
  /** Return every embedding and code (default true); false bounds memory on a large library. */
  keep?: boolean
  /** Applied to each chunk's inputs before they are embedded (a model's neighbour blending, modeling/neighbours.ts). */
  blend?: (inputs: Map<string, Float32Array>) => Map<string, Float32Array>
  /** Applied to each chunk's embeddings (default: the model's own blending of embeddings, if any, against the library file's pool). */
  mix?: EmbeddingMixer
}

export async function encodeLibrary(db: Db, model: DpqModel, backboneId: string, hashes: readonly string[], options: EncodeOptions = {}): Promise<LibraryEmbedding> {
  const { M, D } = model
  const kept = options.keep === false ? 0 : hashes.length
  const x = new Float32Array(kept * D)
  const codes = new Uint8Array(kept * M)
  const present = new Array<boolean>(hashes.length).fill(false)
  const chunk = model.finetuned ? 256 : 1000
  const stores = storesEmbeddings(model)
  const mix = options.mix ?? embeddingMixer(db, backboneId, model)
  for (let from = 0; from < hashes.length; from += chunk) {
    checkCancelled(options.signal)
    const part = hashes.slice(from, from + chunk)
    const read = options.read ? options.read(part) : modelInputs(db, modelTail(model), backboneId, part)
    const inputs = options.blend ? options.blend(read) : read
    const rows = part.map((h, i) => ({ h, i: from + i })).filter((r) => inputs.has(r.h))
    const own = model.embedFlat(rows.map((r) => inputs.get(r.h)!))
    const px = mix ? mix(rows.map((r) => r.h), own) : own
    const pc = quantize(model, px)
    rows.forEach((r, j) => {
      if (kept) {
        x.set(px.subarray(j * D, (j + 1) * D), r.i * D)
        codes.set(pc.subarray(j * M, (j + 1) * M), r.i * M)
      }
      present[r.i] = true
    })
    // Blended inputs or embeddings cannot be had again from a photo's feature alone: their embeddings are kept for exact mode.
    if (options.writeTo !== undefined) writeCodes(db, options.writeTo, rows.map((r) => r.h), pc, stores ? px : undefined)
    options.onProgress?.({ done: Math.min(hashes.length, from + chunk), total: hashes.length, stage: 'encoding' })
    await new Promise((r) => setImmediate(r))
  }
  return { x, codes, present }
}

export function checkCancelled(signal?: AbortSignal): void {
  if (signal?.aborted) throw new TrainingCancelled()
}
