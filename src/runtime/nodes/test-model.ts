/**
 * The networks a test stage runs, assembled from training nodes' weights: the coarse network
 * from the phase its `coarse` stage names and the saliency transform and fine network from the
 * phase its `fine` stage names (the mixed I^C–J^F test takes them from different phases).
 */
import { Effect } from "effect"
import { restoreWeights } from "../../ops/nets/pretrained.ts"
import { createRstn, type Rstn } from "../../ops/nets/rstn.ts"
import type { InputArtifact } from "../node.ts"
import { rstnConfig } from "../pipeline-engine.ts"
import { type PipelineEnv, WEIGHTS_FILE } from "./env.ts"
import { readInputWeights } from "./input-weights.ts"

export interface WeightSources {
  /** Training node whose coarse weights to use. */
  readonly coarse?: InputArtifact
  /** Training node whose saliency and fine weights to use. */
  readonly fine?: InputArtifact
  /** Build the saliency transform (false when the test never applies it). */
  readonly withSaliency: boolean
}

const restore = (model: Rstn, from: InputArtifact, nets: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const file = from.filePath(WEIGHTS_FILE)
    const ckpt = yield* readInputWeights(from)
    const ours = (name: string) => nets.some((n) => name.startsWith(`${n}/`))
    yield* restoreWeights(
      model.params.filter((p) => ours(p.name)),
      ckpt.tensors.filter((t) => ours(t.name)),
      file
    )
  })

/** A model with the requested weights; the caller disposes it (use `Effect.acquireRelease`). */
export const loadTestModel = (env: PipelineEnv, sources: WeightSources) =>
  Effect.acquireRelease(
    // Every weight is overwritten below, so the initialisation seed does not matter.
    Effect.sync(() => createRstn(rstnConfig(env.pipeline, sources.withSaliency), 0)),
    (m) => Effect.sync(() => m.dispose())
  ).pipe(
    Effect.tap((m) =>
      Effect.gen(function* () {
        if (sources.coarse) yield* restore(m, sources.coarse, ["coarse"])
        if (sources.fine) yield* restore(m, sources.fine, sources.withSaliency && m.saliency ? ["saliency", "fine"] : ["fine"])
      })
    )
  )
