// MobileNetV2 re-expressed as fused ops: every Conv/DepthwiseConv + BatchNormalization (+ ReLU6)
// triple of the Keras model becomes one fused conv with the normalisation folded into its filter
// and bias. Same numbers as the layers model (to float rounding), but each activation map is
// written once instead of three times, which is most of the cost on wasm.
import type * as tfType from '@tensorflow/tfjs'
import type { Tf } from './backbone.ts'

type Step =
  | { op: 'pad'; name: string; input: string; padding: [number, number][] }
  | {
      op: 'conv' | 'depthwise'
      name: string
      input: string
      filter: tfType.Tensor4D
      bias: tfType.Tensor1D
      strides: [number, number]
      pad: 'same' | 'valid'
      relu6: boolean
    }
  | { op: 'add'; name: string; inputs: string[] }
  | { op: 'relu6'; name: string; input: string }

export interface FusedBackbone {
  /** Activation maps of the requested layers, in order, each [batch, h, w, channels]. */
  maps(x: tfType.Tensor4D): tfType.Tensor4D[]
  /** Global-average-pooled outputs of the requested layers, in order, each [batch, channels]. */
  pooled(x: tfType.Tensor4D): tfType.Tensor2D[]
  dispose(): void
}

interface LayerConfig {
  strides?: [number, number]
  padding?: 'same' | 'valid' | [[number, number], [number, number]]
  max_value?: number
  maxValue?: number
  epsilon?: number
  use_bias?: boolean
  useBias?: boolean
  center?: boolean
  scale?: boolean
}

/**
 * Compiles the part of `mobilenet` needed for `outputs` (layer names). Throws on a layer kind it
 * does not know, so a different model file fails loudly instead of computing something else.
 */
export function fuseBackbone(tf: Tf, mobilenet: tfType.LayersModel, outputs: readonly string[]): FusedBackbone {
  const needed = neededLayers(mobilenet, outputs)
  const steps: Step[] = []
  // Which step's result is each Keras layer's output (a folded BN or ReLU maps to its conv's step).
  const producer = new Map<string, string>()
  const inputName = mobilenet.inputs[0].name
  const owned: tfType.Tensor[] = []
  const inbound = (layer: tfType.layers.Layer) => layer.inboundNodes[0].inboundLayers.map((l) => producer.get(l.name)!)
  /** The conv step `layer` can fold into: it produces layer's only input, which nothing else reads. */
  const foldTarget = (layer: tfType.layers.Layer) => {
    const prev = steps.at(-1)
    const from = layer.inboundNodes[0].inboundLayers[0]
    const alone = from.outboundNodes.length === 1 && !outputs.includes(from.name)
    return prev && (prev.op === 'conv' || prev.op === 'depthwise') && prev.name === producer.get(from.name) && alone ? prev : null
  }

  for (const layer of mobilenet.layers) {
    if (!needed.has(layer.name)) continue
    const kind = layer.getClassName()
    const config = layer.getConfig() as LayerConfig
    switch (kind) {
      case 'InputLayer':
        producer.set(layer.name, inputName)
        continue
      case 'ZeroPadding2D': {
        const [[top, bottom], [left, right]] = config.padding as [[number, number], [number, number]]
        steps.push({ op: 'pad', name: layer.name, input: inbound(layer)[0], padding: [[0, 0], [top, bottom], [left, right], [0, 0]] })
        break
      }
      case 'Conv2D':
      case 'DepthwiseConv2D': {
        const [filter] = layer.getWeights()
        if (config.use_bias ?? config.useBias) throw new Error(`${layer.name}: convolutions with bias are not expected in MobileNetV2`)
        const bias = tf.zeros([filter.shape[kind === 'Conv2D' ? 3 : 2] as number]) as tfType.Tensor1D
        owned.push(bias)
        steps.push({
          op: kind === 'Conv2D' ? 'conv' : 'depthwise',
          name: layer.name,
          input: inbound(layer)[0],
          filter: filter as tfType.Tensor4D,
          bias,
          strides: config.strides ?? [1, 1],
          pad: config.padding as 'same' | 'valid',
          relu6: false,
        })
        break
      }
      case 'BatchNormalization': {
        const conv = foldTarget(layer)
        if (!conv || conv.relu6) throw new Error(`${layer.name}: batch normalisation must directly follow a convolution`)
        if (config.center === false || config.scale === false) throw new Error(`${layer.name}: expected centre and scale`)
        const [gamma, beta, mean, variance] = layer.getWeights()
        const folded = tf.tidy(() => {
          const scale = gamma.div(variance.add(config.epsilon ?? 1e-3).sqrt())
          const filterScale = conv.op === 'conv' ? scale : scale.reshape([1, 1, -1, 1])
          return { filter: conv.filter.mul(filterScale) as tfType.Tensor4D, bias: beta.sub(mean.mul(scale)) as tfType.Tensor1D }
        })
        conv.filter = folded.filter
        conv.bias = folded.bias
        owned.push(folded.filter, folded.bias)
        producer.set(layer.name, conv.name)
        continue
      }
      case 'ReLU': {
        if ((config.max_value ?? config.maxValue) !== 6) throw new Error(`${layer.name}: only ReLU6 is expected`)
        const conv = foldTarget(layer)
        if (conv && !conv.relu6) {
          conv.relu6 = true
          producer.set(layer.name, conv.name)
          continue
        }
        steps.push({ op: 'relu6', name: layer.name, input: inbound(layer)[0] })
        break
      }
      case 'Add':
        steps.push({ op: 'add', name: layer.name, inputs: inbound(layer) })
        break
      default:
        throw new Error(`${layer.name}: cannot fuse a ${kind} layer`)
    }
    producer.set(layer.name, layer.name)
  }
  const wanted = outputs.map((name) => producer.get(name)!)

  const maps = (x: tfType.Tensor4D): tfType.Tensor4D[] =>
    tf.tidy(() => {
      const values = new Map<string, tfType.Tensor4D>([[inputName, x]])
      const get = (name: string) => values.get(name)!
      for (const step of steps) {
        let y: tfType.Tensor4D
        if (step.op === 'pad') y = tf.pad(get(step.input), step.padding)
        else if (step.op === 'add') y = tf.add(get(step.inputs[0]), get(step.inputs[1]))
        else if (step.op === 'relu6') y = tf.relu6(get(step.input))
        else {
          const args = { x: get(step.input), filter: step.filter, bias: step.bias, strides: step.strides, pad: step.pad, activation: step.relu6 ? ('relu6' as const) : ('linear' as const) }
          y = step.op === 'conv' ? tf.fused.conv2d(args) : tf.fused.depthwiseConv2d(args)
        }
        values.set(step.name, y)
      }
      return wanted.map((name) => values.get(name)!)
    })

  return {
    maps,
    pooled: (x) => tf.tidy(() => maps(x).map((m) => tf.mean(m, [1, 2]) as tfType.Tensor2D)),
    dispose() {
      tf.dispose(owned)
    },
  }
}

/** The layers the outputs depend on (walking inbound nodes back to the input). */
function neededLayers(mobilenet: tfType.LayersModel, outputs: readonly string[]): Set<string> {
  const needed = new Set<string>()
  const stack = outputs.map((name) => mobilenet.getLayer(name))
  while (stack.length) {
    const layer = stack.pop()!
    if (needed.has(layer.name)) continue
    needed.add(layer.name)
    for (const node of layer.inboundNodes) stack.push(...node.inboundLayers)
  }
  return needed
}
