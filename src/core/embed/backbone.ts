// The backbone as pure computation: which activations make the feature, how pixels are scaled,
// and the network built from its files' bytes. No file access here (backbone-files.ts reads them
// under Node), so the compute page runs this same code in a browser.
import { DECODE_VERSION } from '../library/decode-version.ts'
import type * as tfType from '@tensorflow/tfjs'
import type { Framing } from '../types.ts'
import type { FusedBackbone } from './fused-backbone.ts'
import { WHITENING_ID } from './whitening-asset.ts'

export type Tf = typeof tfType

/**
 * The network as bytes, as tf.io.fromMemory takes it: topology, weight specs and one weight
 * buffer. Serialisable, so it can be handed to a page that cannot read files.
 */
export interface BackboneArtifacts {
  modelTopology: object
  weightSpecs: tfType.io.WeightsManifestEntry[]
  weightData: ArrayBuffer
}

/** The full MobileNetV2 layers model from its artifacts. */
export function mobilenetFromArtifacts(tf: Tf, artifacts: BackboneArtifacts): Promise<tfType.LayersModel> {
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: artifacts.modelTopology, weightSpecs: artifacts.weightSpecs, weightData: artifacts.weightData }))
}

/**
 * A model whose outputs are the given layers, each global-average-pooled to a vector and
 * concatenated in order: one [batch, Σ channels] tensor per call.
 */
export function pooledFeatureModel(tf: Tf, mobilenet: tfType.LayersModel, layers: readonly string[]): tfType.LayersModel {
  const pooled = layers.map((name) => {
    const out = mobilenet.getLayer(name).output as tfType.SymbolicTensor
    return out.shape.length === 4 ? (tf.layers.globalAveragePooling2d({}).apply(out) as tfType.SymbolicTensor) : out
  })
  const output = pooled.length === 1 ? pooled[0] : (tf.layers.concatenate({}).apply(pooled) as tfType.SymbolicTensor)
  return tf.model({ inputs: mobilenet.inputs, outputs: output })
}

/** Global-average-pooled layers of nsfwjs' first MobileNetV2 (what libraries stored first). */
export interface BackboneSpec {
  network: 'mobilenet_v2'
  /** Layer names, pooled and concatenated in this order. */
  layers: readonly string[]
  /** Pixel range fed to the network. */
  range: '[0,1]' | '[-1,1]'
  /** L2-normalise each layer's pooled block before concatenating (keeps one layer from dominating). */
  blockL2: boolean
  framing: Framing
}

/**
 * R-MAC of one layer of nsfwjs' second MobileNetV2 (width 1.4), optionally a signed square root,
 * then the PCA-whitening shipped with the app (whitening.ts), unit length. Pixels go in as [0,1].
 */
export interface RegionSpec {
  network: 'mobilenet_v2_mid'
  /** e.g. `expanded_conv_12/expand`: a 14×14 activation map. */
  layer: string
  signedSqrt: boolean
  /** The shipped whitening's id, or null for the R-MAC vector itself. */
  whitening: string | null
  /** Measured: letterboxing raised clothing-small's P@20 by 0.03 over the centre crop. */
  framing: Framing
}

/** Which network, layers and pooling make the stored feature. */
export type FeatureSpec = BackboneSpec | RegionSpec

/** The nsfwjs package version pins the weights: a different version means different features. */
export const MODEL_ID = 'mobilenet_v2@nsfwjs4.4'
export const MID_MODEL_ID = 'mobilenet_v2_mid@nsfwjs4.4'

/** What libraries stored before the region feature: block 13's expansion, averaged (docs/backbone.md). */
export const LEGACY_FEATURE: BackboneSpec = {
  network: 'mobilenet_v2',
  layers: ['block_13_expand_relu'],
  // nsfwjs feeds this network pixels / 255; [-1,1] measured 0.01–0.05 mAP worse.
  range: '[0,1]',
  blockL2: false,
  framing: 'centre-crop',
}

/**
 * The feature Lookalike stores (chosen by measurement on real photos: docs/backbone.md).
 * Changing anything here changes backboneId, and a library's features of the old id are
 * recomputed by an upgrade job instead of mixed in.
 */
export const FEATURE: FeatureSpec = {
  network: 'mobilenet_v2_mid',
  layer: 'expanded_conv_12/expand',
  // Measured: the square root before whitening cost 0.005–0.01 P@20 on both real-photo sets.
  signedSqrt: false,
  whitening: WHITENING_ID,
  framing: 'letterbox',
}

