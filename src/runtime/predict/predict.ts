/**
 * `rstn predict`: the pipeline's own test stages (test-loop.ts, as the run's test nodes run them)
 * on scans nobody labelled, with the networks of a run directory or a model file. Each case
 * writes `OUT/<id>.nii.gz`, the mask on the scan's own grid (dims, affine, qform and sform of the
 * input), and `OUT/<id>.json`, what the rounds did; with `saveProbabilities` also
 * `OUT/<id>.probability.nii.gz`, the fused score map the mask was thresholded from.
 *
 * Several folds form an ensemble: in every round each view's probability volume is the mean of
 * the folds' (the coarse maps, and the fine maps each fold's network makes from the same fused
 * map of the round before), fused and thresholded as the test does. A case's files are written
 * atomically and its JSON last, so a rerun skips exactly the finished cases. A case that cannot
 * be predicted (not NIfTI, 4D, an orientation no axis permutation matches) fails alone, named.
 */
import { Clock, Effect, Either, Schema, type Scope } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { resolvePipelineText } from "../../dsl/load.ts"
import { parseSetFlag } from "../../dsl/overrides.ts"
import { Pipeline } from "../../dsl/pipeline.ts"
import { coarsePassBatches } from "../../ops/infer/coarse-pass.ts"
import { maskVoxels } from "../../ops/metrics.ts"
import type { NiftiImage } from "../../ops/nifti/index.ts"
import type { Rstn } from "../../ops/nets/rstn.ts"
import { axisCodes, reorient, reorientation, reorientedShape, type Reorientation, undoReorientation } from "../../ops/orientation.ts"
import type { View } from "../../ops/views.ts"
import { windowVolume } from "../../ops/window.ts"
import { atomicWrite } from "../atomic-write.ts"
import { checkBackend } from "../backend.ts"
import { caseIdOf } from "../dataset.ts"
import { nodeThreads } from "../execution/choose.ts"
import { yieldToEventLoop } from "../execution/node-body.ts"
import { readNiftiFile, writeNiftiFile } from "../nifti-file.ts"
import { COARSE_BATCH } from "../nodes/coarse.ts"
import { convergeThreshold } from "../nodes/test-case.ts"
import { hasSaliencyStage, labelStages, meanOfMaps, runTestLoop } from "../nodes/test-loop.ts"
import { loadModel } from "../nodes/test-model.ts"
import { PredictError, PredictInputError } from "./errors.ts"
import type { PredictEvent } from "./events.ts"
import type { StageWeights, TrainedModel } from "./trained-model.ts"

export const RoundTiming = Schema.Struct({
  round: Schema.Int,
  /** DSC between this round's mask and the previous round's; null for the coarse round. */
  interDsc: Schema.NullOr(Schema.Number),
  ms: Schema.Number,
  fineSamples: Schema.Int,
  voxels: Schema.Int
})

/** `OUT/<id>.json`: what the prediction of one scan did. */
export const PredictionRecord = Schema.Struct({
  format: Schema.Literal("rstn-prediction"),
  version: Schema.Literal(1),
  case: Schema.String,
  input: Schema.String,
  mask: Schema.String,
  probability: Schema.NullOr(Schema.String),
  model: Schema.String,
  folds: Schema.Array(Schema.Int),
  views: Schema.Array(Schema.String),
  shape: Schema.Array(Schema.Int),
  /** The stopping rule: inter-iteration DSC >= t (null without a converge-until stage). */
  t: Schema.NullOr(Schema.Number),
  maxRounds: Schema.NullOr(Schema.Int),
  /** Fine rounds run after the coarse round. */
  roundsRun: Schema.Int,
  reached: Schema.Boolean,
  /** Every round, the coarse one (0) first. */
  rounds: Schema.Array(RoundTiming),
  timing: Schema.Struct({
    readMs: Schema.Number,
    /** The coarse networks over the whole volume, per view (summed over folds). */
    coarseMs: Schema.Record({ key: Schema.String, value: Schema.Number }),
    writeMs: Schema.Number,
    totalMs: Schema.Number
  }),
  orientation: Schema.Struct({ input: Schema.String, model: Schema.String, reoriented: Schema.Boolean })
})
export type PredictionRecord = typeof PredictionRecord.Type

