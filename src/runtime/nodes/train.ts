/**
 * A training node: one phase (S, I, J, coarse, fine or noisy) of one fold and view. It starts
 * from the previous phase's weights (or the seeded / pretrained initialisation), trains for the
 * phase's length, checkpoints every `training.checkpoint-every` iterations and at every stop, and
 * resumes from its checkpoint after a crash with the same result as an uninterrupted run.
 */
import { Clock, Effect, Either, Option } from "effect"
import * as tf from "@tensorflow/tfjs"
import type { PlannedPhase } from "../../dsl/training-plan.ts"
import { loadPretrained, readWeights, restoreWeights } from "../../ops/nets/pretrained.ts"
import { createRstn, describeRstn, type Rstn } from "../../ops/nets/rstn.ts"
import { type CheckpointError, type CheckpointMismatchError, decodeCheckpoint, encodeCheckpoint } from "../../ops/train/checkpoint.ts"
import { createTrainer, type Trainer, TrainingDivergedError } from "../../ops/train/trainer.ts"
import { readMappedWeights } from "../../ops/weights/weights-file.ts"
import type { WeightsFileError } from "../../ops/weights/weights-error.ts"
import type { FileSystemError } from "../file-system.ts"
import { trainingSamples, volumeBatchSource, type TrainingVolume } from "../../ops/train/volume-source.ts"
import type { View } from "../../ops/views.ts"
import { readCase, type CaseError } from "../case-store.ts"
import type { NodeContext, NodeResult } from "../node.ts"
import { initSeed, rstnConfig, trainerConfig } from "../pipeline-engine.ts"
import { type PipelineEnv, WEIGHTS_FILE } from "./env.ts"
import { readInputWeights } from "./input-weights.ts"
import { NodeFailure } from "./node-failure.ts"

export interface TrainTarget {
  readonly fold: number
  readonly view: View
  readonly phase: PlannedPhase
  /** The node of the previous phase of this fold and view, whose weights this one continues. */
  readonly previous: string | null
}

/** Progress events at most this often (the last iteration is always reported). */
const PROGRESS_MS = 200

const withModel = <A, E, R>(env: PipelineEnv, t: TrainTarget, use: (m: Rstn) => Effect.Effect<A, E, R>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => createRstn(rstnConfig(env.pipeline), initSeed(env.pipeline.seed, t.fold, t.view))),
    use,
    (m) => Effect.sync(() => m.dispose())
  )

/** The fold's training cases; with `on-case-error: skip` an unreadable case is left out with a warning. */
const trainingVolumes = (ctx: NodeContext, env: PipelineEnv, fold: number): Effect.Effect<TrainingVolume[], CaseError> =>
  Effect.gen(function* () {
    const out: TrainingVolume[] = []
    for (const c of env.dataset.cases.filter((c) => c.fold !== fold)) {
      const read = yield* Effect.either(readCase(c, env.pipeline))
      if (Either.isLeft(read)) {
        if (env.pipeline.run.onCaseError === "stop") return yield* Effect.fail(read.left)
        const e = read.left
        yield* ctx.publish({ _tag: "warning", at: yield* Clock.currentTimeMillis, caseId: c.id, file: e.file, key: ctx.key, message: `training without case ${c.id}: ${e.message}` })
        continue
      }
      out.push({ shape: read.right.grid.shape, image: read.right.windowed, label: read.right.label })
      yield* ctx.safePoint()
    }
    return out
  })

/** What can stop a training node: a case, weights it reads, a diverging loss, the run directory. */
export type TrainError =
  | CaseError
  | NodeFailure
  | CheckpointError
  | CheckpointMismatchError
  | WeightsFileError
  | TrainingDivergedError
  | FileSystemError