/** The region feature as libraries stored it before letterboxing: the photo's centre only. */
export const CROPPED_REGION_FEATURE: FeatureSpec = { ...FEATURE, framing: 'centre-crop' }

/**
 * Features by the name the CLI's `--feature` takes; also every feature a library may still hold
 * while it upgrades, so an outside image can be searched by the feature its model reads.
 */
export const FEATURES: Readonly<Record<string, FeatureSpec>> = {
  region: FEATURE,
  'region-crop': CROPPED_REGION_FEATURE,
  legacy: LEGACY_FEATURE,
}

/**
 * e.g. `mobilenet_v2_mid@nsfwjs4.4:expanded_conv_12/expand:rmac:<whitening>:l2:[0,1]:decode2:letterbox`
 * (the stored vector is unit length); centre-cropped features keep the ids they always had.
 */
export function backboneId(spec: FeatureSpec = FEATURE): string {
  const framing = spec.framing === 'letterbox' ? ':letterbox' : ''
  if (spec.network === 'mobilenet_v2_mid') {
    const steps = ['rmac', ...(spec.signedSqrt ? ['ssqrt'] : []), ...(spec.whitening ? [spec.whitening] : [])]
    return `${MID_MODEL_ID}:${spec.layer}:${steps.join(':')}:l2:[0,1]:decode${DECODE_VERSION}${framing}`
  }
  const blocks = spec.blockL2 && spec.layers.length > 1 ? ':blockl2' : ''
  return `${MODEL_ID}:${spec.layers.join('+')}:gap${blocks}:l2:${spec.range}:decode${DECODE_VERSION}${framing}`
}

/** The feature with this backbone id among those this Lookalike computes (FEATURES); null when none is. */
export function featureById(id: string): FeatureSpec | null {
  return Object.values(FEATURES).find((f) => backboneId(f) === id) ?? null
}

/** How photos are framed for the feature with this backbone id (the current feature's when unknown). */
export function framingOf(id: string): Framing {
  return (featureById(id) ?? FEATURE).framing
}

/** Channels of each layer of the spec, in concatenation order. */
export function layerDims(mobilenet: tfType.LayersModel, spec: BackboneSpec): number[] {
  return spec.layers.map((l) => (mobilenet.getLayer(l).output as tfType.SymbolicTensor).shape.at(-1) as number)
}

/** Pixels (HWC uint8, 224²) → the network's float input, scaled as the spec says. */
export function scalePixels(inputs: readonly Uint8Array[], size: number, range: BackboneSpec['range']): Float32Array {
  const per = size * size * 3
  const out = new Float32Array(inputs.length * per)
  const [mul, add] = range === '[0,1]' ? [1 / 255, 0] : [2 / 255, -1]
  inputs.forEach((pixels, i) => {
    if (pixels.length !== per) throw new Error(`model input must be ${size}×${size} RGB (${per} bytes), got ${pixels.length} bytes`)
    const base = i * per
    for (let j = 0; j < per; j++) out[base + j] = pixels[j] * mul + add
  })
  return out
}

/**
 * Pooled features of a batch, unit length overall. Every intermediate tensor is released before
 * returning: on wasm one leaked tensor per batch exhausts the heap after ~1,000 photos.
 */
export async function extractFeatures(
  tf: Tf,
  backbone: FusedBackbone,
  spec: BackboneSpec,
  inputs: readonly Uint8Array[],
  size: number,
): Promise<Float32Array[]> {
  if (inputs.length === 0) return []
  const x = scalePixels(inputs, size, spec.range)
  const features = tf.tidy(() => {
    const blocks = backbone.pooled(tf.tensor4d(x, [inputs.length, size, size, 3]))
    const parts = spec.blockL2 && blocks.length > 1 ? blocks.map((b) => unit(tf, b)) : blocks
    return unit(tf, parts.length === 1 ? parts[0] : (tf.concat(parts, 1) as tfType.Tensor2D))
  })
  try {
    const flat = (await features.data()) as Float32Array
    const dim = features.shape[1]
    return inputs.map((_, i) => flat.slice(i * dim, (i + 1) * dim))
  } finally {
    features.dispose()
  }
}

/** Rows made unit length. */
export function unit(tf: Tf, t: tfType.Tensor2D): tfType.Tensor2D {
  return tf.div(t, tf.maximum(tf.norm(t, 'euclidean', 1, true), 1e-12))
}
