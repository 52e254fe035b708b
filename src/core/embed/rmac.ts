// R-MAC (Tolias et al., "Particular object retrieval with integral max-pooling of CNN
// activations"): the maximum of each channel over square regions at three scales, each region's
// vector unit length, summed and made unit length. One max-pool per scale instead of a slice per
// region: every region of a scale has the same size and stride.
import type * as tfType from '@tensorflow/tfjs'
import type { Tf } from './backbone.ts'

export interface RegionScale {
  /** Square region side, in activation cells. */
  size: number
  /** Step between regions. */
  stride: number
}

/**
 * The scales for a side × side map: the whole map, then 2×2 and 3×3 overlapping regions that
 * cover it edge to edge (on 14×14: 1 + 4 + 9 = 14 regions of 14, 10 and 8 cells).
 */
export function regionScales(side: number): RegionScale[] {
  return [1, 2, 3].map((n) => {
    if (n === 1) return { size: side, stride: side }
    // Regions overlap by about 40%, as in the paper; the size is then set so that the last region
    // ends exactly on the map's edge.
    const target = Math.min(side, Math.ceil((2 * side) / (n + 1)) + (n === 3 ? 1 : 0))
    const stride = Math.max(1, Math.floor((side - target) / (n - 1)))
    return { size: side - (n - 1) * stride, stride }
  })
}

/** [batch, h, w, c] activations → [batch, c] R-MAC vectors, unit length. */
export function rmac(tf: Tf, maps: tfType.Tensor4D): tfType.Tensor2D {
  return tf.tidy(() => {
    const [batch, h, w, c] = maps.shape
    if (h !== w) throw new Error(`R-MAC expects square activation maps, got ${h}×${w}`)
    const regions = regionScales(h).map(({ size, stride }) => {
      const pooled = tf.maxPool(maps, size, stride, 'valid')
      return pooled.reshape([batch, -1, c])
    })
    const all = tf.concat(regions, 1) // [batch, regions, c]
    const unitRegions = tf.div(all, tf.maximum(tf.norm(all, 'euclidean', 2, true), 1e-12))
    const sum = tf.sum(unitRegions, 1) as tfType.Tensor2D
    return tf.div(sum, tf.maximum(tf.norm(sum, 'euclidean', 1, true), 1e-12))
  })
}