export const runTrain = (ctx: NodeContext, env: PipelineEnv, t: TrainTarget): Effect.Effect<NodeResult, TrainError> =>
  Effect.gen(function* () {
    const p = env.pipeline
    const volumes = yield* trainingVolumes(ctx, env, t.fold)
    const samples = trainingSamples(volumes, t.view, p.training.sliceThreshold)
    if (samples.length === 0) {
      return yield* new NodeFailure({
        message: `fold ${t.fold} view ${t.view}: no training slice holds foreground`,
        hint: "check dataset.foreground against the label values of the dataset"
      })
    }
    return yield* withModel(env, t, (model) =>
      Effect.gen(function* () {
        if (t.previous !== null) {
          const ckpt = yield* readInputWeights(ctx.input(t.previous))
          yield* restoreWeights(model.params, ckpt.tensors, ctx.input(t.previous).filePath(WEIGHTS_FILE))
        } else if (p.networks.pretrained !== null) {
          const pre = p.networks.pretrained
          const bytes = yield* Effect.tryPromise({
            try: () => import("node:fs/promises").then((fs) => fs.readFile(pre.file)),
            catch: () =>
              new NodeFailure({ message: `cannot read ${pre.file}`, file: pre.file, hint: "networks.pretrained.file must name a readable weights file" })
          })
          // Any format (rstn checkpoint, torch.save, safetensors), renamed by the named map;
          // `skip` applies to the file's names here and to the mapped names below.
          const weights = yield* readMappedWeights(new Uint8Array(bytes), pre.file, { map: pre.map, skip: pre.skip })
          yield* loadPretrained(model.params, weights.tensors, { file: pre.file, mappings: pre.mappings, skip: pre.skip, requireAll: pre.requireAll })
        }
        const thickness = p.sliceThickness
        const layout = { thickness, inChannels: thickness, outChannels: thickness }
        return yield* Effect.acquireUseRelease(
          Effect.sync(() =>
            createTrainer({
              model,
              samples,
              source: volumeBatchSource(volumes, t.view, layout),
              config: trainerConfig(p, t.phase),
              seed: p.seed,
              streams: [t.fold, t.view, t.phase.name]
            })
          ),
          (trainer) => trainLoop(ctx, env, t, model, trainer, samples.length),
          (trainer) => Effect.sync(() => trainer.dispose())
        )
      })
    )
  })

const trainLoop = (ctx: NodeContext, env: PipelineEnv, t: TrainTarget, model: Rstn, trainer: Trainer, sampleCount: number) =>
  Effect.gen(function* () {
    const p = env.pipeline
    const total = t.phase.length.unit === "iterations" ? t.phase.length.count : t.phase.length.count * trainer.batchesPerEpoch
    const saved = yield* ctx.loadCheckpoint
    if (Option.isSome(saved)) {
      const file = `${ctx.id}/checkpoint`
      // A checkpoint only saves time: one that cannot be used (damaged, or written by other code)
      // is reported and the phase starts over. A failed restore changes nothing in the trainer.
      const restored = yield* Effect.either(Effect.flatMap(decodeCheckpoint(saved.value, file), (ckpt) => trainer.restore(ckpt, file)))
      if (Either.isLeft(restored)) {
        yield* ctx.publish({
          _tag: "warning",
          at: yield* Clock.currentTimeMillis,
          key: ctx.key,
          message: `${ctx.label}: its checkpoint cannot be used, the phase starts over: ${restored.left.message}`
        })
      }
    }
    const startIteration = trainer.iteration
    const save = Effect.suspend(() => ctx.saveCheckpoint(encodeCheckpoint(trainer.state())))
    let lastEvent = 0
    let last = { coarse: Number.NaN, fine: Number.NaN, joint: Number.NaN }
    const startTensors = tf.memory().numTensors
    while (trainer.iteration < total) {
      yield* ctx.safePoint(save)
      // A non-finite loss is the run's to report; anything else thrown from a step is a bug.
      const r = yield* Effect.suspend(() => {
        try {
          return Effect.succeed(trainer.step())
        } catch (e) {
          return e instanceof TrainingDivergedError ? Effect.fail(e) : Effect.die(e)
        }
      })
      last = { coarse: r.losses.coarse ?? Number.NaN, fine: r.losses.fine ?? Number.NaN, joint: r.losses.joint }
      const now = yield* Clock.currentTimeMillis
      if (now - lastEvent >= PROGRESS_MS || r.iteration === total) {
        lastEvent = now
        yield* ctx.publish({
          _tag: "training-progress",
          at: now,
          key: ctx.key,
          fold: t.fold,
          view: t.view,
          phase: t.phase.name,
          iteration: r.iteration,
          iterations: total,
          losses: r.losses,
          learningRate: r.learningRate
        })
      }
      if (r.iteration % p.training.checkpointEvery === 0 && r.iteration < total) yield* save
    }
    const leaked = tf.memory().numTensors - startTensors
    const weights = encodeCheckpoint({
      architecture: describeRstn(model.config),
      iteration: trainer.iteration,
      tensors: readWeights(model.params),
      optimizer: null,
      rng: {},
      extra: { phase: t.phase.name, fold: t.fold, view: t.view }
    })
    yield* ctx.writeFile(WEIGHTS_FILE, weights)
    const finite = (x: number) => (Number.isFinite(x) ? x : null)
    return {
      fold: t.fold,
      view: t.view,
      phase: t.phase.name,
      iterations: total,
      ranIterations: total - startIteration,
      resumedFrom: startIteration,
      samples: sampleCount,
      batchesPerEpoch: trainer.batchesPerEpoch,
      finalLoss: { coarse: finite(last.coarse), fine: finite(last.fine), joint: finite(last.joint) },
      leakedTensors: leaked
    }
  })
