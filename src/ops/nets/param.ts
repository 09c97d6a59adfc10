/**
 * Named network parameters. A model is a plain list of `tf.Variable`s, each under a stable path
 * (`coarse/conv1_1/kernel`) that checkpoints and pretrained-weight files use, and tagged with the
 * optimiser group it belongs to (the release gives coarse/fine weights and biases their own
 * learning-rate multipliers).
 *
 * Variables are created without a tfjs name on purpose: tfjs keeps a global registry of variable
 * names and refuses duplicates, which would forbid two models (e.g. a cpu and a wasm copy, or a
 * resumed trainer next to the original) in one process. Our name lives in `Param.name`.
 */
import * as tf from "@tensorflow/tfjs"

/** Which network a parameter belongs to. */
export type NetName = "coarse" | "fine" | "saliency"

/**
 * What a parameter is, which decides its optimiser group and weight decay:
 * - `weight`: convolution kernels (decayed, "weights" group);
 * - `bias`, `norm-scale`, `norm-shift`: the "biases" group (never decayed, as the release's
 *   `decay_mult: 0` on biases);
 * - `upsample`: transposed-convolution kernels (bilinear, frozen unless learned; "weights" group);
 * - `moving-mean`, `moving-variance`: batch-norm statistics, never trained, but saved.
 */
export type ParamKind =
  | "weight"
  | "bias"
  | "norm-scale"
  | "norm-shift"
  | "upsample"
  | "moving-mean"
  | "moving-variance"

/** The optimiser groups (rstn-reference.md "Training": coarse 1x/2x, fine 10x/20x). */
export type ParamGroup =
  | "coarse-weights"
  | "coarse-biases"
  | "fine-weights"
  | "fine-biases"
  | "saliency-weights"
  | "saliency-biases"

export const paramGroups: ReadonlyArray<ParamGroup> = [
  "coarse-weights",
  "coarse-biases",
  "fine-weights",
  "fine-biases",
  "saliency-weights",
  "saliency-biases"
]

export interface Param {
  /** Stable path, e.g. `coarse/conv1_1/kernel`. */
  readonly name: string
  readonly net: NetName
  readonly kind: ParamKind
  /** False for frozen upsampling kernels and batch-norm statistics. */
  readonly trainable: boolean
  readonly variable: tf.Variable
}

export const groupOf = (p: Param): ParamGroup =>
  p.kind === "weight" || p.kind === "upsample" ? `${p.net}-weights` : `${p.net}-biases`

/** Weight decay applies to convolution kernels only. */
export const isDecayed = (p: Param): boolean => p.kind === "weight" || p.kind === "upsample"

/** Creates a variable from host data; the Float32Array is copied into the backend. */
export const makeParam = (
  name: string,
  net: NetName,
  kind: ParamKind,
  shape: ReadonlyArray<number>,
  data: Float32Array,
  trainable: boolean
): Param => {
  const initial = tf.tensor(data, [...shape], "float32")
  const variable = tf.variable(initial, trainable)
  initial.dispose()
  return { name, net, kind, trainable, variable }
}

export const elementCount = (shape: ReadonlyArray<number>): number => shape.reduce((a, b) => a * b, 1)

/** Number of scalars in the parameters that define the function (statistics excluded). */
export const parameterCount = (params: ReadonlyArray<Param>): number =>
  params
    .filter((p) => p.kind !== "moving-mean" && p.kind !== "moving-variance")
    .reduce((n, p) => n + p.variable.size, 0)

export const disposeParams = (params: ReadonlyArray<Param>): void => {
  for (const p of params) if (!p.variable.isDisposed) p.variable.dispose()
}

/** Index by name; throws on a duplicate, which would be a bug in a network builder. */
export const indexParams = (params: ReadonlyArray<Param>): ReadonlyMap<string, Param> => {
  const m = new Map<string, Param>()
  for (const p of params) {
    if (m.has(p.name)) throw new Error(`duplicate parameter name ${p.name}`)
    m.set(p.name, p)
  }
  return m
}
