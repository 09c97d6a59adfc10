/**
 * The pipeline schema: the one definition of a pipeline's shape. YAML keys are kebab-case (the
 * encoded side, which `rstn schema` exports as JSON Schema); decoded keys are camelCase
 * (`Schema.fromKey`), except the optimiser's parameter-group multipliers, whose keys are group
 * names (`coarse-weights`, ...) shared with `src/ops/train/optimizer.ts`.
 *
 * Every key a user may leave out has its default here, and every default is the paper's or its
 * reference release's value (rstn-reference.md), so a pipeline of just `name` and `dataset`
 * describes the paper's best model. Checks that relate several fields (a fold below the fold
 * count, a stage order that makes sense, a weights reference to a phase that exists) live in
 * `checks.ts`; this file only says what each value may be on its own.
 */
import * as Schema from "effect/Schema"
import { WEIGHT_MAPS } from "../ops/weights/map-names.ts"

/** Annotation: how a value is described in "expected ..., got ..." messages. */
export const ExpectedId: unique symbol = Symbol.for("rstn/dsl/expected")
/** Annotation on a union of single-key mappings (stages): names the thing for "unknown ..." messages. */
export const KeyedUnionId: unique symbol = Symbol.for("rstn/dsl/keyed-union")

declare module "effect/Schema" {
  namespace Annotations {
    interface GenericSchema<A> {
      readonly [ExpectedId]?: string
      readonly [KeyedUnionId]?: string
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Values

/**
 * What a value may be, said once for both readers: `rstn validate`'s "expected ..., got ..."
 * messages and the JSON Schema's description (which would otherwise be the refinement's name,
 * e.g. "nonNegative" or "between(0, 1)"). A field's own description takes precedence there.
 */
const expects = (text: string) => ({ [ExpectedId]: text, description: text })

const Int = Schema.Number.pipe(Schema.int())
const PositiveInt = Int.pipe(Schema.positive()).annotations(expects("a positive integer"))
const NonNegativeInt = Int.pipe(Schema.nonNegative()).annotations(expects("a non-negative integer"))
const PositiveNumber = Schema.Number.pipe(Schema.positive()).annotations(expects("a positive number"))
const NonNegativeNumber = Schema.Number.pipe(Schema.nonNegative()).annotations(expects("a non-negative number"))
/** A probability or threshold. */
const Fraction = Schema.Number.pipe(Schema.between(0, 1)).annotations(expects("a number in [0, 1]"))
/** Momentum, Adam's betas, dropout: 1 would never forget (or drop everything). */
const OpenFraction = Schema.Number.pipe(Schema.greaterThanOrEqualTo(0), Schema.lessThan(1)).annotations(expects("a number in [0, 1)"))
const PositiveFraction = Schema.Number.pipe(Schema.greaterThan(0), Schema.lessThanOrEqualTo(1)).annotations(expects("a number in (0, 1]"))
/**
 * A file or directory. Relative paths are resolved against the directory of the file that
 * declares them (a `--set` value or a default: the current directory; `run.dir`, an output, always
 * the current directory); see `resolve.ts`.
 */
const FilePath = Schema.String.pipe(Schema.minLength(1)).annotations(expects("a path"))
/** Names become directory names (at most 255 bytes on common file systems) and node keys. */
const Name = Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9][A-Za-z0-9._-]*$/), Schema.maxLength(128)).annotations(
  expects("a name of at most 128 letters, digits, '.', '_' or '-'")
)
const AtLeastTwo = Int.pipe(Schema.greaterThanOrEqualTo(2)).annotations(expects("an integer of at least 2"))

export const View = Schema.Literal("X", "Y", "Z").annotations({
  description: "X, Y, Z: slicing along each volume axis (the paper's coronal, sagittal and axial views)"
})
export type View = typeof View.Type

// ---------------------------------------------------------------------------------------------
// Dataset

export const PhantomSource = Schema.Struct({
  kind: Schema.Literal("phantom"),
  dir: FilePath.annotations({ description: "Where the synthetic dataset is written on first use (Decathlon layout)." }),
  cases: Schema.optionalWith(AtLeastTwo, { default: () => 12 }).annotations({ description: "Number of synthetic cases (at least 2)." }),
  size: Schema.optionalWith(Schema.Literal("small", "medium", "full"), { default: () => "small" as const }).annotations({
    description: "small ≈ 96x96x48, medium ≈ 192x192x96, full 512x512xL"
  }),
  seed: Schema.optionalWith(NonNegativeInt, { default: () => 0 }).annotations({
    description: "Seed of the generated anatomy (separate from the pipeline seed, so re-seeding training keeps the data)."
  })
})

