/**
 * The coarse-to-fine test of one volume as `test.stages` declare it (rstn-reference.md
 * "Testing"): the coarse round's views fused into Z0/S0, then rounds of saliency-transform →
 * crop → fine → fuse until the inter-iteration DSC reaches the stopping threshold or T rounds.
 *
 * Shared by the test node (a labelled case of a run: it scores every round and checkpoints) and
 * `rstn predict` (an unlabelled scan): the label is optional and read only by the oracle stages,
 * and what happens with each round (files, events, checkpoints) is the caller's. Each view's map
 * may come from several models (a fold ensemble): their probability volumes are averaged view by
 * view before the fuse stage thresholds them.
 */
import { Clock, Effect } from "effect"
import type { BodyStage, Stage } from "../../dsl/pipeline.ts"
import { fineRound } from "../../ops/infer/fine-round.ts"
import { fuseViews } from "../../ops/fuse.ts"
import { dice } from "../../ops/metrics.ts"
import { fcn8sStride } from "../../ops/nets/fcn8s.ts"
import type { Rstn } from "../../ops/nets/rstn.ts"
import type { Thickness, View } from "../../ops/views.ts"
import type { Shape3 } from "../../ops/volume.ts"

/** One fused round as the loop hands it to its caller. */
export interface LoopRound {
  readonly round: number
  /** Z: the round's mask (0/1). */
  readonly mask: Uint8Array
  /** S: the round's fused score map. */
  readonly score: Float32Array
  /** Each view's probability volume before fusion, in the order of `views`. */
  readonly views: ReadonlyArray<Float32Array>
  /** The fuse stage's threshold (each view's own mask is its map at it). */
  readonly threshold: number
  /** DSC to the previous round's mask; null for the first round. */
  readonly interDsc: number | null
  readonly ms: number
  /** Samples the fine network ran on, over all views and models (0 for the coarse round). */
  readonly fineSamples: number
}

/** Where a resumed loop starts: the rounds a checkpoint restored. */
export interface LoopResume {
  /** Rounds done, counting the coarse round. */
  readonly rounds: number
  readonly lastInterDsc: number | null
  readonly score: Float32Array
  /** The last round's per-view maps (when saliency reads them), else null. */
  readonly viewScores: ReadonlyArray<Float32Array> | null
  readonly mask: Uint8Array
}

/** The state a round of the converge loop leaves, for a checkpoint. */
export interface LoopState {
  readonly score: Float32Array
  readonly viewScores: ReadonlyArray<Float32Array> | null
  readonly mask: Uint8Array
}

export interface TestLoop<E, R> {
  readonly stages: ReadonlyArray<Stage>
  readonly views: ReadonlyArray<View>
  readonly shape: Shape3
  /** The CT windowed to [0, 1]. */
  readonly image: Float32Array
  /** The ground truth, for the oracle stages only; null for an unlabelled scan. */
  readonly label: Uint8Array | null
  /** `crop.threshold`: binarisation of the crop reference. */
  readonly cropThreshold: number
  /** `crop.margin`: K when a fine stage runs without a crop stage before it. */
  readonly cropMargin: number
  readonly thickness: Thickness
  /** Stop the converge loop once the inter-iteration DSC reaches this. */
  readonly stopAt: number
  /** Round 0's probability volume of each view, in the order of `views`. */
  readonly coarse: Effect.Effect<ReadonlyArray<Float32Array>, E, R>
  /** The fine networks of a phase and view: one per fold of an ensemble (their maps are averaged). */
  readonly fineModels: (phase: string, view: View) => Effect.Effect<ReadonlyArray<Rstn>, E, R>
  /** Each fused round, in order. */
  readonly onRound: (round: LoopRound) => Effect.Effect<void, E, R>
  /** Called as the converge loop starts, with the rounds done before it: rounds to resume from, or null. */
  readonly resume?: (first: number) => Effect.Effect<LoopResume | null, E, R>
  /** After each round of the converge loop (a checkpoint). */
  readonly afterLoopRound?: (state: LoopState) => Effect.Effect<void, E, R>
  /** Between views and rounds: where Ctrl-C stops the loop. */
  readonly safePoint: Effect.Effect<void, E, R>
}