export interface PredictRequest {
  readonly model: TrainedModel
  /** Image files and directories of them. */
  readonly inputs: ReadonlyArray<string>
  readonly outDir: string
  /** One fold, or every trained fold (the default). */
  readonly fold?: number | undefined
  readonly overrides: ReadonlyArray<string>
  readonly force: boolean
  readonly saveProbabilities: boolean
  /** `run.backend` unless given. */
  readonly backend?: string | undefined
  readonly onEvent: (e: PredictEvent) => void
}

export interface PredictCase {
  readonly id: string
  readonly file: string
}

const NIFTI = /\.nii(\.gz)?$/i

/** The cases the inputs name, and an error for each input that names none. */
export const listInputs = (inputs: ReadonlyArray<string>): { readonly cases: ReadonlyArray<PredictCase>; readonly errors: ReadonlyArray<PredictInputError> } => {
  const cases: PredictCase[] = []
  const errors: PredictInputError[] = []
  const byId = new Map<string, string>()
  const add = (file: string) => {
    const id = caseIdOf(file)
    const clash = byId.get(id)
    if (clash !== undefined) {
      errors.push(new PredictInputError({ file, reason: `has the case id '${id}' of ${clash}, and both would write ${id}.nii.gz`, hint: "predict them into different output directories" }))
      return
    }
    byId.set(id, file)
    cases.push({ id, file })
  }
  for (const input of inputs) {
    let stat: fs.Stats
    try {
      stat = fs.statSync(input)
    } catch {
      errors.push(new PredictInputError({ file: input, reason: "no such file or directory", hint: "give NIfTI files (.nii, .nii.gz) or directories of them" }))
      continue
    }
    if (!stat.isDirectory()) {
      add(input)
      continue
    }
    const files = fs
      .readdirSync(input, { withFileTypes: true })
      .filter((d) => d.isFile() && NIFTI.test(d.name))
      .map((d) => path.join(input, d.name))
      .sort()
    if (files.length === 0) {
      errors.push(new PredictInputError({ file: input, reason: "is a directory without any .nii or .nii.gz file", hint: "name the directory that holds the scans (e.g. imagesTs/)" }))
    }
    for (const f of files) add(f)
  }
  return { cases, errors }
}

/**
 * The pipeline's keys a prediction may change: the test, and how it computes (evaluation.oracle
 * goes with an oracle test stage, which is then refused by name). Training keys made the weights.
 */
const PREDICT_KEYS = ["test", "evaluation.oracle", "run.backend", "run.threads", "run.max-voxels"]

/** The model's pipeline with `--set` overrides of its test, checked as `rstn validate` checks a file. */
export const withOverrides = (model: TrainedModel, overrides: ReadonlyArray<string>): Effect.Effect<Pipeline, unknown> =>
  Effect.gen(function* () {
    if (overrides.length === 0) return model.pipeline
    for (const flag of overrides) {
      const parsed = parseSetFlag(flag)
      if (Either.isLeft(parsed)) continue // reported with position below
      const key = parsed.right.path.join(".")
      if (!PREDICT_KEYS.some((k) => key === k || key.startsWith(`${k}.`) || key.startsWith(`${k}[`))) {
        return yield* new PredictError({
          file: `--set ${flag}`,
          reason: `${parsed.right.path[0]} cannot change at prediction: the networks were trained with it`,
          hint: "prediction takes --set on test.* (the stages, t, the rounds), evaluation.oracle, run.backend, run.threads and run.max-voxels"
        })
      }
    }
    const text = JSON.stringify(Schema.encodeSync(Pipeline)(model.pipeline))
    const resolved = resolvePipelineText({ file: model.origin, text, overrides })
    return yield* Either.match(resolved, { onLeft: Effect.fail, onRight: (r) => Effect.succeed(r.pipeline) })
  })