export const DecathlonSource = Schema.Struct({
  kind: Schema.Literal("decathlon"),
  root: FilePath.annotations({ description: "Medical Segmentation Decathlon task directory (dataset.json, imagesTr/, labelsTr/)." })
})

export const CasePair = Schema.Struct({
  image: FilePath.annotations({ description: "The CT volume (.nii or .nii.gz), relative to base." }),
  label: FilePath.annotations({ description: "Its label volume, on the same grid, relative to base." }),
  id: Schema.optional(Name).annotations({ description: "Case id; default: derived from the image file name." })
})

export const PairsSource = Schema.Struct({
  kind: Schema.Literal("pairs"),
  base: Schema.optionalWith(FilePath, { default: () => "." }).annotations({
    description: "Directory the pairs are relative to; default: the directory of the file that lists them."
  }),
  pairs: Schema.Array(CasePair).pipe(Schema.minItems(1)).annotations({ [ExpectedId]: "a non-empty list of {image, label}" })
})

export const NihPancreasSource = Schema.Struct({
  kind: Schema.Literal("nih-pancreas"),
  images: FilePath.annotations({
    description: "NIH Pancreas-CT's image directory: PANCREAS_0001/<study>/<series>/*.dcm, one DICOM series per patient directory."
  }),
  labels: FilePath.annotations({ description: "Its label directory: label0001.nii.gz for PANCREAS_0001, and so on." })
})

export const SeriesPair = Schema.Struct({
  series: FilePath.annotations({ description: "Directory holding one DICOM series (subdirectories are read too), relative to base." }),
  label: FilePath.annotations({ description: "Its label volume (.nii or .nii.gz) on the series' grid, relative to base." }),
  id: Schema.optional(Name).annotations({ description: "Case id; default: the series directory's name." })
})

export const DicomSource = Schema.Struct({
  kind: Schema.Literal("dicom"),
  base: Schema.optionalWith(FilePath, { default: () => "." }).annotations({
    description: "Directory the pairs are relative to; default: the directory of the file that lists them."
  }),
  pairs: Schema.Array(SeriesPair).pipe(Schema.minItems(1)).annotations({ [ExpectedId]: "a non-empty list of {series, label}" })
})

export const DatasetSource = Schema.Union(PhantomSource, DecathlonSource, PairsSource, NihPancreasSource, DicomSource)

export const Dataset = Schema.Struct({
  source: DatasetSource,
  foreground: Schema.optionalWith(
    Schema.Union(Schema.Literal("nonzero"), Schema.Array(PositiveInt).pipe(Schema.minItems(1))).annotations({
      [ExpectedId]: "\"nonzero\" or a non-empty list of label values"
    }),
    { default: () => "nonzero" as const }
  ).annotations({ description: "Label values that count as the organ (rstn-reference.md: Decathlon pancreas is label >= 1)." }),
  window: Schema.optionalWith(Schema.Tuple(Schema.Number, Schema.Number), { default: () => [-100, 240] as const }).annotations({
    description: "HU window [low, high]: clip, then scale to [0, 1] (rstn-reference.md: [-100, 240])."
  }),
  folds: Schema.optionalWith(AtLeastTwo, { default: () => 4 }).annotations({ description: "Cross-validation folds over the cases in sorted order (paper: 4)." }),
  fold: Schema.optionalWith(
    Schema.Union(Schema.Literal("all"), Schema.Array(NonNegativeInt).pipe(Schema.minItems(1))).annotations({
      [ExpectedId]: "\"all\" or a non-empty list of fold indices"
    }),
    { default: () => "all" as const }
  ).annotations({ description: "Folds to run: \"all\" or a list of 0-based indices." })
})

// ---------------------------------------------------------------------------------------------
// Networks

export const Network = Schema.Struct({
  arch: Schema.optionalWith(Schema.Literal("fcn8s"), { default: () => "fcn8s" as const }),
  width: Schema.optionalWith(PositiveFraction, { default: () => 1 }).annotations({
    description: "Multiplier on VGG-16's channel counts; 1 = the reference FCN-8s, 1/16 a CPU-sized one."
  }),
  blocks: Schema.optionalWith(Schema.Literal(3, 4, 5), { default: () => 5 as const }).annotations({
    description: "VGG blocks kept; 5 = the reference topology."
  }),
  norm: Schema.optionalWith(Schema.Literal("none", "batch", "group"), { default: () => "none" as const }).annotations({
    description: "Normalisation after every convolution: none in the reference; batch for training from scratch (design.md)."
  }),
  dropout: Schema.optionalWith(OpenFraction, { default: () => 0.5 }).annotations({
    description: "Dropout after fc6 and fc7 in training (FCN-8s: 0.5)."
  }),
  learnUpsampling: Schema.optionalWith(Schema.Boolean, { default: () => false })
    .pipe(Schema.fromKey("learn-upsampling"))
    .annotations({ description: "Train the upsampling kernels; the release keeps them bilinear and frozen." })
})
export type Network = typeof Network.Type

