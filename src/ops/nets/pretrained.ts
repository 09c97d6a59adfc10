/**
 * Moving weights between models and files: host copies of a model's parameters (for
 * checkpoints), exact restores (same architecture), and pretrained initialisation from a local
 * file in the checkpoint format, with name mappings so that one FCN-8s file can initialise both
 * the coarse and the fine network as the release does from its ImageNet FCN-8s.
 */
import * as tf from "@tensorflow/tfjs"
import { Either } from "effect"
import { CheckpointMismatchError, matchTensors, type NamedArray, type ShapeDifference } from "../train/checkpoint.ts"
import type { Param } from "./param.ts"

/** Host copies of every parameter (including batch-norm statistics), in model order. */
export const readWeights = (params: ReadonlyArray<Param>): NamedArray[] =>
  params.map((p) => ({ name: p.name, shape: [...p.variable.shape], data: Float32Array.from(p.variable.dataSync() as Float32Array) }))

const assign = (p: Param, a: NamedArray): void => {
  tf.tidy(() => p.variable.assign(tf.tensor(a.data, p.variable.shape, "float32")))
}

/**
 * Restores every parameter from `tensors`, which must hold exactly the model's parameters
 * (optimiser slots, under `optimizer/`, are ignored); anything else is a mismatch error.
 */
export const restoreWeights = (
  params: ReadonlyArray<Param>,
  tensors: ReadonlyArray<NamedArray>,
  file: string
): Either.Either<void, CheckpointMismatchError> =>
  Either.map(
    matchTensors(
      params.map((p) => ({ name: p.name, shape: p.variable.shape })),
      tensors.filter((t) => !t.name.startsWith("optimizer/")),
      file,
      "the checkpoint was written by another network configuration (width, blocks, norm, saliency layers); use a matching configuration or retrain"
    ),
    (byName) => {
      for (const p of params) assign(p, byName.get(p.name)!)
    }
  )

export interface PretrainedOptions {
  readonly file: string
  /**
   * [file prefix, model prefix] pairs: a file tensor `from + rest` initialises the model
   * parameter `to + rest`. One source may feed several targets (e.g. `fcn8s/` into `coarse/` and
   * `fine/`). Without mappings names must match as they are.
   */
  readonly mappings?: ReadonlyArray<readonly [string, string]>
  /** File tensor name prefixes to leave out (e.g. score layers of another class count). */
  readonly skip?: ReadonlyArray<string>
  /** Fail unless every trainable weight of the model is initialised from the file. */
  readonly requireAll?: boolean
}

export interface PretrainedReport {
  /** Model parameters initialised from the file. */
  readonly loaded: ReadonlyArray<string>
  /** Model parameters that kept their seeded initial values. */
  readonly kept: ReadonlyArray<string>
}

/**
 * Initialises parameters from a weights file's tensors (under rstn's names: `readMappedWeights`
 * renames other frameworks' files). Every file tensor (except skipped ones and
 * optimiser slots) must land on a model parameter of the same shape; otherwise nothing is
 * assigned and the error lists the offending tensors.
 */
export const loadPretrained = (
  params: ReadonlyArray<Param>,
  tensors: ReadonlyArray<NamedArray & { readonly source?: string }>,
  options: PretrainedOptions
): Either.Either<PretrainedReport, CheckpointMismatchError> => {
  const byName = new Map(params.map((p) => [p.name, p]))
  const mappings = options.mappings && options.mappings.length > 0 ? options.mappings : [["", ""] as const]
  const plan = new Map<string, NamedArray>()
  const unexpected: string[] = []
  const shapeDiffers: ShapeDifference[] = []
  for (const t of tensors) {
    if (t.name.startsWith("optimizer/") || (options.skip ?? []).some((s) => t.name.startsWith(s))) continue
    const targets = mappings.filter(([from]) => t.name.startsWith(from)).map(([from, to]) => to + t.name.slice(from.length))
    const hits = targets.map((n) => byName.get(n)).filter((p): p is Param => p !== undefined)
    // A tensor renamed by a weight map is named as the file has it too, so the user can find it.
    const shown = t.source !== undefined && t.source !== t.name ? `${t.name} (file: ${t.source})` : t.name
    if (hits.length === 0) unexpected.push(shown)
    for (const p of hits) {
      const same = p.variable.shape.length === t.shape.length && p.variable.shape.every((d, i) => d === t.shape[i])
      if (same) plan.set(p.name, t)
      else shapeDiffers.push({ name: `${shown} -> ${p.name}`, expected: p.variable.shape, found: t.shape })
    }
  }
  const kept = params.filter((p) => !plan.has(p.name)).map((p) => p.name)
  const missing = options.requireAll ? params.filter((p) => p.trainable && !plan.has(p.name)).map((p) => p.name) : []
  if (unexpected.length + shapeDiffers.length + missing.length > 0) {
    return Either.left(
      new CheckpointMismatchError({
        file: options.file,
        missing,
        unexpected,
        shapeDiffers,
        hint: "map the file's names onto the model with `mappings` (e.g. fcn8s/ -> coarse/ and fine/), skip tensors that do not apply, or use a network configuration of the same width and blocks"
      })
    )
  }
  for (const [name, t] of plan) assign(byName.get(name)!, t)
  return Either.right({ loaded: [...plan.keys()], kept })
}
