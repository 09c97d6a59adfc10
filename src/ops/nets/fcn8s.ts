/**
 * FCN-8s (Long et al. 2015) as the RSTN release uses it for both the coarse and the fine network
 * (rstn-reference.md "Networks"): VGG-16 conv blocks, fc6 (7x7) and fc7 (1x1) as convolutions,
 * score layers on pool3, pool4 and fc7, 2x + 2x + 8x transposed-convolution upsampling
 * (bilinear, frozen by default) with skip fusion, sigmoid outputs at input resolution.
 *
 * Input sizes: the original pads the first convolution by 100 and crops each fused map at fixed
 * offsets so that any size works. We instead pad the input with zeros (centred) up to a multiple
 * of the total stride 2^blocks, give fc6 'same' padding, and crop the output back: every skip
 * then aligns exactly, any input size (odd, or smaller than 224) works, and the parameter count
 * is unchanged. A window of 0 is air after the intensity window, so zero padding is neutral.
 *
 * `width` scales every channel count (the CPU-sized variant); `blocks` (3..5) keeps the first
 * blocks only, with skips from the last two pools before the final one and a final upsampling by
 * 2^(blocks-2), so 5 blocks is the reference topology.
 */
import * as tf from "@tensorflow/tfjs"
import { bilinearKernel } from "./init.ts"
import { conv, convParams, createConv, dropout, type ConvLayer, type ForwardContext, type Norm } from "./layers.ts"
import { makeParam, type NetName, type Param } from "./param.ts"

export interface Fcn8sConfig {
  /** Multiplier on VGG-16's channel counts (64..512, fc 4096); 1 = the reference network. */
  readonly width: number
  /** VGG blocks kept, 3..5; 5 = the reference network. */
  readonly blocks: number
  /** Normalisation after every trunk convolution (not the score layers); reference: none. */
  readonly norm: Norm
  /** Dropout ratio after fc6 and fc7 in training; 0 disables it (reference: 0.5). */
  readonly dropout: number
  /** Train the upsampling kernels instead of keeping them bilinear (reference: frozen). */
  readonly learnUpsampling: boolean
  /** Input channels: the 3-slice stack. */
  readonly inChannels: number
  /** Output channels, one sigmoid each: the 3 slices of the stack. */
  readonly outChannels: number
}

/** The network of the paper and its release. */
export const referenceFcn8s: Fcn8sConfig = {
  width: 1,
  blocks: 5,
  norm: "none",
  dropout: 0.5,
  learnUpsampling: false,
  inChannels: 3,
  outChannels: 3
}

/**
 * The CPU-sized network proposed for demos: same topology, 1/16 of the channels (4..32, fc 256;
 * 0.5M parameters), batch norm (design.md "Training from scratch": trains from scratch, unlike
 * the plain layers), no dropout. On wasm a training step of the whole RSTN at 96x96, batch 4,
 * takes about 160 ms of CPU time on one thread (bench/engine.bench.ts, 2026-12-07), 1.9x PyTorch.
 */
export const cpuFcn8s: Fcn8sConfig = { ...referenceFcn8s, width: 1 / 16, norm: "batch", dropout: 0 }

/** VGG-16 blocks as [channels, convolutions] (Simonyan & Zisserman 2015, configuration D). */
const VGG16: ReadonlyArray<readonly [number, number]> = [
  [64, 2],
  [128, 2],
  [256, 3],
  [512, 3],
  [512, 3]
]
const FC_CHANNELS = 4096
const FC6_KERNEL = 7

export const scaledChannels = (channels: number, width: number): number => Math.max(1, Math.round(channels * width))

interface Upsampler {
  readonly kernel: Param
  readonly size: number
  readonly stride: number
}

export interface Fcn8s {
  readonly net: NetName
  readonly config: Fcn8sConfig
  /** Every parameter, in a stable order. */
  readonly params: ReadonlyArray<Param>
  readonly trunk: ReadonlyArray<ReadonlyArray<ConvLayer>>
  readonly fc6: ConvLayer
  readonly fc7: ConvLayer
  readonly scoreFinal: ConvLayer
  /** Score layers on pool(blocks-1) and pool(blocks-2). */
  readonly scoreSkips: readonly [ConvLayer, ConvLayer]
  readonly upsample: readonly [Upsampler, Upsampler, Upsampler]
}

export const checkFcn8sConfig = (c: Fcn8sConfig): void => {
  if (!(c.width > 0 && c.width <= 1)) throw new RangeError(`fcn8s: width ${c.width} must be in (0, 1]`)
  if (!Number.isInteger(c.blocks) || c.blocks < 3 || c.blocks > 5) throw new RangeError(`fcn8s: blocks ${c.blocks} must be 3, 4 or 5`)
  if (!(c.dropout >= 0 && c.dropout < 1)) throw new RangeError(`fcn8s: dropout ${c.dropout} must be in [0, 1)`)
  if (!Number.isInteger(c.inChannels) || c.inChannels < 1) throw new RangeError(`fcn8s: inChannels ${c.inChannels}`)
  if (!Number.isInteger(c.outChannels) || c.outChannels < 1) throw new RangeError(`fcn8s: outChannels ${c.outChannels}`)
}

