/**
 * One training phase of one view as an object: `step()` takes the next batch, runs the coarse
 * network, the saliency transform, the crop and the fine network, computes the (joint) DSC loss,
 * and applies one optimiser update; `state()`/`restore()` capture everything a resumed run
 * needs to end with bit-identical weights (weights and batch-norm statistics, optimiser slots,
 * the crop-jitter, dropout and sampler streams, the position in the epoch).
 *
 * Tensor hygiene: a step allocates inside `tf.tidy` and frees what it kept, so
 * `tf.memory().numTensors` is the same after every step.
 */
import * as tf from "@tensorflow/tfjs"
import { Data, Either } from "effect"
import { Rng } from "../random.ts"
import {
  drawMargins,
  expandBounds,
  fullBox,
  sampleBounds,
  sampleBoxMask,
  type ActiveBounds,
  type Box,
  type CropConfig,
  type MapShape,
  type Margins
} from "../nets/crop.ts"
import { applyStatUpdates, type ForwardContext, type StatUpdate } from "../nets/layers.ts"
import type { Param } from "../nets/param.ts"
import { readWeights, restoreWeights } from "../nets/pretrained.ts"
import { coarseLogits, describeRstn, fineInput, fineLogitsInBox, type Rstn } from "../nets/rstn.ts"
import { CheckpointError, matchTensors, type Checkpoint, type CheckpointMismatchError } from "./checkpoint.ts"
import { dscLoss, jointLoss, type LossConfig } from "./dsc-loss.ts"
import { createOptimizer, type OptimizerConfig } from "./optimizer.ts"
import { runsCoarse, runsFine, type PhaseConfig } from "./phase.ts"
import { createSampler, type SampleRef, type SamplerState } from "./sampler.ts"
import { learningRate, type ScheduleConfig } from "./schedule.ts"

/** A batch of slice stacks, NHWC, all samples the same H x W. */
export interface Batch {
  /** [N, H, W, channels]: the networks' input. */
  readonly images: Float32Array
  /** [N, H, W, labelChannels] 0/1 labels: the networks' output channels. */
  readonly labels: Float32Array
  readonly height: number
  readonly width: number
  /** Image channels (3 for a 3-slice stack). */
  readonly channels: number
  /** Label channels (3 for a 3-slice stack). */
  readonly labelChannels: number
}

/** Where the trainer gets its batches from (volumes through views, or synthetic data in tests). */
export interface BatchSource {
  load(refs: ReadonlyArray<SampleRef>): Batch
  /** Samples with the same key have the same 2D shape and may share a batch. */
  groupOf?(ref: SampleRef): string
}

export interface TrainerConfig {
  readonly phase: PhaseConfig
  readonly loss: LossConfig
  readonly crop: CropConfig
  readonly optimizer: OptimizerConfig
  readonly schedule: ScheduleConfig
  readonly batchSize: number
}

export interface TrainerOptions {
  readonly model: Rstn
  readonly samples: ReadonlyArray<SampleRef>
  readonly source: BatchSource
  readonly config: TrainerConfig
  /** The pipeline seed. */
  readonly seed: number
  /** Names this training's random streams, e.g. [fold, view, phase] (default: [phase name]). */
  readonly streams?: ReadonlyArray<string | number>
}

export interface Losses {
  /** DSC loss of the coarse network; null when the phase does not train it (stage-wise fine). */
  readonly coarse: number | null
  /** DSC loss of the fine network; null when the phase does not run it (stage-wise coarse). */
  readonly fine: number | null
  /** The loss that was minimised. */
  readonly joint: number
}

export interface StepResult {
  /** Completed steps after this one. */
  readonly iteration: number
  readonly epoch: number
  readonly learningRate: number
  readonly losses: Losses
}

/** A step produced a non-finite loss; no update was applied. */
export class TrainingDivergedError extends Data.TaggedError("TrainingDivergedError")<{
  readonly phase: string
  readonly iteration: number
  readonly losses: Losses
  readonly hint: string
}> {
  override get message(): string {
    const f = (x: number | null) => (x === null ? "-" : String(x))
    return `training phase ${this.phase} diverged at iteration ${this.iteration}: loss coarse ${f(this.losses.coarse)}, fine ${f(this.losses.fine)}, joint ${f(this.losses.joint)}`
  }
}

export interface Trainer {
  readonly iteration: number
  readonly batchesPerEpoch: number
  /** One forward + backward + update on the next batch. Throws TrainingDivergedError on a non-finite loss. */
  step(): StepResult
  /** Everything a resumed run needs, ready for `encodeCheckpoint`. */
  state(): Checkpoint
  /** Continues from `state()` of a trainer of the same model architecture, optimiser and phase. */
  restore(c: Checkpoint, file: string): Either.Either<void, CheckpointMismatchError | CheckpointError>
  /** Frees the optimiser slots (the model belongs to the caller). */
  dispose(): void
}

/**
 * A weights-only checkpoint of a model (e.g. a finished phase's result for testing, or a
 * pretrained file): no optimiser slots, no random streams.
 */
