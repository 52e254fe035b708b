// The perceptual hash of a photo, computed from its thumbnail: the indexer hashes the thumbnail it
// has just made, and a library indexed before hashes existed hashes the thumbnails it stored, so
// both give the same bits and no photo folder is read again.
import sharp from 'sharp'
import { HASH_INPUT_SIZE, perceptualHash } from '../duplicates/perceptual-hash.ts'

/** The hash of an image (a thumbnail's JPEG bytes, or a file). */
export async function thumbnailHash(image: Buffer | string): Promise<Uint32Array> {
  const grey = await sharp(image, { failOn: 'error' })
    .resize(HASH_INPUT_SIZE, HASH_INPUT_SIZE, { fit: 'fill' })
    .greyscale()
    .raw()
    .toBuffer()
  return perceptualHash(grey)
}
