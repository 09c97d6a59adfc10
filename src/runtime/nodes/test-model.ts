/**
 * The networks a test stage runs, assembled from training nodes' weights: the coarse network
 * from the phase its `coarse` stage names and the saliency transform and fine network from the
 * phase its `fine` stage names (the mixed I^C–J^F test takes them from different phases).
 */
import { Effect } from "effect"
import type { Pipeline } from "../../dsl/pipeline.ts"
import { restoreWeights } from "../../ops/nets/pretrained.ts"
import { createRstn, type Rstn } from "../../ops/nets/rstn.ts"
import type { Checkpoint, CheckpointError } from "../../ops/train/checkpoint.ts"
import type { FileSystemError } from "../file-system.ts"
import type { InputArtifact } from "../node.ts"
import { rstnConfig } from "../pipeline-engine.ts"
import { type PipelineEnv, WEIGHTS_FILE } from "./env.ts"
import { readInputWeights } from "./input-weights.ts"

/** Weights wherever they are stored: a training node's file, or an entry of a model file (`rstn predict`). */
export interface WeightSource {
  /** Where they come from, for messages. */
  readonly file: string
  readonly checkpoint: Effect.Effect<Checkpoint, CheckpointError | FileSystemError>
}

export interface ModelWeights {
  /** The coarse network's weights. */
  readonly coarse?: WeightSource
  /** The saliency transform's and fine network's weights. */
  readonly fine?: WeightSource
  /** Build the saliency transform (false when the test never applies it). */
  readonly withSaliency: boolean
}

export interface WeightSources {
  /** Training node whose coarse weights to use. */
  readonly coarse?: InputArtifact
  /** Training node whose saliency and fine weights to use. */
  readonly fine?: InputArtifact
  /** Build the saliency transform (false when the test never applies it). */
  readonly withSaliency: boolean
}

const restore = (model: Rstn, from: WeightSource, nets: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const ckpt = yield* from.checkpoint
    const ours = (name: string) => nets.some((n) => name.startsWith(`${n}/`))
    yield* restoreWeights(
      model.params.filter((p) => ours(p.name)),
      ckpt.tensors.filter((t) => ours(t.name)),
      from.file
    )
  })

/** The networks whose weights a stage reads from its phase: what `coarse` and `fine` restore. */
export const stageNets = (stage: "coarse" | "fine", withSaliency: boolean): ReadonlyArray<string> =>
  stage === "coarse" ? ["coarse"] : withSaliency ? ["saliency", "fine"] : ["fine"]

/** A model of `pipeline`'s networks with the given weights; the caller disposes it (use `Effect.acquireRelease`). */
export const loadModel = (pipeline: Pipeline, sources: ModelWeights) =>
  Effect.acquireRelease(
    // Every weight is overwritten below, so the initialisation seed does not matter.
    Effect.sync(() => createRstn(rstnConfig(pipeline, sources.withSaliency), 0)),
    (m) => Effect.sync(() => m.dispose())
  ).pipe(
    Effect.tap((m) =>
      Effect.gen(function* () {
        if (sources.coarse) yield* restore(m, sources.coarse, stageNets("coarse", false))
        if (sources.fine) yield* restore(m, sources.fine, stageNets("fine", sources.withSaliency && m.saliency !== null))
      })
    )
  )

const fromInput = (input: InputArtifact): WeightSource => ({ file: input.filePath(WEIGHTS_FILE), checkpoint: readInputWeights(input) })

/** A model with the requested training nodes' weights; the caller disposes it (use `Effect.acquireRelease`). */
export const loadTestModel = (env: PipelineEnv, sources: WeightSources) =>
  loadModel(env.pipeline, {
    withSaliency: sources.withSaliency,
    ...(sources.coarse ? { coarse: fromInput(sources.coarse) } : {}),
    ...(sources.fine ? { fine: fromInput(sources.fine) } : {})
  })