export const Pretrained = Schema.Struct({
  file: FilePath.annotations({
    description: "A local weights file: an rstn checkpoint, a torch.save file (.pth/.pt) or safetensors, told apart by content."
  }),
  map: Schema.optionalWith(Schema.Literal(...WEIGHT_MAPS), { default: () => "none" as const }).annotations({
    description:
      "How the file's names become rstn's: none (as they are), torchvision-vgg16 (VGG16 onto fcn8s/), organseg-fcn8s (the PyTorch port's FCN8s onto fcn8s/), organseg-rstn (its RSTN onto coarse/, fine/, saliency/)."
  }),
  mappings: Schema.optionalWith(Schema.Array(Schema.Tuple(Schema.String, Schema.String)), { default: () => [] }).annotations({
    description: "[file prefix, model prefix] pairs, e.g. [fcn8s/, coarse/] and [fcn8s/, fine/]."
  }),
  skip: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] }).annotations({
    description: "File tensor name prefixes to leave out."
  }),
  requireAll: Schema.optionalWith(Schema.Boolean, { default: () => false })
    .pipe(Schema.fromKey("require-all"))
    .annotations({ description: "Fail unless every trainable weight is initialised from the file." })
})

const defaultNetwork = (): Network => Schema.decodeUnknownSync(Network)({})

export const Networks = Schema.Struct({
  coarse: Schema.optionalWith(Network, { default: defaultNetwork }),
  fine: Schema.optionalWith(Network, { default: defaultNetwork }),
  pretrained: Schema.optionalWith(Schema.NullOr(Pretrained), { default: () => null }).annotations({
    description: "Initial weights (the release starts from ImageNet FCN-8s); null = seeded initialisation."
  })
})

// ---------------------------------------------------------------------------------------------
// Saliency transformation and crop

export const SaliencyLayer = Schema.Struct({
  kernel: Schema.Literal(1, 3, 5, 7).annotations({ description: "Kernel size (paper, Table 1: 1x1 < 3x3 < 5x5; 7x7 slightly worse)." }),
  activation: Schema.optionalWith(Schema.Literal("relu", "none"), { default: () => "none" as const }),
  init: Schema.optionalWith(
    Schema.Struct({
      weights: Schema.optionalWith(Schema.Literal("xavier-normal", "zeros"), { default: () => "xavier-normal" as const }),
      bias: Schema.optionalWith(
        Schema.Union(Schema.Number, Schema.Array(Schema.Number)).annotations({ [ExpectedId]: "a number or a list of one number per channel" }),
        { default: () => 1 }
      )
    }),
    { default: () => ({ weights: "xavier-normal" as const, bias: 1 }) }
  ).annotations({ description: "Release: first layer Xavier-normal with bias 1; last layer zeros with bias [1.0, 1.5, 2.0]." })
})
export type SaliencyLayer = typeof SaliencyLayer.Type

export const Saliency = Schema.Struct({
  layers: Schema.Array(SaliencyLayer).pipe(Schema.minItems(1)).annotations({ [ExpectedId]: "a non-empty list of layers" })
})
export type Saliency = typeof Saliency.Type

/** rstn-reference.md "Networks": the released best model, conv 3x3 -> ReLU -> conv 5x5. */
const releaseSaliency = (): Saliency => ({
  layers: [
    { kernel: 3, activation: "relu", init: { weights: "xavier-normal", bias: 1 } },
    { kernel: 5, activation: "none", init: { weights: "zeros", bias: [1.0, 1.5, 2.0] } }
  ]
})

export const Jitter = Schema.Struct({
  probability: Schema.optionalWith(Fraction, { default: () => 0.5 }).annotations({ description: "Chance that a training crop's margin is drawn at random." }),
  max: Schema.optionalWith(NonNegativeInt, { default: () => 40 }).annotations({ description: "Largest margin drawn per side (reference: 2K = 40)." })
})

/** rstn-reference.md "Crop". */
export const Crop = Schema.Struct({
  threshold: Schema.optionalWith(Fraction, { default: () => 0.5 }).annotations({ description: "Binarisation of the reference map." }),
  margin: Schema.optionalWith(NonNegativeInt, { default: () => 20 }).annotations({ description: "K, training margin in pixels." }),
  jitter: Schema.optionalWith(Schema.NullOr(Jitter), { default: () => ({ probability: 0.5, max: 40 }) }).annotations({
    description: "Training margin jitter; null keeps K."
  })
})
export type Crop = typeof Crop.Type

