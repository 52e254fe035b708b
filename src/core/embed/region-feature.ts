// The region feature: one layer of the width-1.4 MobileNetV2, R-MAC, signed square root, the
// shipped PCA-whitening, unit length. A handful of ops after the network: three max-pools, a
// sqrt, one matMul.
import type * as tfType from '@tensorflow/tfjs'
import { unit, type BackboneArtifacts, type RegionSpec, type Tf } from './backbone.ts'
import { graphNetwork, type GraphNetwork } from './graph-network.ts'
import { rmac } from './rmac.ts'
import { decodeWhitening, whiten, whiteningTensors, type WhiteningAsset } from './whitening.ts'
import { WHITENING_ASSET } from './whitening-asset.ts'

export interface RegionFeatureModel {
  dim: number
  /** [0,1] pixels [batch, 224, 224, 3] → unit-length features [batch, dim]. */
  features(x: tfType.Tensor4D): tfType.Tensor2D
  /** The features and the activation maps of `alsoLayers`, from one pass through the network. */
  featuresWithMaps(x: tfType.Tensor4D): { features: tfType.Tensor2D; maps: tfType.Tensor4D[] }
  /** The network's weights (graph-network.ts). */
  network: Pick<GraphNetwork, 'weight'>
  dispose(): void
}

/** The shipped whitening assets by id (one today; a new fit gets a new id, hence a new backbone id). */
const ASSETS: Record<string, WhiteningAsset> = { [WHITENING_ASSET.id]: WHITENING_ASSET }

/** `alsoLayers`: further activations featuresWithMaps returns (fine-tuning's maps); leave empty to embed only. */
export async function regionFeatureModel(tf: Tf, artifacts: BackboneArtifacts, spec: RegionSpec, alsoLayers: readonly string[] = []): Promise<RegionFeatureModel> {
  const asset = spec.whitening === null ? null : ASSETS[spec.whitening]
  if (asset === undefined) throw new Error(`no whitening asset ${spec.whitening}`)
  const network = await graphNetwork(tf, artifacts, [spec.layer, ...alsoLayers])
  const whitening = asset ? whiteningTensors(tf, decodeWhitening(asset)) : null
  const feature = (map: tfType.Tensor4D) =>
    tf.tidy(() => {
      let v: tfType.Tensor2D = rmac(tf, map)
      // R-MAC of Relu6 activations is non-negative: the signed square root is a square root.
      if (spec.signedSqrt) v = unit(tf, tf.sqrt(v))
      return whitening ? unit(tf, whiten(tf, v, whitening)) : v
    })
  return {
    dim: asset ? asset.out : await probeChannels(tf, network),
    features: (x) => tf.tidy(() => feature(network.maps(x)[0])),
    featuresWithMaps: (x) => {
      const [map, ...maps] = network.maps(x)
      const features = feature(map)
      map.dispose()
      return { features, maps }
    },
    network,
    dispose() {
      network.dispose()
      if (whitening) tf.dispose([whitening.mean, whitening.projection])
    },
  }
}

/** Channels of the layer, by running one blank photo (only without whitening, i.e. in studies). */
async function probeChannels(tf: Tf, network: { maps(x: tfType.Tensor4D): tfType.Tensor4D[] }): Promise<number> {
  const shape = tf.tidy(() => network.maps(tf.zeros([1, 224, 224, 3]))[0].shape)
  return shape[3]
}