export interface LoopOutcome {
  /** Rounds run, counting the coarse round. */
  readonly rounds: number
  /** The last round's fused score map and mask; null when no stage fused a mask. */
  readonly score: Float32Array | null
  readonly mask: Uint8Array | null
}

/** The mean of maps of one view from several models, in model order (a single map is returned as it is). */
export const meanOfMaps = (maps: ReadonlyArray<Float32Array>): Float32Array => {
  if (maps.length === 1) return maps[0]!
  if (maps.length === 0) throw new RangeError("mean of maps: no map")
  const out = new Float32Array(maps[0]!.length)
  for (const m of maps) for (let i = 0; i < out.length; i++) out[i]! += m[i]!
  for (let i = 0; i < out.length; i++) out[i]! /= maps.length
  return out
}

/** Whether the stages read the ground truth (oracle tests): such stages cannot run on an unlabelled scan. */
export const labelStages = (stages: ReadonlyArray<Stage | BodyStage>): ReadonlyArray<string> =>
  stages.flatMap((s): string[] =>
    s.kind === "saliency-transform" && s.from === "oracle"
      ? ["saliency-transform { from: oracle }"]
      : s.kind === "crop" && s.by === "oracle-box"
        ? ["crop { by: oracle-box }"]
        : s.kind === "converge-until"
          ? [...labelStages(s.body)]
          : []
  )

export const hasSaliencyStage = (stages: ReadonlyArray<Stage | BodyStage>): boolean =>
  stages.some((s) => s.kind === "saliency-transform" || (s.kind === "converge-until" && hasSaliencyStage(s.body)))

/** Whether a saliency-transform reads each view's own map (then round checkpoints keep them). */
export const readsViewMaps = (stages: ReadonlyArray<Stage | BodyStage>): boolean =>
  stages.some((s) => (s.kind === "saliency-transform" && s.map === "view") || (s.kind === "converge-until" && readsViewMaps(s.body)))

interface State {
  views: ReadonlyArray<Float32Array> | null
  score: Float32Array | null
  /** The last fused round's maps of each view before fusion, for saliency-transform { map: view }. */
  viewScores: ReadonlyArray<Float32Array> | null
  /** Round 0's score map, for saliency-transform { from: coarse }; recomputed on resume with round 0. */
  coarseScore: Float32Array | null
  /** Round 0's maps of each view, for { from: coarse, map: view }. */
  coarseViews: ReadonlyArray<Float32Array> | null
  mask: Uint8Array | null
  saliency: { readonly from: "previous-score" | "coarse-score" | "ground-truth"; readonly perView: boolean } | null
  crop: { readonly by: "previous-mask" | "ground-truth"; readonly margin: number; readonly align: boolean } | null
  fineSamples: number
  roundStart: number
  rounds: number
  lastInterDsc: number | null
}