// ---------------------------------------------------------------------------------------------
// Training

export const ConstantSchedule = Schema.Struct({ kind: Schema.Literal("constant") })
export const StepSchedule = Schema.Struct({
  kind: Schema.Literal("step"),
  every: PositiveInt.annotations({ description: "Multiply the learning rate by factor every this many units." }),
  unit: Schema.optionalWith(Schema.Literal("epochs", "iterations"), { default: () => "epochs" as const }),
  factor: Schema.optionalWith(PositiveFraction, { default: () => 0.5 }).annotations({ description: "Learning-rate multiplier at each step (0.5 halves it)." })
})
export const LrSchedule = Schema.Union(ConstantSchedule, StepSchedule)
export type LrSchedule = typeof LrSchedule.Type

const multiplier = (value: number) =>
  Schema.optionalWith(NonNegativeNumber, { default: () => value }).annotations({ description: "Learning-rate multiplier for this parameter group." })

/** Per parameter group; the release's are the SGD defaults (rstn-reference.md "Training"). */
const multipliers = (cw: number, cb: number, fw: number, fb: number, sw: number, sb: number) =>
  Schema.Struct({
    "coarse-weights": multiplier(cw),
    "coarse-biases": multiplier(cb),
    "fine-weights": multiplier(fw),
    "fine-biases": multiplier(fb),
    "saliency-weights": multiplier(sw),
    "saliency-biases": multiplier(sb)
  })
const ReleaseMultipliers = multipliers(1, 2, 10, 20, 10, 20)
const UniformMultipliers = multipliers(1, 1, 1, 1, 1, 1)

export const Sgd = Schema.Struct({
  kind: Schema.Literal("sgd"),
  lr: Schema.optionalWith(PositiveNumber, { default: () => 1e-5 }).annotations({ description: "Base learning rate (reference: 1e-5)." }),
  momentum: Schema.optionalWith(OpenFraction, { default: () => 0.99 }).annotations({ description: "Momentum (reference: 0.99)." }),
  weightDecay: Schema.optionalWith(NonNegativeNumber, { default: () => 5e-4 })
    .pipe(Schema.fromKey("weight-decay"))
    .annotations({ description: "L2 weight decay (reference: 5e-4)." }),
  multipliers: Schema.optionalWith(ReleaseMultipliers, { default: () => Schema.decodeUnknownSync(ReleaseMultipliers)({}) })
})

export const Adam = Schema.Struct({
  kind: Schema.Literal("adam"),
  lr: Schema.optionalWith(PositiveNumber, { default: () => 1e-3 }).annotations({ description: "Base learning rate." }),
  beta1: Schema.optionalWith(OpenFraction, { default: () => 0.9 }).annotations({ description: "Decay of the first-moment estimate." }),
  beta2: Schema.optionalWith(OpenFraction, { default: () => 0.999 }).annotations({ description: "Decay of the second-moment estimate." }),
  epsilon: Schema.optionalWith(PositiveNumber, { default: () => 1e-7 }).annotations({ description: "Added to the denominator for stability." }),
  weightDecay: Schema.optionalWith(NonNegativeNumber, { default: () => 0 })
    .pipe(Schema.fromKey("weight-decay"))
    .annotations({ description: "L2 weight decay." }),
  multipliers: Schema.optionalWith(UniformMultipliers, { default: () => Schema.decodeUnknownSync(UniformMultipliers)({}) })
})

export const Optimizer = Schema.Union(Sgd, Adam)
export type Optimizer = typeof Optimizer.Type

/** `last` in a stage's `weights` means the last phase that trains that network. */
export const LAST = "last"
/** The phase name of `training.noisy-fine-tune` in `weights` references and events. */
export const NOISY = "noisy"

/**
 * Unrolling the coarse-to-fine recurrence in training: after the first fine pass, each further
 * pass takes its crop box and saliency map from the previous pass's output, as test rounds
 * r >= 2 take them from round r-1 (the paper trains one pass only, "Training and Testing").
 */
export const Unroll = Schema.Struct({
  passes: PositiveInt.annotations({ description: "Fine passes per training step, each loss weighted equally (1 = the paper's single pass)." }),
  gradient: Schema.optionalWith(Schema.Literal("stop", "through"), { default: () => "stop" as const }).annotations({
    description: "stop: a pass reads the previous output as data; through: back-propagate into the passes before it."
  })
})
export type Unroll = typeof Unroll.Type