interface Networks {
  readonly coarse: (view: View) => Effect.Effect<ReadonlyArray<Rstn>, unknown, Scope.Scope>
  readonly fine: (phase: string, view: View) => Effect.Effect<ReadonlyArray<Rstn>, unknown, Scope.Scope>
}

/** The networks of every fold, each loaded once on first use and kept for every case. */
const networks = (model: TrainedModel, p: Pipeline, folds: ReadonlyArray<number>): Networks => {
  const cache = new Map<string, Rstn>()
  const withSaliency = hasSaliencyStage(p.test.stages)
  const load = (fold: number, view: View, w: StageWeights) =>
    Effect.gen(function* () {
      const key = `${fold}/${view}/${w.stage}/${w.phase}`
      const hit = cache.get(key)
      if (hit) return hit
      const source = model.weights(fold, view, w)
      const m = yield* loadModel(p, w.stage === "coarse" ? { coarse: source, withSaliency: false } : { fine: source, withSaliency })
      cache.set(key, m)
      return m
    })
  const coarseStage = p.test.stages.find((s) => s.kind === "coarse")
  return {
    coarse: (view) =>
      coarseStage?.kind === "coarse" ? Effect.forEach(folds, (f) => load(f, view, { phase: coarseStage.weights, stage: "coarse" })) : Effect.dieMessage("no coarse stage"),
    fine: (phase, view) => Effect.forEach(folds, (f) => load(f, view, { phase, stage: "fine" }))
  }
}


export const maskFile = (outDir: string, id: string): string => path.join(outDir, `${id}.nii.gz`)
export const recordFile = (outDir: string, id: string): string => path.join(outDir, `${id}.json`)
export const probabilityFile = (outDir: string, id: string): string => path.join(outDir, `${id}.probability.nii.gz`)

/** A scan as the networks read it: windowed, and laid out as the training images were. */
const prepareScan = (c: PredictCase, image: NiftiImage, p: Pipeline, model: TrainedModel) =>
  Effect.gen(function* () {
    const volume = image.volume
    const data = volume.data
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(data[i]!)) {
        return yield* new PredictInputError({
          file: c.file,
          reason: `voxel ${i} (in NIfTI order) is ${data[i]}`,
          hint: "the image holds NaN or infinite values: repair or re-export it (e.g. replace them with -1024 HU)"
        })
      }
    }
    const codes = axisCodes(volume.geometry.affine)
    if (typeof codes !== "string") {
      return yield* new PredictInputError({
        file: c.file,
        reason: `its orientation cannot be matched to the training data's (${model.orientation.axes}): ${codes.reason}`,
        hint: "resample the scan onto axis-aligned voxels (e.g. with the training data's orientation) and predict it again"
      })
    }
    const r = reorientation(codes, model.orientation.axes)
    const [low, high] = p.dataset.window
    const windowed = windowVolume(volume, { low, high })
    return {
      codes,
      r,
      shape: r === null ? volume.shape : reorientedShape(volume.shape, r),
      windowed: r === null ? windowed : reorient(volume.shape, windowed, r)
    }
  })

