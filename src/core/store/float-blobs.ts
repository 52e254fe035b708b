// Float vectors (features, embeddings) as SQLite blobs: their bytes as they are, read back as a copy.

export function toBlob(vector: Float32Array): Buffer {
  return Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength)
}

export function fromBlob(blob: Buffer): Float32Array {
  // Copy: the blob's offset inside its ArrayBuffer need not be 4-byte aligned.
  const copy = new Uint8Array(blob.byteLength)
  copy.set(blob)
  return new Float32Array(copy.buffer)
}