export const Phase = Schema.Struct({
  name: Name.annotations({ description: "S, I, J in joint mode; coarse and fine in stage-wise mode." }),
  cropFrom: Schema.optionalWith(Schema.Literal("label", "coarse"), { default: () => "label" as const })
    .pipe(Schema.fromKey("crop-from"))
    .annotations({ description: "Where the fine crop box comes from: the ground truth, or the coarse prediction (falls back to the label when empty)." }),
  saliency: Schema.optionalWith(Schema.Boolean, { default: () => false }).annotations({
    description: "Multiply the fine input by the saliency transform of the coarse map."
  }),
  epochs: Schema.optional(PositiveInt.annotations({ description: "Length in passes over the training slices; give epochs or iterations." })),
  iterations: Schema.optional(PositiveInt.annotations({ description: "Length in training steps (batches); give epochs or iterations." })),
  schedule: Schema.optional(LrSchedule.annotations({ description: "This phase's schedule; default: training.schedule." })),
  lr: Schema.optional(PositiveNumber.annotations({ description: "This phase's base learning rate; default: the optimizer's." })),
  // Optional without a default, so pipelines that do not unroll keep their training keys.
  unroll: Schema.optional(
    Unroll.annotations({
      description: "Train the fine network on its own output too: passes after the first crop and weight by the previous pass (absent: one pass)."
    })
  )
})
export type Phase = typeof Phase.Type

/** rstn-reference.md "Training": S:I:J for 2:6:8 epochs, halving the rate every 2 epochs of J. */
const releasePhases = (): ReadonlyArray<Phase> => [
  { name: "S", cropFrom: "label", saliency: false, epochs: 2 },
  { name: "I", cropFrom: "label", saliency: true, epochs: 6 },
  { name: "J", cropFrom: "coarse", saliency: true, epochs: 8, schedule: { kind: "step", every: 2, unit: "epochs", factor: 0.5 } }
]

export const NoisyFineTune = Schema.Struct({
  iterations: Schema.optional(PositiveInt.annotations({ description: "Length in training steps (paper: 40,000); give iterations or epochs." })),
  epochs: Schema.optional(PositiveInt.annotations({ description: "Length in passes over the training slices; give iterations or epochs." })),
  lr: Schema.optionalWith(PositiveNumber, { default: () => 1e-6 }).annotations({ description: "Learning rate (paper: 1e-6)." })
})

export const Training = Schema.Struct({
  mode: Schema.optionalWith(Schema.Literal("joint", "stage-wise"), { default: () => "joint" as const }).annotations({
    description: "joint (RSTN) or stage-wise (Zhou et al. 2016: coarse and fine trained separately)."
  }),
  loss: Schema.optionalWith(
    Schema.Struct({
      lambda: Schema.optionalWith(Fraction, { default: () => 1 / 3 }).annotations({ description: "Weight of the coarse DSC loss (reference: 1/3)." }),
      epsilon: Schema.optionalWith(PositiveNumber, { default: () => 1e-6 }).annotations({ description: "Smoothing of the DSC loss's ratio." })
    }),
    { default: () => ({ lambda: 1 / 3, epsilon: 1e-6 }) }
  ),
  optimizer: Schema.optionalWith(Optimizer, { default: () => Schema.decodeUnknownSync(Sgd)({ kind: "sgd" }) }),
  schedule: Schema.optionalWith(LrSchedule, { default: () => ({ kind: "constant" as const }) }),
  phases: Schema.optionalWith(Schema.Array(Phase).pipe(Schema.minItems(1)).annotations({ [ExpectedId]: "a non-empty list of phases" }), {
    default: releasePhases
  }),
  batchSize: Schema.optionalWith(PositiveInt, { default: () => 1 })
    .pipe(Schema.fromKey("batch-size"))
    .annotations({ description: "Slices per training step (reference: 1)." }),
  sliceThreshold: Schema.optionalWith(PositiveFraction, { default: () => 0.98 })
    .pipe(Schema.fromKey("slice-threshold"))
    .annotations({ description: "Keep the largest floor(t x count) foreground slices (reference: 0.98)." }),
  checkpointEvery: Schema.optionalWith(PositiveInt, { default: () => 500 })
    .pipe(Schema.fromKey("checkpoint-every"))
    .annotations({ description: "Iterations between checkpoints." }),
  noisyFineTune: Schema.optionalWith(Schema.NullOr(NoisyFineTune), { default: () => null })
    .pipe(Schema.fromKey("noisy-fine-tune"))
    .annotations({ description: "Fine-tuning with crops from the coarse mask (paper: 40,000 iterations at lr 1e-6), run last as phase 'noisy'." })
})
export type Training = typeof Training.Type

