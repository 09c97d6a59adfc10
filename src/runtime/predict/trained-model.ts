/**
 * The trained networks `rstn predict` runs and `rstn export` packs, from either place they live:
 * a run directory (its resolved pipeline and the training nodes' weights, each checked to be the
 * one the pipeline's current configuration made) or a model file (model-file.ts). Both give the
 * same thing: the pipeline, the folds that hold every network the test reads, the orientation of
 * the training images, and the weights of each (fold, view, phase, stage).
 */
import { Effect, Either, Option } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import type { Pipeline, Stage } from "../../dsl/pipeline.ts"
import { type AxisCodes, axisCodes } from "../../ops/orientation.ts"
import { CheckpointError, decodeCheckpoint } from "../../ops/train/checkpoint.ts"
import type { View } from "../../ops/views.ts"
import { ArtifactStore } from "../artifact-store.ts"
import { compilePipeline, trainId } from "../compile.ts"
import { FileSystem } from "../file-system.ts"
import { readNiftiHeaderFile } from "../nifti-file.ts"
import { readInputWeights } from "../nodes/input-weights.ts"
import type { WeightSource } from "../nodes/test-model.ts"
import { prepareDataset } from "../pipeline-dataset.ts"
import { readRunRecord } from "../run-record.ts"
import { ModelFileError, TrainedModelError } from "./errors.ts"
import { decodeModelFile, entryBytes } from "./model-file.ts"

export type TestStage = "coarse" | "fine"

/** One set of weights the test reads: the network(s) a stage takes from a training phase. */
export interface StageWeights {
  readonly phase: string
  readonly stage: TestStage
}

export interface TrainedModel {
  /** The run directory or model file, as given. */
  readonly origin: string
  readonly kind: "run" | "model-file"
  readonly pipeline: Pipeline
  /** Folds for which every network the test reads is trained, ascending. */
  readonly folds: ReadonlyArray<number>
  /** Axis codes of the training images' voxel axes, and how many images agreed on them. */
  readonly orientation: { readonly axes: AxisCodes; readonly images: number }
  readonly weights: (fold: number, view: View, w: StageWeights) => WeightSource
}

/** The phases whose weights the stages read, per stage: coarse from the `coarse` stages, saliency and fine from the `fine` ones. */
export const stageWeights = (stages: ReadonlyArray<Stage>): ReadonlyArray<StageWeights> => {
  const out = new Map<string, StageWeights>()
  const visit = (ss: ReadonlyArray<{ readonly kind: string }>) => {
    for (const s of ss as ReadonlyArray<Stage>) {
      if (s.kind === "coarse" || s.kind === "fine") out.set(`${s.kind}/${s.weights}`, { phase: s.weights, stage: s.kind })
      if (s.kind === "converge-until") visit(s.body)
    }
  }
  visit(stages)
  return [...out.values()]
}

/**
 * The axis codes the training images share, read from their headers. Images of mixed orientation
 * trained the networks to read several: then the most common codes are the convention, and
 * `images` says how many follow it.
 */
export const trainingOrientation = (images: ReadonlyArray<string>, origin: string) =>
  Effect.gen(function* () {
    const counts = new Map<string, number>()
    for (const file of images) {
      const header = yield* readNiftiHeaderFile(file).pipe(
        Effect.mapError(
          (e) =>
            new TrainedModelError({
              file: origin,
              reason: `cannot read the orientation of its training image ${file}: ${e.reason}`,
              hint: "prediction compares every scan's orientation with the training data's: restore the dataset, or export the model where it is (rstn export)"
            })
        )
      )
      const codes = axisCodes(header.affine)
      const key = typeof codes === "string" ? codes : "oblique"
      counts.set(key, (counts.get(key) ?? 0) + 1)
    }
    const [axes, n] = [...counts.entries()].filter(([k]) => k !== "oblique").sort((a, b) => b[1] - a[1])[0] ?? ["", 0]
    if (n === 0) {
      return yield* new TrainedModelError({
        file: origin,
        reason: "none of its training images has an affine with clear axis directions",
        hint: "give the training images a qform or sform (rstn inspect shows them)"
      })
    }
    return { axes, images: n }
  })

const noFold = (origin: string, kind: TrainedModel["kind"]) =>
  new TrainedModelError({
    file: origin,
    reason: "holds no fold whose networks are all trained",
    hint: kind === "run" ? `finish the training first: rstn resume ${origin}` : "export it again from a finished run"
  })

