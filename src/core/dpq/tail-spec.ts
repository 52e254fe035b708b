// Which network's last blocks deeper fine-tuning trains, where they start and their sizes; no
// tensors here, so the service can key and pick tails without loading tfjs.
/** Which network's tail, where it starts, and its sizes. */
export interface TailSpec {
  /** Names the tail in a saved model and keys its cached maps (with the feature's backbone id). */
  id: string
  /** The network the maps come from and the tail's pretrained weights belong to. */
  network: 'mobilenet_v2' | 'mobilenet_v2_mid'
  /** The cached activation, the tail's input: `side`×`side`×`channels`. */
  layer: string
  side: number
  channels: number
  /** Channels after the block's expansion, after its projection, and of Conv_1 (the pooled output). */
  expanded: number
  projected: number
  out: number
}

/** nsfwjs' first MobileNetV2: block_16 + Conv_1 from `block_15_add` (the legacy feature's network). */
export const LEGACY_TAIL: TailSpec = { id: 'block_15_add', network: 'mobilenet_v2', layer: 'block_15_add', side: 7, channels: 160, expanded: 960, projected: 320, out: 1280 }

/** The width-1.4 MobileNetV2 (the region feature's network): expanded_conv_16 + Conv_1 from `expanded_conv_15/add`. */
export const REGION_TAIL: TailSpec = {
  id: 'mobilenet_v2_mid:expanded_conv_15/add',
  network: 'mobilenet_v2_mid',
  layer: 'expanded_conv_15/add',
  side: 7,
  channels: 224,
  expanded: 1344,
  projected: 448,
  out: 1792,
}

const TAILS: readonly TailSpec[] = [LEGACY_TAIL, REGION_TAIL]

/** The tail of the network a feature comes from: fine-tuning trains what made the stored feature. */
export function tailSpecFor(feature: { network: string }): TailSpec {
  return feature.network === 'mobilenet_v2_mid' ? REGION_TAIL : LEGACY_TAIL
}

/** A tail by its id; models saved before tails had ids name the legacy one 'block_16+Conv_1'. */
export function tailSpecById(id: string): TailSpec {
  if (id === 'block_16+Conv_1') return LEGACY_TAIL
  const spec = TAILS.find((t) => t.id === id)
  if (!spec) throw new Error(`unknown fine-tuned tail ${id}`)
  return spec
}

/** Multiply-adds per map position through the tail (its cost, relative to another tail's). */
export function tailWork(spec: TailSpec): number {
  return spec.channels * spec.expanded + 9 * spec.expanded + spec.expanded * spec.projected + spec.projected * spec.out
}

/** Floats of one cached activation map. */
export function mapSize(spec: TailSpec): number {
  return spec.side * spec.side * spec.channels
}

/** Floats of one legacy map (randomTail's default tail: the speed probe, tests). */
export const MAP_SIZE = mapSize(LEGACY_TAIL)

/** Width of the tail's output row for input rows of `inputDim` ([map | pooled feature] → [Conv_1 | pooled feature]). */
export function tailOutDim(spec: TailSpec, inputDim: number): number {
  return spec.out + inputDim - mapSize(spec)
}

/**
 * The activations table's key of a map: the feature's backbone id (decode and preprocessing) and the
 * tail (network and layer), so a map of one network never reaches another network's tail. The
 * legacy tail's key is the one its maps were always stored under.
 */
export function mapKey(backboneId: string, tail: TailSpec): string {
  return `${backboneId}>${tail.id}`
}