// ---------------------------------------------------------------------------------------------
// Test stages

/**
 * A stage is written as `{ name: { ...options } }`, or as the bare name when every option keeps
 * its default (`- fuse`, or `- fuse:` with nothing after it). Decoded, it is a tagged value
 * `{ kind: name, ...options }`.
 */
const stage = <const K extends string, F extends Schema.Struct.Fields>(name: K, fields: F, bare: boolean) => {
  const body = Schema.Struct(fields)
  const defaults = (): object => Schema.decodeUnknownSync(body as unknown as Schema.Schema<object>)({})
  const Tagged = Schema.extend(Schema.Struct({ kind: Schema.Literal(name) }), Schema.typeSchema(body))
  const options = bare ? Schema.NullOr(body) : body
  const keyed = Schema.transform(Schema.Struct({ [name]: options } as { [P in K]: typeof options }), Tagged, {
    strict: false,
    decode: (input) => ({ kind: name, ...((input as unknown as Record<K, object | null>)[name] ?? defaults()) }),
    encode: (value) => {
      const { kind: _, ...rest } = value as { kind: K }
      return { [name]: rest }
    }
  })
  if (!bare) return [keyed] as const
  const shorthand = Schema.transform(Schema.Literal(name), Tagged, {
    strict: false,
    decode: () => ({ kind: name, ...defaults() }),
    encode: () => name
  })
  // Keyed first: encoding picks the first member that fits, and the keyed form keeps options.
  return [keyed, shorthand] as const
}

const Weights = Schema.optionalWith(Name, { default: () => LAST }).annotations({
  description: "The training phase whose weights to use (e.g. J; I for the mixed I^C-J^F test); 'last' = the last phase that trains this network."
})

const coarseStage = stage("coarse", { weights: Weights }, true)
const saliencyStage = stage(
  "saliency-transform",
  {
    from: Schema.optionalWith(Schema.Literal("previous", "coarse", "oracle"), { default: () => "previous" as const }).annotations({
      description:
        "previous: the previous round's score map (the paper); coarse: the coarse round's in every round, as phase J trained it; oracle: the ground truth (strong oracle)."
    }),
    // Optional without a default, so test stages that do not set it keep their keys.
    map: Schema.optional(Schema.Literal("fused", "view")).annotations({
      description:
        "fused: the mean of the views' maps (the paper); view: each view's own map before fusion, as training reads the view's own coarse map (absent: fused)."
    })
  },
  true
)
const cropStage = stage(
  "crop",
  {
    by: Schema.optionalWith(Schema.Literal("previous-mask", "oracle-box"), { default: () => "previous-mask" as const }).annotations({
      description: "previous-mask: the previous round's mask; oracle-box: each slice's ground-truth box (oracle tests)."
    }),
    margin: Schema.optionalWith(NonNegativeInt, { default: () => 20 }).annotations({ description: "K in testing (reference: 20)." }),
    // Optional without a default, so test stages that do not align keep their keys.
    align: Schema.optional(
      Schema.Literal("none", "stride").annotations({
        description: "stride: grow the box to the fine network's stride grid, so a box moved by a pixel leaves the output unchanged (absent: none, the paper's exact box)."
      })
    )
  },
  true
)
const fineStage = stage("fine", { weights: Weights }, true)
const fuseStage = stage(
  "fuse",
  {
    threshold: Schema.optionalWith(Fraction, { default: () => 0.5 }).annotations({ description: "Probability above which a voxel is in the mask (reference: 0.5)." }),
    components: Schema.optionalWith(Schema.Literal("largest", "half-of-largest", "all"), { default: () => "largest" as const }).annotations({
      description: "largest 3D component (paper); half-of-largest keeps components at least half its size (release); all."
    }),
    // Optional without a default, so fuse stages that do not set it keep their keys.
    momentum: Schema.optional(OpenFraction).annotations({
      description:
        "From round 2 on, the share of the previous round's score map kept in this round's: S(r) = m·S(r-1) + (1-m)·mean of the views. Same fixed points, damped flicker between rounds (absent: 0, the paper)."
    })
  },
  true
)

export const BodyStage = Schema.Union(...coarseStage, ...saliencyStage, ...cropStage, ...fineStage, ...fuseStage).annotations({
  [KeyedUnionId]: "stage"
})
export type BodyStage = typeof BodyStage.Type