export const weightsCheckpoint = (model: Rstn, iteration: number, extra: unknown = null): Checkpoint => ({
  architecture: describeRstn(model.config),
  iteration,
  tensors: readWeights(model.params),
  optimizer: null,
  rng: {},
  extra
})

const trainableFor = (m: Rstn, phase: PhaseConfig): Param[] =>
  m.params.filter((p) => {
    if (!p.trainable) return false
    if (phase.train === "coarse") return p.net === "coarse"
    if (phase.train === "fine") return p.net === "fine" || (p.net === "saliency" && phase.saliency)
    return p.net !== "saliency" || phase.saliency
  })

/**
 * The crop box for a batch: each sample's box of active reference pixels, falling back to its
 * label's box when the reference is the coarse prediction and it is empty there (phase J); the
 * batch is cut to the union of those boxes (the whole image when none exists), and each sample
 * is masked to its own box (the whole image when it has none).
 */
export const trainingCropBoxes = (
  reference: ArrayLike<number>,
  labels: ArrayLike<number>,
  shape: MapShape,
  crop: CropConfig,
  margins: Margins,
  fallbackToLabel: boolean
): { box: Box; samples: Box[] } => {
  const expand = (b: ActiveBounds | null) => (b ? expandBounds(b, margins, shape.h, shape.w) : fullBox(shape.h, shape.w))
  const own = sampleBounds(reference, shape, crop.threshold)
  const fallback = fallbackToLabel && own.some((b) => b === null) ? sampleBounds(labels, shape, crop.threshold) : []
  const bounds = own.map((b, i) => b ?? fallback[i] ?? null)
  const present = bounds.filter((b): b is ActiveBounds => b !== null)
  const union =
    present.length === 0
      ? null
      : {
          minRow: Math.min(...present.map((b) => b.minRow)),
          maxRow: Math.max(...present.map((b) => b.maxRow)),
          minCol: Math.min(...present.map((b) => b.minCol)),
          maxCol: Math.max(...present.map((b) => b.maxCol))
        }
  return { box: expand(union), samples: bounds.map(expand) }
}

