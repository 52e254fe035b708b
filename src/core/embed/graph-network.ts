// nsfwjs' second MobileNetV2 (TF-Hub, width 1.4) as a tfjs graph model. The converter already
// fused every Conv + BatchNorm + ReLU6 into one op, so running it up to an inner node is the
// whole cost; nothing is compiled here. Pure: the bytes come from backbone-files.ts (Node) or
// are sent to the compute page.
import type * as tfType from '@tensorflow/tfjs'
import type { BackboneArtifacts, Tf } from './backbone.ts'

/** Where TF-Hub's export put the network's layers inside the converted graph. */
const NODE_PREFIX = 'StatefulPartitionedCall/sequential/keras_layer/StatefulPartitionedCall/StatefulPartitionedCall/StatefulPartitionedCall/predict/MobilenetV2/'

/**
 * The graph node of a layer's activation: `expanded_conv_12/expand` → its fused conv's Relu6 output;
 * a block's residual sum (`expanded_conv_15/add`) is a node of its own.
 */
export function activationNode(layer: string): string {
  return layer.endsWith('/add') ? `${NODE_PREFIX}${layer}` : `${NODE_PREFIX}${layer}/Relu6`
}

export interface GraphNetwork {
  /** The activation maps of `layers` for a batch of [0,1] pixels, each [batch, h, w, channels]. */
  maps(x: tfType.Tensor4D): tfType.Tensor4D[]
  /** A weight of the graph by its name under the network, e.g. `Conv_1/Conv2D_weights` (BN already fused in). */
  weight(name: string): tfType.Tensor
  dispose(): void
}

/**
 * The graph model from its artifacts. Its own first ops (`hub_input`) map [0,1] pixels to the
 * [-1,1] the weights were trained on, so callers feed [0,1].
 */
export async function graphNetwork(tf: Tf, artifacts: BackboneArtifacts, layers: readonly string[]): Promise<GraphNetwork> {
  const model = await tf.loadGraphModel(tf.io.fromMemory({ modelTopology: artifacts.modelTopology, weightSpecs: artifacts.weightSpecs, weightData: artifacts.weightData }))
  const nodes = layers.map(activationNode)
  const known = new Set((artifacts.modelTopology as { node: { name: string }[] }).node.map((n) => n.name))
  for (const [i, node] of nodes.entries()) if (!known.has(node)) throw new Error(`the network has no layer ${layers[i]}`)
  return {
    // execute() walks only the part of the graph the requested nodes depend on.
    maps: (x) => {
      const out = model.execute(x, nodes)
      return (Array.isArray(out) ? out : [out]) as tfType.Tensor4D[]
    },
    weight: (name) => {
      const found = model.weights[`${NODE_PREFIX}${name}`]
      if (!found) throw new Error(`the network has no weight ${name}`)
      return found[0]
    },
    dispose: () => model.dispose(),
  }
}