const convergeStage = stage(
  "converge-until",
  {
    threshold: Schema.optionalWith(Fraction, { default: () => 0.99 }).annotations({
      description: "t: stop when DSC(previous mask, this mask) reaches it (paper: 0.99 RSTN, 0.95 stage-wise)."
    }),
    maxRounds: Schema.optionalWith(PositiveInt, { default: () => 10 })
      .pipe(Schema.fromKey("max-rounds"))
      .annotations({ description: "T, the round limit (paper: 10)." }),
    body: Schema.Array(BodyStage).pipe(Schema.minItems(1)).annotations({ [ExpectedId]: "a non-empty list of stages" })
  },
  false
)

export const Stage = Schema.Union(...coarseStage, ...saliencyStage, ...cropStage, ...fineStage, ...fuseStage, ...convergeStage).annotations({
  [KeyedUnionId]: "stage"
})
export type Stage = typeof Stage.Type
export type StageKind = Stage["kind"]
export const STAGE_NAMES: ReadonlyArray<StageKind> = ["coarse", "saliency-transform", "crop", "fine", "fuse", "converge-until"]

/** rstn-reference.md "Testing": coarse round 0, then at most T = 10 rounds until t = 0.99. */
const releaseStages = (): ReadonlyArray<Stage> => [
  { kind: "coarse", weights: LAST },
  { kind: "fuse", threshold: 0.5, components: "largest" },
  {
    kind: "converge-until",
    threshold: 0.99,
    maxRounds: 10,
    body: [
      { kind: "saliency-transform", from: "previous" },
      { kind: "crop", by: "previous-mask", margin: 20 },
      { kind: "fine", weights: LAST },
      { kind: "fuse", threshold: 0.5, components: "largest" }
    ]
  }
]

export const Test = Schema.Struct({
  stages: Schema.optionalWith(Schema.Array(Stage).pipe(Schema.minItems(1)).annotations({ [ExpectedId]: "a non-empty list of stages" }), {
    default: releaseStages
  }).annotations({ description: "The coarse-to-fine test, run per case: coarse, saliency-transform, crop, fine, fuse, converge-until." })
})

// ---------------------------------------------------------------------------------------------
// Evaluation and run

export const Evaluation = Schema.Struct({
  thresholds: Schema.optionalWith(Schema.Array(Fraction).pipe(Schema.minItems(1)).annotations({ [ExpectedId]: "a non-empty list of numbers in [0, 1]" }), {
    default: () => [0.9, 0.95, 0.98, 0.99]
  }).annotations({ description: "Report the DSC at the round where each inter-iteration DSC threshold is first met." }),
  oracle: Schema.optionalWith(Schema.Literal("none", "strong", "weak"), { default: () => "none" as const }).annotations({
    description: "Over-fitting diagnostics (rstn-reference.md \"Oracle tests\"); must agree with the test stages."
  }),
  saveRounds: Schema.optionalWith(Schema.Boolean, { default: () => false })
    .pipe(Schema.fromKey("save-rounds"))
    .annotations({ description: "Write every round's mask, not just the final one." })
})

export const LocalExecutor = Schema.Struct({
  // The default kind, so `--set run.executor.workers=2` works on a pipeline that names no executor.
  kind: Schema.optionalWith(Schema.Literal("local"), { default: () => "local" as const }),
  workers: Schema.optionalWith(
    Schema.Union(Schema.Literal("auto"), PositiveInt).annotations({ [ExpectedId]: "\"auto\" or a positive integer" }),
    { default: () => 1 }
  ).annotations({
    description:
      "Worker processes, each with its own tensor backend, one node at a time; auto: one per core; 1: every node in the rstn process itself."
  })
})

const NonEmpty = Schema.String.pipe(Schema.minLength(1)).annotations(expects("a non-empty string"))

/** What sbatch is asked for: the executor's defaults, and per kind of node. */
const slurmResources = {
  partition: Schema.optional(NonEmpty).annotations({ description: "sbatch --partition." }),
  time: Schema.optional(NonEmpty).annotations({ description: "sbatch --time, e.g. 2:00:00 or 1-00:00:00." }),
  cpusPerTask: Schema.optional(PositiveInt).pipe(Schema.fromKey("cpus-per-task")).annotations({ description: "sbatch --cpus-per-task." }),
  mem: Schema.optional(NonEmpty).annotations({ description: "sbatch --mem, e.g. 4G." }),
  gres: Schema.optional(NonEmpty).annotations({ description: "sbatch --gres, e.g. gpu:1." }),
  sbatchArgs: Schema.optional(Schema.Array(NonEmpty))
    .pipe(Schema.fromKey("sbatch-args"))
    .annotations({ description: "More sbatch arguments, passed as they are (e.g. --account=lab, --qos=short)." })
}

export const SlurmResources = Schema.Struct(slurmResources)
export type SlurmResources = typeof SlurmResources.Type