export const createTrainer = (o: TrainerOptions): Trainer => {
  const { model, config } = o
  const { phase } = config
  if (phase.saliency && !model.saliency) throw new RangeError(`phase ${phase.name} uses the saliency transform but the model has none`)
  const streams = o.streams ?? [phase.name]
  const trainable = trainableFor(model, phase)
  const varList = trainable.map((p) => p.variable)
  const optimizer = createOptimizer(config.optimizer, trainable)
  const sampler = createSampler(o.samples, config.batchSize, Rng.derive(o.seed, "sampler", ...streams), o.source.groupOf?.bind(o.source))
  let cropRng = Rng.derive(o.seed, "crop", ...streams)
  let dropoutRng = Rng.derive(o.seed, "dropout", ...streams)
  let iteration = 0

  const step = (): StepResult => {
    const refs = sampler.next()
    const batch = o.source.load(refs)
    const n = refs.length
    const { height: h, width: w, channels: c, labelChannels: lc } = batch
    if (batch.images.length !== n * h * w * c || batch.labels.length !== n * h * w * lc) {
      throw new RangeError(`batch source returned ${batch.images.length} / ${batch.labels.length} values for ${n}x${h}x${w}x${c} / ${lc}`)
    }
    const lr = learningRate(config.optimizer.lr, config.schedule, iteration, sampler.batchesPerEpoch)
    const margins = runsFine(phase) ? drawMargins(cropRng, config.crop.margin, config.crop.jitter) : null
    const updates: StatUpdate[] = []
    const kept: Array<tf.Tensor | null> = []
    let losses: Losses = { coarse: null, fine: null, joint: Number.NaN }
    try {
      tf.tidy(() => {
        const x = tf.tensor4d(batch.images, [n, h, w, c])
        const y = tf.tensor4d(batch.labels, [n, h, w, lc])
        const trainCoarse = phase.train !== "fine"
        const coarseCtx: ForwardContext = { training: trainCoarse, dropoutRng, statUpdates: trainCoarse ? updates : undefined }
        const fineCtx: ForwardContext = { training: true, dropoutRng, statUpdates: updates }
        const { value, grads } = tf.variableGrads(() => {
          let probability: tf.Tensor4D | null = null
          let lossC: tf.Scalar | null = null
          if (runsCoarse(phase)) {
            probability = tf.sigmoid(coarseLogits(model, x, coarseCtx))
            if (trainCoarse) lossC = dscLoss(probability, y, config.loss.epsilon)
          }
          let lossF: tf.Scalar | null = null
          if (runsFine(phase)) {
            const shape = { n, h, w, c: lc }
            const passes = phase.unroll?.passes ?? 1
            let reference: ArrayLike<number> = phase.cropFrom === "label" ? batch.labels : probability!.dataSync()
            let map: tf.Tensor4D | null = phase.saliency ? probability : null
            const passLosses: tf.Scalar[] = []
            for (let k = 0; k < passes; k++) {
              // After the first pass the reference is the network's own output, empty where it
              // found nothing: fall back to the label there, as phase J does for the coarse map.
              const fallback = k > 0 || phase.cropFrom === "coarse"
              const boxes = trainingCropBoxes(reference, batch.labels, shape, config.crop, margins!, fallback)
              let input = fineInput(model, x, map)
              if (n > 1) input = tf.mul(input, sampleBoxMask(boxes.samples, h, w))
              const fine = tf.sigmoid(fineLogitsInBox(model, input, boxes.box, fineCtx))
              passLosses.push(dscLoss(fine, y, config.loss.epsilon))
              if (k + 1 < passes) {
                const values = fine.dataSync()
                reference = values
                if (phase.saliency) map = phase.unroll!.gradient === "through" ? fine : tf.tensor4d(values, fine.shape)
              }
            }
            lossF = passLosses.length === 1 ? passLosses[0]! : (tf.div(tf.addN(passLosses), passes) as tf.Scalar)
          }
          kept.push(lossC && tf.keep(lossC), lossF && tf.keep(lossF))
          if (lossC && lossF) return jointLoss(lossC, lossF, config.loss.lambda)
          return (lossC ?? lossF)!
        }, varList)
        const read = (t: tf.Tensor | null | undefined) => (t ? (t.dataSync()[0] as number) : null)
        losses = { coarse: read(kept[0]), fine: read(kept[1]), joint: value.dataSync()[0] as number }
        if (Number.isFinite(losses.joint)) optimizer.apply(grads, lr)
      })
    } catch (e) {
      for (const u of updates) u.value.dispose()
      throw e
    } finally {
      for (const t of kept) t?.dispose()
    }
    if (!Number.isFinite(losses.joint)) {
      for (const u of updates) u.value.dispose()
      throw new TrainingDivergedError({
        phase: phase.name,
        iteration,
        losses,
        hint: "lower the learning rate, or enable normalisation (norm: batch or group) when training from scratch"
      })
    }
    applyStatUpdates(updates)
    iteration++
    return { iteration, epoch: sampler.state().epoch, learningRate: lr, losses }
  }

  const state = (): Checkpoint => {
    const s = sampler.state()
    return {
      architecture: describeRstn(model.config),
      iteration,
      tensors: [...readWeights(model.params), ...optimizer.slots()],
      optimizer: { kind: config.optimizer.kind, updates: optimizer.updates, config: config.optimizer },
      rng: { crop: cropRng.state(), dropout: dropoutRng.state(), sampler: s.epochRng },
      extra: { phase: phase.name, sampler: { epoch: s.epoch, position: s.position } }
    }
  }

  const restore = (c: Checkpoint, file: string): Either.Either<void, CheckpointMismatchError | CheckpointError> => {
    const bad = (reason: string) =>
      Either.left(new CheckpointError({ file, reason, hint: "resume with the checkpoint this training phase wrote, or delete it to start the phase over" }))
    const extra = c.extra as { phase?: unknown; sampler?: { epoch?: unknown; position?: unknown } } | null
    const opt = c.optimizer as { kind?: unknown; updates?: unknown } | null
    if (!extra || extra.phase !== phase.name) return bad(`it belongs to training phase ${String(extra?.phase)}, not ${phase.name}`)
    if (!opt || opt.kind !== config.optimizer.kind || typeof opt.updates !== "number") {
      return bad(`its optimiser is ${String(opt?.kind)}, this phase uses ${config.optimizer.kind}`)
    }
    const position = extra.sampler?.position
    const epoch = extra.sampler?.epoch
    const { crop, dropout, sampler: samplerRng } = c.rng
    if (typeof position !== "number" || typeof epoch !== "number" || !crop || !dropout || !samplerRng) {
      return bad("sampler position or random streams missing")
    }
    if (position > sampler.batchesPerEpoch) return bad(`sampler position ${position} beyond an epoch of ${sampler.batchesPerEpoch} batches (other data?)`)
    const slots = matchTensors(
      optimizer.slotShapes(),
      c.tensors.filter((t) => t.name.startsWith("optimizer/")),
      file,
      "the checkpoint's optimiser state belongs to another network or phase; resume with a matching configuration"
    )
    if (Either.isLeft(slots)) return Either.left(slots.left)
    const weights = restoreWeights(model.params, c.tensors, file)
    if (Either.isLeft(weights)) return weights
    optimizer.restore(slots.right, opt.updates)
    sampler.restore({ epoch, position, epochRng: samplerRng })
    cropRng = Rng.fromState(crop)
    dropoutRng = Rng.fromState(dropout)
    iteration = c.iteration
    return Either.void
  }

  return {
    get iteration() {
      return iteration
    },
    batchesPerEpoch: sampler.batchesPerEpoch,
    step,
    state,
    restore,
    dispose: () => optimizer.dispose()
  }
}