const predictCase = (req: PredictRequest, p: Pipeline, folds: ReadonlyArray<number>, nets: Networks, c: PredictCase) =>
  Effect.gen(function* () {
    const now = Clock.currentTimeMillis
    const started = yield* now
    const image = yield* readNiftiFile(c.file, { maxVoxels: p.run.maxVoxels })
    const scan = yield* prepareScan(c, image, p, req.model)
    const readMs = (yield* now) - started
    const views = p.views as ReadonlyArray<View>
    const coarseMs: Record<string, number> = {}
    const t = convergeThreshold(p.test.stages)
    const loop = p.test.stages.find((s) => s.kind === "converge-until")
    const rounds: Array<typeof RoundTiming.Type> = []
    const outcome = yield* runTestLoop({
      stages: p.test.stages,
      views,
      shape: scan.shape,
      image: scan.windowed,
      label: null,
      cropThreshold: p.crop.threshold,
      cropMargin: p.crop.margin,
      thickness: p.sliceThickness,
      stopAt: t ?? 1,
      coarse: Effect.forEach(views, (view) =>
        Effect.gen(function* () {
          const start = yield* now
          const maps: Float32Array[] = []
          for (const model of yield* nets.coarse(view)) {
            const batches = coarsePassBatches(model, { shape: scan.shape, image: scan.windowed }, view, { batchSize: COARSE_BATCH, thickness: p.sliceThickness })
            let step = batches.next()
            while (step.done !== true) {
              yield* yieldToEventLoop
              step = batches.next()
            }
            maps.push(step.value)
          }
          coarseMs[view] = (yield* now) - start
          return meanOfMaps(maps)
        })
      ).pipe(Effect.tap(() => Effect.sync(() => req.onEvent({ _tag: "case-coarse", id: c.id, ms: Object.values(coarseMs).reduce((a, b) => a + b, 0) })))),
      fineModels: nets.fine,
      onRound: (r) =>
        Effect.sync(() => {
          rounds.push({ round: r.round, interDsc: r.interDsc, ms: r.ms, fineSamples: r.fineSamples, voxels: maskVoxels(r.mask) })
          req.onEvent({ _tag: "case-round", id: c.id, round: r.round, interDsc: r.interDsc, ms: r.ms })
        }),
      safePoint: yieldToEventLoop
    })
    if (outcome.mask === null || outcome.score === null) {
      return yield* new PredictError({ file: req.model.origin, reason: "its test stages produced no mask", hint: "end test.stages with a fuse stage" })
    }
    const back = <D extends Uint8Array | Float32Array>(data: D): D => (scan.r === null ? data : undoReorientation(image.volume.shape, data, scan.r as Reorientation))
    const writeStart = yield* now
    const grid = { shape: image.volume.shape, geometry: image.volume.geometry }
    const mask = maskFile(req.outDir, c.id)
    yield* writeNiftiFile(mask, { ...grid, data: back(outcome.mask) }, "uint8", { description: `rstn predict ${c.id}` })
    const probability = req.saveProbabilities ? probabilityFile(req.outDir, c.id) : null
    if (probability !== null) yield* writeNiftiFile(probability, { ...grid, data: back(outcome.score) }, "float32", { description: `rstn predict ${c.id} fused score` })
    const end = yield* now
    const last = rounds.at(-1)
    const reached = t !== null && rounds.length > 1 && last !== undefined && last.interDsc !== null && last.interDsc >= t
    const record: PredictionRecord = {
      format: "rstn-prediction",
      version: 1,
      case: c.id,
      input: path.resolve(c.file),
      mask: path.basename(mask),
      probability: probability === null ? null : path.basename(probability),
      model: req.model.origin,
      folds: [...folds],
      views: [...views],
      shape: [...image.volume.shape],
      t,
      maxRounds: loop?.kind === "converge-until" ? loop.maxRounds : null,
      roundsRun: rounds.length - 1,
      reached,
      rounds,
      timing: { readMs, coarseMs, writeMs: end - writeStart, totalMs: end - started },
      orientation: { input: scan.codes, model: req.model.orientation.axes, reoriented: scan.r !== null }
    }
    // Last: a case is finished exactly when its JSON exists.
    yield* atomicWrite(recordFile(req.outDir, c.id), `${JSON.stringify(Schema.encodeSync(PredictionRecord)(record), null, 2)}\n`)
    req.onEvent({ _tag: "case-finished", id: c.id, file: mask, rounds: rounds.length - 1, reached, ms: end - started, reoriented: scan.r === null ? null : scan.codes })
  })