export const runTestLoop = <E, R>(t: TestLoop<E, R>): Effect.Effect<LoopOutcome, E, R> =>
  Effect.gen(function* () {
    const { shape } = t
    const n = shape[0] * shape[1] * shape[2]
    const now = Clock.currentTimeMillis
    const s: State = {
      views: null,
      score: null,
      viewScores: null,
      coarseScore: null,
      coarseViews: null,
      mask: null,
      saliency: null,
      crop: null,
      fineSamples: 0,
      roundStart: 0,
      rounds: 0,
      lastInterDsc: null
    }

    const fuse = (stage: Extract<BodyStage, { kind: "fuse" }>) =>
      Effect.gen(function* () {
        if (s.views === null) return yield* Effect.dieMessage("fuse before any coarse or fine stage")
        const fused = fuseViews(shape, s.views, {
          threshold: stage.threshold,
          components: stage.components,
          momentum: stage.momentum ?? 0,
          // Rounds 2.. only: round 1 replaces the coarse network's map, it does not refine it.
          previous: s.rounds >= 2 ? s.score : null
        })
        const round = s.rounds
        const interDsc = s.mask === null ? null : dice(s.mask, fused.mask)
        const views = s.views
        const ms = (yield* now) - s.roundStart
        s.rounds++
        s.lastInterDsc = interDsc
        s.score = fused.score
        s.viewScores = views
        if (round === 0) {
          s.coarseScore = fused.score
          s.coarseViews = views
        }
        s.mask = fused.mask
        s.views = null
        const fineSamples = s.fineSamples
        s.fineSamples = 0
        yield* t.onRound({ round, mask: fused.mask, score: fused.score, views, threshold: stage.threshold, interDsc, ms, fineSamples })
        s.roundStart = yield* now
      })

    const fine = (stage: Extract<BodyStage, { kind: "fine" }>) =>
      Effect.gen(function* () {
        const crop = s.crop ?? { by: "previous-mask" as const, margin: t.cropMargin, align: false }
        const saliency = s.saliency ?? { from: "previous-score", perView: false }
        const fromCoarse = saliency.from === "coarse-score"
        const fusedScore = (fromCoarse ? s.coarseScore : s.score) ?? new Float32Array(n)
        const viewScores = fromCoarse ? s.coarseViews : s.viewScores
        const previousMask = s.mask ?? new Uint8Array(n)
        const views: Float32Array[] = []
        for (const [i, view] of t.views.entries()) {
          const models = yield* t.fineModels(stage.weights, view)
          const score = saliency.perView ? (viewScores?.[i] ?? fusedScore) : fusedScore
          const maps: Float32Array[] = []
          for (const model of models) {
            const r = fineRound(
              model,
              { shape, image: t.image, score, mask: previousMask, ...(t.label === null ? {} : { label: t.label }) },
              view,
              {
                margin: crop.margin,
                threshold: t.cropThreshold,
                thickness: t.thickness,
                crop: crop.by,
                align: crop.align ? fcn8sStride(model.config.fine) : 1,
                saliency: saliency.from === "coarse-score" ? "previous-score" : saliency.from
              }
            )
            maps.push(r.probability)
            s.fineSamples += r.samples
            yield* t.safePoint
          }
          views.push(meanOfMaps(maps))
        }
        s.views = views
      })

    const runStage = (stage: Stage | BodyStage): Effect.Effect<void, E, R> => {
      switch (stage.kind) {
        case "coarse":
          return Effect.map(t.coarse, (views) => {
            s.views = views
          })
        case "saliency-transform":
          return Effect.sync(() => {
            s.saliency = {
              from: stage.from === "oracle" ? "ground-truth" : stage.from === "coarse" ? "coarse-score" : "previous-score",
              perView: stage.map === "view"
            }
          })
        case "crop":
          return Effect.sync(() => {
            s.crop = { by: stage.by === "oracle-box" ? "ground-truth" : "previous-mask", margin: stage.margin, align: stage.align === "stride" }
          })
        case "fine":
          return fine(stage)
        case "fuse":
          return fuse(stage)
        case "converge-until":
          return converge(stage)
      }
    }

    const converge = (stage: Extract<Stage, { kind: "converge-until" }>) =>
      Effect.gen(function* () {
        const first = s.rounds
        const restored = t.resume ? yield* t.resume(first) : null
        if (restored !== null) {
          s.rounds = restored.rounds
          s.lastInterDsc = restored.lastInterDsc
          s.score = restored.score
          s.viewScores = restored.viewScores
          s.mask = restored.mask
        }
        s.roundStart = yield* now
        while (s.rounds - first < stage.maxRounds) {
          if (s.rounds > first && s.lastInterDsc !== null && s.lastInterDsc >= t.stopAt) break
          s.saliency = null
          s.crop = null
          for (const b of stage.body) yield* runStage(b)
          if (t.afterLoopRound) yield* t.afterLoopRound({ score: s.score!, viewScores: s.viewScores, mask: s.mask! })
          yield* t.safePoint
        }
      })

    s.roundStart = yield* now
    for (const stage of t.stages) yield* runStage(stage)
    return { rounds: s.rounds, score: s.score, mask: s.mask }
  })