/** Total stride of the trunk; inputs are padded to a multiple of it. */
export const fcn8sStride = (c: Fcn8sConfig): number => 2 ** c.blocks

const finalUpsampling = (c: Fcn8sConfig): number => 2 ** (c.blocks - 2)

const skipNames = (c: Fcn8sConfig): readonly [string, string] => [`pool${c.blocks - 1}`, `pool${c.blocks - 2}`]

/** Channels of the trunk convolutions, block by block. */
const trunkChannels = (c: Fcn8sConfig): number[][] =>
  VGG16.slice(0, c.blocks).map(([ch, n]) => Array.from({ length: n }, () => scaledChannels(ch, c.width)))

/**
 * The parameter count from the architecture alone (no tensors): the test checks that a built
 * network has exactly this many, and that the reference one has 134,277,737.
 */
export const fcn8sParameterCount = (c: Fcn8sConfig): number => {
  checkFcn8sConfig(c)
  const perChannel = c.norm === "none" ? 1 : 2 // bias, or norm scale + shift
  const convCount = (k: number, cin: number, cout: number) => k * k * cin * cout + perChannel * cout
  const blocks = trunkChannels(c)
  let total = 0
  let cin = c.inChannels
  const poolChannels: number[] = []
  for (const block of blocks) {
    for (const cout of block) {
      total += convCount(3, cin, cout)
      cin = cout
    }
    poolChannels.push(cin)
  }
  const fc = scaledChannels(FC_CHANNELS, c.width)
  total += convCount(FC6_KERNEL, cin, fc) + convCount(1, fc, fc)
  const out = c.outChannels
  const score = (ch: number) => ch * out + out // score layers: 1x1 with bias, never normalised
  total += score(fc) + score(poolChannels[c.blocks - 2]!) + score(poolChannels[c.blocks - 3]!)
  const f = finalUpsampling(c)
  total += (4 * 4 + 4 * 4 + 2 * f * (2 * f)) * out * out
  return total
}

/**
 * The VGG-16 convolution blocks (`conv1_1` .. `conv5_3` for 5 blocks), the part of FCN-8s that
 * ImageNet weights initialise besides fc6 and fc7; also the channels after each block.
 */
export const createVggTrunk = (net: NetName, config: Fcn8sConfig, seed: number): { trunk: ConvLayer[][]; poolChannels: number[] } => {
  checkFcn8sConfig(config)
  const base = { seed, net, norm: config.norm, bias: 0 } as const
  const trunk: ConvLayer[][] = []
  let cin = config.inChannels
  const poolChannels: number[] = []
  trunkChannels(config).forEach((block, b) => {
    trunk.push(
      block.map((cout, i) => {
        const layer = createConv({
          ...base,
          path: `${net}/conv${b + 1}_${i + 1}`,
          kernelSize: 3,
          inChannels: cin,
          outChannels: cout,
          weights: "he-normal"
        })
        cin = cout
        return layer
      })
    )
    poolChannels.push(cin)
  })
  return { trunk, poolChannels }
}

export const createFcn8s = (net: NetName, config: Fcn8sConfig, seed: number): Fcn8s => {
  const base = { seed, net, norm: config.norm, bias: 0 } as const
  const { trunk, poolChannels } = createVggTrunk(net, config, seed)
  const cin = poolChannels[poolChannels.length - 1]!
  const fc = scaledChannels(FC_CHANNELS, config.width)
  const fc6 = createConv({ ...base, path: `${net}/fc6`, kernelSize: FC6_KERNEL, inChannels: cin, outChannels: fc, weights: "he-normal" })
  const fc7 = createConv({ ...base, path: `${net}/fc7`, kernelSize: 1, inChannels: fc, outChannels: fc, weights: "he-normal" })
  // The release zero-fills its new score layers (fine-tuning from ImageNet); trained from scratch,
  // Xavier-initialised scores let the loss reach the trunk from the first step.
  const score = (path: string, ch: number) =>
    createConv({ seed, net, norm: "none", bias: 0, path, kernelSize: 1, inChannels: ch, outChannels: config.outChannels, weights: "xavier-normal" })
  const [skipA, skipB] = skipNames(config)
  const scoreFinal = score(`${net}/score_fr`, fc)
  const scoreSkips = [
    score(`${net}/score_${skipA}`, poolChannels[config.blocks - 2]!),
    score(`${net}/score_${skipB}`, poolChannels[config.blocks - 3]!)
  ] as const
  const out = config.outChannels
  const upsampler = (name: string, stride: number): Upsampler => ({
    size: 2 * stride,
    stride,
    kernel: makeParam(`${net}/${name}/kernel`, net, "upsample", [2 * stride, 2 * stride, out, out], bilinearKernel(2 * stride, out), config.learnUpsampling)
  })
  const f = finalUpsampling(config)
  // FCN-8s names the last one upscore8; with 3 blocks it is a second 2x, which needs its own name.
  const upsample = [upsampler("upscore2", 2), upsampler(`upscore_${skipA}`, 2), upsampler(f === 2 ? "upscore_final2" : `upscore${f}`, f)] as const
  const params = [
    ...trunk.flat().flatMap(convParams),
    ...convParams(fc6),
    ...convParams(fc7),
    ...convParams(scoreFinal),
    ...scoreSkips.flatMap(convParams),
    ...upsample.map((u) => u.kernel)
  ]
  return { net, config, params, trunk, fc6, fc7, scoreFinal, scoreSkips, upsample }
}

