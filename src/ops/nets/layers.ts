/**
 * The building blocks the networks share: a convolution with its bias or normalisation, the
 * normalisation layers (none | batch | group — design.md "Training from scratch"), and dropout
 * drawn from our own seeded stream. Forward functions expect to run inside `tf.tidy` (or a
 * gradient tape) and allocate nothing that outlives it except batch-norm statistic updates,
 * which they hand to the caller through the `ForwardContext`.
 */
import * as tf from "@tensorflow/tfjs"
import { batchNormInference, batchNormTraining, hasBatchNormKernels } from "../kernels/batch-norm.ts"
import type { Rng } from "../random.ts"
import { constant, heNormal, xavierNormal } from "./init.ts"
import { makeParam, type NetName, type Param } from "./param.ts"

export type Norm = "none" | "batch" | "group"

/** Batch-norm statistics: moving = MOMENTUM * moving + (1 - MOMENTUM) * batch. */
export const BATCH_NORM_MOMENTUM = 0.9
export const NORM_EPSILON = 1e-5
/** Group norm uses at most this many groups (Wu & He 2018 default). */
export const MAX_GROUPS = 32

/** A new moving statistic computed in a training forward pass; `value` is `tf.keep`-ed. */
export interface StatUpdate {
  readonly variable: tf.Variable
  readonly value: tf.Tensor
}

export interface ForwardContext {
  /** Training: batch statistics and dropout; otherwise moving statistics, no dropout. */
  readonly training: boolean
  /** Stream for dropout masks (required when training a network with dropout > 0). */
  readonly dropoutRng?: Rng
  /** Receives batch-norm moving-statistic updates in training; the caller assigns and disposes them. */
  readonly statUpdates?: StatUpdate[]
}

export interface NormLayer {
  readonly kind: "batch" | "group"
  readonly groups: number
  readonly scale: Param
  readonly shift: Param
  readonly movingMean?: Param
  readonly movingVariance?: Param
}

export interface ConvLayer {
  readonly kernelSize: number
  readonly padding: "same" | "valid"
  readonly kernel: Param
  readonly bias?: Param
  readonly norm?: NormLayer
}

export type WeightInit = "he-normal" | "xavier-normal" | "zeros"

export interface ConvOptions {
  readonly seed: number
  readonly net: NetName
  /** Path prefix, e.g. `coarse/conv1_1`. */
  readonly path: string
  readonly kernelSize: number
  readonly inChannels: number
  readonly outChannels: number
  readonly weights: WeightInit
  /** Initial bias (one value or one per output channel); ignored when a norm follows. */
  readonly bias: number | ReadonlyArray<number>
  readonly norm: Norm
  readonly padding?: "same" | "valid"
}

/**
 * Groups for group norm: the largest divisor of `channels` that is at most MAX_GROUPS and leaves
 * at least two channels per group (so a group never degenerates into one channel's instance norm).
 */
export const groupCount = (channels: number): number => {
  for (let g = Math.min(MAX_GROUPS, Math.floor(channels / 2)); g >= 1; g--) if (channels % g === 0) return g
  return 1
}

const createNorm = (o: ConvOptions): NormLayer | undefined => {
  if (o.norm === "none") return undefined
  const c = o.outChannels
  const scale = makeParam(`${o.path}/norm/scale`, o.net, "norm-scale", [c], constant(c, 1), true)
  const shift = makeParam(`${o.path}/norm/shift`, o.net, "norm-shift", [c], constant(c, 0), true)
  if (o.norm === "group") return { kind: "group", groups: groupCount(c), scale, shift }
  return {
    kind: "batch",
    groups: 1,
    scale,
    shift,
    movingMean: makeParam(`${o.path}/norm/moving_mean`, o.net, "moving-mean", [c], constant(c, 0), false),
    movingVariance: makeParam(`${o.path}/norm/moving_variance`, o.net, "moving-variance", [c], constant(c, 1), false)
  }
}

export const createConv = (o: ConvOptions): ConvLayer => {
  const { kernelSize: k, inChannels: cin, outChannels: cout } = o
  const n = k * k * cin * cout
  const name = `${o.path}/kernel`
  const data =
    o.weights === "he-normal"
      ? heNormal(o.seed, name, n, k * k * cin)
      : o.weights === "xavier-normal"
        ? xavierNormal(o.seed, name, n, k * k * cin, k * k * cout)
        : constant(n, 0)
  const kernel = makeParam(name, o.net, "weight", [k, k, cin, cout], data, true)
  const norm = createNorm(o)
  let bias: Param | undefined
  if (!norm) {
    const values = typeof o.bias === "number" ? constant(cout, o.bias) : Float32Array.from(o.bias)
    if (values.length !== cout) throw new RangeError(`${o.path}: ${values.length} bias values for ${cout} channels`)
    bias = makeParam(`${o.path}/bias`, o.net, "bias", [cout], values, true)
  }
  return { kernelSize: k, padding: o.padding ?? "same", kernel, bias, norm }
}

