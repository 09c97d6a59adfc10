/**
 * The saliency transformation g (rstn-reference.md "Networks"): size-preserving convolutions
 * from the 3-channel coarse probability map to 3 channels of spatial weights, which multiply
 * the image channel by channel before the crop: fine input = image ⊗ g(coarse map).
 */
import * as tf from "@tensorflow/tfjs"
import { conv, convParams, createConv, type ConvLayer } from "./layers.ts"
import type { Param } from "./param.ts"

export interface SaliencyLayerConfig {
  /** Odd kernel size (the paper compares 1, 3, 5 and 7). */
  readonly kernel: number
  /** Applied after this layer. */
  readonly activation: "relu" | "none"
  readonly init: {
    readonly weights: "xavier-normal" | "zeros"
    /** One value for every channel, or one per channel. */
    readonly bias: number | ReadonlyArray<number>
  }
}

export interface SaliencyConfig {
  readonly layers: ReadonlyArray<SaliencyLayerConfig>
  /** Channels in and out (the 3 slices of a stack). */
  readonly channels: number
}

/**
 * The released best model (rstn-reference.md "Networks"): conv 3x3 (Xavier-normal, bias 1) ->
 * ReLU -> conv 5x5 (zero weights, bias [1.0, 1.5, 2.0]).
 */
export const releaseSaliency: SaliencyConfig = {
  channels: 3,
  layers: [
    { kernel: 3, activation: "relu", init: { weights: "xavier-normal", bias: 1 } },
    { kernel: 5, activation: "none", init: { weights: "zeros", bias: [1.0, 1.5, 2.0] } }
  ]
}

export interface Saliency {
  readonly config: SaliencyConfig
  readonly layers: ReadonlyArray<ConvLayer>
  readonly params: ReadonlyArray<Param>
}

export const checkSaliencyConfig = (c: SaliencyConfig): void => {
  if (c.layers.length < 1) throw new RangeError("saliency: at least one layer")
  for (const l of c.layers) {
    if (!Number.isInteger(l.kernel) || l.kernel < 1 || l.kernel % 2 === 0) {
      throw new RangeError(`saliency: kernel ${l.kernel} must be odd (size-preserving)`)
    }
    if (typeof l.init.bias !== "number" && l.init.bias.length !== c.channels) {
      throw new RangeError(`saliency: ${l.init.bias.length} bias values for ${c.channels} channels`)
    }
  }
}

export const createSaliency = (config: SaliencyConfig, seed: number): Saliency => {
  checkSaliencyConfig(config)
  const layers = config.layers.map((l, i) =>
    createConv({
      seed,
      net: "saliency",
      path: `saliency/conv${i + 1}`,
      kernelSize: l.kernel,
      inChannels: config.channels,
      outChannels: config.channels,
      weights: l.init.weights,
      bias: l.init.bias,
      norm: "none"
    })
  )
  return { config, layers, params: layers.flatMap(convParams) }
}

/** The spatial weights g(probability map), same shape as the map. */
export const saliencyForward = (s: Saliency, probability: tf.Tensor4D): tf.Tensor4D => {
  let y = probability
  s.layers.forEach((layer, i) => {
    y = conv(layer, y, { training: false })
    if (s.config.layers[i]!.activation === "relu") y = tf.relu(y)
  })
  return y
}

export const describeSaliency = (c: SaliencyConfig) => ({
  channels: c.channels,
  layers: c.layers.map((l) => ({ kernel: l.kernel, activation: l.activation }))
})