export const SlurmExecutor = Schema.Struct({
  kind: Schema.Literal("slurm"),
  ...slurmResources,
  perKind: Schema.optional(
    Schema.Struct({
      train: Schema.optional(SlurmResources),
      coarse: Schema.optional(SlurmResources),
      test: Schema.optional(SlurmResources),
      evaluate: Schema.optional(SlurmResources),
      report: Schema.optional(SlurmResources)
    })
  )
    .pipe(Schema.fromKey("per-kind"))
    .annotations({ description: "Resources for one kind of node (train, coarse, test, evaluate, report), over the ones above." })
})
export type SlurmExecutor = typeof SlurmExecutor.Type

export const Executor = Schema.Union(LocalExecutor, SlurmExecutor)
export type Executor = typeof Executor.Type

export const Run = Schema.Struct({
  backend: Schema.optionalWith(Schema.Literal("auto", "node-gpu", "node", "wasm", "cpu"), { default: () => "auto" as const }).annotations({
    description: "Tensor backend; auto tries node-gpu, node, wasm, then cpu (rstn doctor shows which work here)."
  }),
  // On the refinement itself: its own "a number less than or equal to 8" would hide a description on the property.
  threads: Schema.optional(
    PositiveInt.pipe(Schema.lessThanOrEqualTo(8)).annotations({
      [ExpectedId]: "an integer from 1 to 8",
      description:
      "Threads of the wasm backend's XNNPACK kernels in each process that computes nodes, 1..8; absent: the cores other processes leave idle when the run starts, shared among the local workers (a Slurm job: its cpus-per-task). Results do not depend on it."
    })
  ),
  dir: Schema.optionalWith(FilePath, { default: () => "runs/{name}" }).annotations({
    description: "Run directory, relative to where rstn runs; {name} is replaced by the pipeline's name."
  }),
  store: Schema.optional(FilePath).annotations({
    description:
      "The store of finished nodes that runs share, so a node with the same key (the same configuration and inputs) runs once: auto = .rstn-store beside the run directory (shared by every run under the same runs root), none = no sharing, or a directory (relative to where rstn runs). Absent: none for rstn run, auto for the runs of rstn sweep."
  }),
  executor: Schema.optionalWith(Executor, { default: () => ({ kind: "local" as const, workers: 1 }) }).annotations({
    description: "Where nodes run: local worker processes, or Slurm batch jobs on a cluster sharing the run directory."
  }),
  onCaseError: Schema.optionalWith(Schema.Literal("skip", "stop"), { default: () => "skip" as const })
    .pipe(Schema.fromKey("on-case-error"))
    .annotations({ description: "A case that fails: skip it and finish the others, or stop the run." }),
  maxVoxels: Schema.optionalWith(PositiveInt, { default: () => 200_000_000 })
    .pipe(Schema.fromKey("max-voxels"))
    .annotations({ description: "Refuse volumes larger than this (memory guard)." })
})

// ---------------------------------------------------------------------------------------------
// The pipeline

const section = <S extends Schema.Schema.AnyNoContext>(s: S) =>
  Schema.optionalWith(s, { default: () => Schema.decodeUnknownSync(s)({}) as Schema.Schema.Type<S> })

export const Pipeline = Schema.Struct({
  name: Name.annotations({ description: "Shown in the UI and summaries; the default run directory is runs/{name}." }),
  seed: Schema.optionalWith(NonNegativeInt, { default: () => 0 }).annotations({ description: "Every random choice derives from it." }),
  dataset: Dataset,
  views: Schema.optionalWith(Schema.Array(View).pipe(Schema.minItems(1)).annotations({ [ExpectedId]: "a non-empty list of X, Y, Z" }), {
    default: () => ["X", "Y", "Z"] as const
  }),
  sliceThickness: Schema.optionalWith(Schema.Literal(1, 3), { default: () => 3 as const })
    .pipe(Schema.fromKey("slice-thickness"))
    .annotations({ description: "Neighbouring slices stacked as channels (reference: 3)." }),
  networks: section(Networks),
  saliency: Schema.optionalWith(Schema.NullOr(Saliency), { default: releaseSaliency }).annotations({
    description: "The saliency transformation; null = none (the stage-wise baseline)."
  }),
  crop: section(Crop),
  training: section(Training),
  test: section(Test),
  evaluation: section(Evaluation),
  run: section(Run)
}).annotations({ title: "rstn pipeline", description: "An RSTN experiment: dataset, networks, training phases, coarse-to-fine test, evaluation." })

export type Pipeline = typeof Pipeline.Type
export type PipelineInput = typeof Pipeline.Encoded