export const convParams = (l: ConvLayer): Param[] => [
  l.kernel,
  ...(l.bias ? [l.bias] : []),
  ...(l.norm ? [l.norm.scale, l.norm.shift] : []),
  ...(l.norm?.movingMean ? [l.norm.movingMean] : []),
  ...(l.norm?.movingVariance ? [l.norm.movingVariance] : [])
]

/** Queues the moving-statistic updates from a batch's mean and variance. */
const pushStatUpdates = (norm: NormLayer, mean: tf.Tensor, variance: tf.Tensor, updates: StatUpdate[]): void => {
  const m = BATCH_NORM_MOMENTUM
  const mm = norm.movingMean!.variable
  const mv = norm.movingVariance!.variable
  updates.push({ variable: mm, value: tf.keep(tf.tidy(() => tf.add(tf.mul(mm, m), tf.mul(mean, 1 - m)))) })
  updates.push({ variable: mv, value: tf.keep(tf.tidy(() => tf.add(tf.mul(mv, m), tf.mul(variance, 1 - m)))) })
}

const normalise = (norm: NormLayer, x: tf.Tensor4D, ctx: ForwardContext): tf.Tensor4D => {
  const scale = norm.scale.variable
  const shift = norm.shift.variable
  if (norm.kind === "group") {
    const [n, h, w, c] = x.shape
    const g = norm.groups
    const grouped = tf.reshape(x, [n, h, w, g, c / g])
    const { mean, variance } = tf.moments(grouped, [1, 2, 4], true)
    const y = tf.mul(tf.sub(grouped, mean), tf.rsqrt(tf.add(variance, NORM_EPSILON)))
    return tf.add(tf.mul(tf.reshape(y, [n, h, w, c]), scale), shift) as tf.Tensor4D
  }
  if (hasBatchNormKernels(tf.getBackend())) {
    // Fused kernels (src/ops/kernels/batch-norm.ts): the same function and gradient as the op
    // chain below, up to rounding, in four passes over the activations instead of ~36 kernels.
    if (!ctx.training) {
      return batchNormInference(x, norm.movingMean!.variable, norm.movingVariance!.variable, scale, shift, NORM_EPSILON) as tf.Tensor4D
    }
    const updates = ctx.statUpdates
    const stats = updates && ((mean: tf.Tensor, variance: tf.Tensor) => {
      pushStatUpdates(norm, mean, variance, updates)
      tf.dispose([mean, variance])
    })
    return batchNormTraining(x, scale, shift, NORM_EPSILON, stats) as tf.Tensor4D
  }
  let mean: tf.Tensor
  let variance: tf.Tensor
  if (ctx.training) {
    ;({ mean, variance } = tf.moments(x, [0, 1, 2]))
    if (ctx.statUpdates) {
      pushStatUpdates(norm, mean, variance, ctx.statUpdates)
    }
  } else {
    mean = norm.movingMean!.variable
    variance = norm.movingVariance!.variable
  }
  // Written out with plain ops (not tf.batchNorm) so its gradient is the same composition of
  // elementwise kernels on every backend.
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, NORM_EPSILON))), scale), shift) as tf.Tensor4D
}

/** Convolution, then bias or normalisation; no activation. */
export const conv = (l: ConvLayer, x: tf.Tensor4D, ctx: ForwardContext): tf.Tensor4D => {
  const y = tf.conv2d(x, l.kernel.variable as tf.Tensor4D, 1, l.padding)
  if (l.bias) return tf.add(y, l.bias.variable)
  return normalise(l.norm!, y, ctx)
}

/** Inverted dropout with a mask drawn from `rng` (so every random choice follows the seed). */
export const dropout = (x: tf.Tensor4D, ratio: number, ctx: ForwardContext): tf.Tensor4D => {
  if (!ctx.training || ratio <= 0) return x
  const rng = ctx.dropoutRng
  if (!rng) throw new Error("dropout in training needs ForwardContext.dropoutRng")
  const mask = new Float32Array(x.size)
  const keepScale = 1 / (1 - ratio)
  for (let i = 0; i < mask.length; i++) mask[i] = rng.next() >= ratio ? keepScale : 0
  return tf.mul(x, tf.tensor4d(mask, x.shape))
}

/** Applies and disposes the statistic updates collected during a training forward pass. */
export const applyStatUpdates = (updates: ReadonlyArray<StatUpdate>): void => {
  for (const u of updates) {
    u.variable.assign(u.value)
    u.value.dispose()
  }
}