/** Renders a failure of one case for its event (the CLI's renderer, without the `rstn:` prefix). */
const describe = (e: unknown): string => {
  const r = e as { message?: unknown; hint?: unknown }
  const message = typeof r?.message === "string" ? r.message : String(e)
  return typeof r?.hint === "string" ? `${message} (${r.hint})` : message
}

/** Runs the prediction; the exit code is 0 when every case was predicted or skipped, 1 when any failed. */
export const predict = (req: PredictRequest) =>
  Effect.gen(function* () {
    const model = req.model
    const p = yield* withOverrides(model, req.overrides)
    const oracles = labelStages(p.test.stages)
    if (oracles.length > 0) {
      return yield* new PredictError({
        file: model.origin,
        reason: `its test reads the ground truth (${oracles.join(", ")}): an oracle test needs labels, which scans to predict do not have`,
        hint: "predict with the test's own stages: --set on test.stages to replace the oracle stage (e.g. crop { by: previous-mask })"
      })
    }
    if (req.fold !== undefined && !model.folds.includes(req.fold)) {
      return yield* new PredictError({
        file: model.origin,
        reason: `fold ${req.fold} is not trained here (trained: ${model.folds.join(", ")})`,
        hint: `choose one of --fold ${model.folds.join(", --fold ")}, or --folds all`
      })
    }
    const folds = req.fold === undefined ? model.folds : [req.fold]
    const backend = yield* checkBackend(req.backend ?? p.run.backend, { source: req.backend === undefined ? "run.backend" : "--backend", threads: nodeThreads(p.run) })
    const { cases, errors } = listInputs(req.inputs)
    const start = yield* Clock.currentTimeMillis
    yield* Effect.try({
      try: () => fs.mkdirSync(req.outDir, { recursive: true }),
      catch: (e) => new PredictError({ file: req.outDir, reason: `cannot be created (${(e as NodeJS.ErrnoException).code ?? String(e)})`, hint: "choose a writable output directory" })
    })
    req.onEvent({ _tag: "predict-started", model: model.origin, folds, views: p.views, backend: backend.name, cases: cases.length, inputErrors: errors.length, outDir: req.outDir })
    for (const e of errors) req.onEvent({ _tag: "case-failed", id: null, file: e.file, message: describe(e) })
    const nets = networks(model, p, folds)
    let done = 0
    let skipped = 0
    let failed = errors.length
    yield* Effect.scoped(
      Effect.forEach(
        cases,
        (c, index) =>
          Effect.gen(function* () {
            if (!req.force && fs.existsSync(recordFile(req.outDir, c.id)) && fs.existsSync(maskFile(req.outDir, c.id))) {
              skipped++
              req.onEvent({ _tag: "case-skipped", id: c.id, file: maskFile(req.outDir, c.id) })
              return
            }
            req.onEvent({ _tag: "case-started", id: c.id, file: c.file, index })
            const result = yield* Effect.either(predictCase(req, p, folds, nets, c))
            if (Either.isRight(result)) done++
            else {
              failed++
              req.onEvent({ _tag: "case-failed", id: c.id, file: c.file, message: describe(result.left) })
            }
          }),
        { discard: true }
      )
    ).pipe(
      // Ctrl-C: the case running leaves no file (each is written atomically, its JSON last), so the same command continues.
      Effect.onInterrupt(() =>
        Effect.flatMap(Clock.currentTimeMillis, (at) =>
          Effect.sync(() => req.onEvent({ _tag: "predict-finished", done, skipped, failed, ms: at - start, interrupted: true }))
        )
      )
    )
    req.onEvent({ _tag: "predict-finished", done, skipped, failed, ms: (yield* Clock.currentTimeMillis) - start, interrupted: false })
    return failed > 0 ? 1 : 0
  })