const upsampleBy = (u: Upsampler, x: tf.Tensor4D): tf.Tensor4D => {
  const [n, h, w, c] = x.shape
  // 'same' padding makes the output exactly stride x the input, with the kernel centred as
  // Caffe's Deconvolution with pad = stride / 2 (k = 2 * stride).
  return tf.conv2dTranspose(x, u.kernel.variable as tf.Tensor4D, [n, h * u.stride, w * u.stride, c], u.stride, "same")
}

/** Each VGG block's output after its 2x2 max pooling (torchvision's `features` ends with the last one). */
export const vggTrunkForward = (trunk: ReadonlyArray<ReadonlyArray<ConvLayer>>, x: tf.Tensor4D, ctx: ForwardContext): tf.Tensor4D[] => {
  const pools: tf.Tensor4D[] = []
  let y = x
  for (const block of trunk) {
    for (const layer of block) y = tf.relu(conv(layer, y, ctx))
    y = tf.maxPool(y, 2, 2, "valid")
    pools.push(y)
  }
  return pools
}

/**
 * The VGG trunk and fc6/fc7 (the part ImageNet weights initialise) on an input whose size is a
 * multiple of the stride: each block's pooled output, and fc7's (after ReLU and dropout).
 */
export const fcn8sEncode = (model: Fcn8s, x: tf.Tensor4D, ctx: ForwardContext): { pools: tf.Tensor4D[]; fc7: tf.Tensor4D } => {
  const pools = vggTrunkForward(model.trunk, x, ctx)
  let y = pools[pools.length - 1]!
  y = dropout(tf.relu(conv(model.fc6, y, ctx)), model.config.dropout, ctx)
  y = dropout(tf.relu(conv(model.fc7, y, ctx)), model.config.dropout, ctx)
  return { pools, fc7: y }
}

/** Logits [N, H, W, outChannels] for an input [N, H, W, inChannels] of any H and W. */
export const fcn8sForward = (model: Fcn8s, x: tf.Tensor4D, ctx: ForwardContext): tf.Tensor4D => {
  const { config } = model
  const [, h, w, c] = x.shape
  if (c !== config.inChannels) throw new RangeError(`${model.net}: input has ${c} channels, expected ${config.inChannels}`)
  const s = fcn8sStride(config)
  const ph = Math.ceil(h / s) * s - h
  const pw = Math.ceil(w / s) * s - w
  const top = Math.floor(ph / 2)
  const left = Math.floor(pw / 2)
  let y: tf.Tensor4D =
    ph === 0 && pw === 0
      ? x
      : tf.pad(x, [
          [0, 0],
          [top, ph - top],
          [left, pw - left],
          [0, 0]
        ])
  const { pools, fc7 } = fcn8sEncode(model, y, ctx)
  y = fc7
  const b = config.blocks
  let score = upsampleBy(model.upsample[0], conv(model.scoreFinal, y, ctx))
  score = tf.add(score, conv(model.scoreSkips[0], pools[b - 2]!, ctx))
  score = upsampleBy(model.upsample[1], score)
  score = tf.add(score, conv(model.scoreSkips[1], pools[b - 3]!, ctx))
  score = upsampleBy(model.upsample[2], score)
  return ph === 0 && pw === 0 ? score : tf.slice(score, [0, top, left, 0], [-1, h, w, -1])
}

/** A JSON description of the architecture, stored in checkpoints and compared on load. */
export const describeFcn8s = (c: Fcn8sConfig) => ({
  arch: "fcn8s" as const,
  width: c.width,
  blocks: c.blocks,
  norm: c.norm,
  dropout: c.dropout,
  learnUpsampling: c.learnUpsampling,
  inChannels: c.inChannels,
  outChannels: c.outChannels
})