export const fromRunDir = (runDir: string): Effect.Effect<TrainedModel, unknown> =>
  Effect.gen(function* () {
    const record = yield* readRunRecord(runDir)
    const p = record.pipeline
    const dataset = yield* prepareDataset(p, { generate: false }).pipe(
      Effect.mapError(
        (e) =>
          new TrainedModelError({
            file: runDir,
            reason: `cannot list the dataset it trained on: ${e.message}`,
            hint: "prediction from a run directory checks its weights against the run's dataset: restore it, or export the model where it is (rstn export)"
          })
      )
    )
    const graph = yield* Either.match(compilePipeline(p, dataset), { onLeft: Effect.fail, onRight: Effect.succeed })
    const store = yield* ArtifactStore
    const needed = stageWeights(p.test.stages)
    const views = p.views as ReadonlyArray<View>
    const weightFiles = new Map<string, WeightSource>()
    const folds: number[] = []
    for (const fold of dataset.runFolds) {
      let complete = true
      for (const view of views) {
        for (const w of needed) {
          const id = trainId(fold, view, w.phase)
          const manifest = yield* store.readManifest(id)
          const node = graph.byId.get(id)
          // Only weights made under the run's current configuration: an older key's are not this pipeline's.
          if (Option.isNone(manifest) || node === undefined || manifest.value.key !== node.key || Option.isSome(yield* store.missingOutput(id, manifest.value))) {
            complete = false
            continue
          }
          const input = store.input(manifest.value)
          weightFiles.set(`${fold}/${view}/${w.phase}`, { file: input.filePath("weights.ckpt"), checkpoint: readInputWeights(input) })
        }
      }
      if (complete) folds.push(fold)
    }
    if (folds.length === 0) return yield* noFold(runDir, "run")
    const orientation = yield* trainingOrientation(
      dataset.cases.map((c) => c.image),
      runDir
    )
    return {
      origin: runDir,
      kind: "run" as const,
      pipeline: p,
      folds,
      orientation,
      weights: (fold, view, w) => {
        const source = weightFiles.get(`${fold}/${view}/${w.phase}`)
        if (source !== undefined) return source
        // After --set names another phase, or a fold that is not trained.
        return { file: path.join(runDir, "nodes", ...trainId(fold, view, w.phase).split("/")), checkpoint: Effect.fail(missingWeights(runDir, fold, view, w)) }
      }
    } satisfies TrainedModel
  }).pipe(Effect.provide(ArtifactStore.layer(runDir)), Effect.provide(FileSystem.layer))

const missingWeights = (origin: string, fold: number, view: View, w: StageWeights) =>
  new CheckpointError({
    file: origin,
    reason: `holds no trained ${w.stage} weights of phase ${w.phase} for fold ${fold} view ${view}`,
    hint: "name phases the run trained in test.stages (rstn inspect shows a model file's)"
  })

export const fromModelFile = (file: string): Effect.Effect<TrainedModel, ModelFileError> =>
  Effect.gen(function* () {
    const bytes = yield* Effect.try({
      try: () => new Uint8Array(fs.readFileSync(file)),
      catch: (e) =>
        new ModelFileError({ file, reason: `cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`, hint: "check the path and the file's permissions" })
    })
    const m = yield* Either.match(decodeModelFile(bytes, file), { onLeft: Effect.fail, onRight: Effect.succeed })
    const h = m.header
    const byKey = new Map(h.weights.map((e) => [`${e.fold}/${e.view}/${e.stage}/${e.phase}`, e]))
    const needed = stageWeights(h.pipeline.test.stages)
    const folds = h.folds.filter((fold) => h.views.every((view) => needed.every((w) => byKey.has(`${fold}/${view}/${w.stage}/${w.phase}`))))
    if (folds.length === 0) return yield* new ModelFileError({ file, reason: "holds no fold with every network its test reads", hint: "export it again from a finished run" })
    return {
      origin: file,
      kind: "model-file" as const,
      pipeline: h.pipeline,
      folds,
      orientation: h.orientation,
      weights: (fold, view, w) => {
        const e = byKey.get(`${fold}/${view}/${w.stage}/${w.phase}`)
        const where = `${file} (fold ${fold} view ${view} phase ${w.phase})`
        return {
          file: where,
          checkpoint: e === undefined ? Effect.fail(missingWeights(file, fold, view, w)) : Either.match(decodeCheckpoint(entryBytes(m, e), where), { onLeft: Effect.fail, onRight: Effect.succeed })
        }
      }
    } satisfies TrainedModel
  })

/** A run directory or a model file, told apart by what is at the path. */
export const openTrainedModel = (origin: string): Effect.Effect<TrainedModel, unknown> =>
  Effect.suspend(() => {
    let stat: fs.Stats
    try {
      stat = fs.statSync(origin)
    } catch {
      return Effect.fail(
        new TrainedModelError({ file: origin, reason: "no such file or directory", hint: "give a run directory (rstn run prints it) or a model file (rstn export writes one)" })
      )
    }
    if (stat.isDirectory()) return fromRunDir(origin)
    // A FIFO or device would block the read or never end.
    if (!stat.isFile()) {
      return Effect.fail(
        new TrainedModelError({ file: origin, reason: "is neither a directory nor a regular file", hint: "give a run directory (rstn run prints it) or a model file (rstn export writes one)" })
      )
    }
    // Any other file is read as a model file, whose decoder names what else it is.
    return fromModelFile(origin)
  })
