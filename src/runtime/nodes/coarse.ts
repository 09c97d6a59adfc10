/**
 * A coarse node: round 0 of the test for one case and view (rstn-reference.md "Testing" step 1),
 * the coarse network over every sample of the volume, saved as the view's probability volume.
 */
import { Clock, Effect } from "effect"
import { coarsePassBatches } from "../../ops/infer/coarse-pass.ts"
import type { View } from "../../ops/views.ts"
import type { CheckpointError, CheckpointMismatchError } from "../../ops/train/checkpoint.ts"
import { type CaseError, readCase } from "../case-store.ts"
import type { FileSystemError } from "../file-system.ts"
import type { NodeContext, NodeResult } from "../node.ts"
import type { PipelineCase } from "../pipeline-dataset.ts"
import { type PipelineEnv, probabilityFile } from "./env.ts"
import { loadTestModel } from "./test-model.ts"

/** What can stop a coarse node: its case, the weights it reads, the run directory. */
export type CoarseError = CaseError | CheckpointError | CheckpointMismatchError | FileSystemError

export interface CoarseTarget {
  readonly case: PipelineCase
  readonly view: View
  /** The training node whose coarse weights run. */
  readonly weights: string
}

/** Samples per forward pass of the coarse network (`rstn predict` uses the same, so its maps are the test's). */
export const COARSE_BATCH = 4

/** Probability volumes are stored as raw little-endian float32 in NIfTI voxel order. */
export const encodeProbability = (p: Float32Array): Uint8Array => new Uint8Array(p.buffer, p.byteOffset, p.byteLength)
export const decodeProbability = (bytes: Uint8Array): Float32Array =>
  bytes.byteOffset % 4 === 0 ? new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4) : new Float32Array(bytes.slice().buffer)

export const runCoarse = (ctx: NodeContext, env: PipelineEnv, t: CoarseTarget): Effect.Effect<NodeResult, CoarseError> =>
  Effect.scoped(
    Effect.gen(function* () {
      const volumes = yield* readCase(t.case, env.pipeline)
      const model = yield* loadTestModel(env, { coarse: ctx.input(t.weights), withSaliency: false })
      const start = yield* Clock.currentTimeMillis
      // A safe point after every batch: on a full-size CT the pass takes minutes, and Ctrl-C or a
      // Slurm scancel (SIGTERM) should not have to wait for its end.
      const batches = coarsePassBatches(
        model,
        { shape: volumes.grid.shape, image: volumes.windowed },
        t.view,
        { batchSize: COARSE_BATCH, thickness: env.pipeline.sliceThickness }
      )
      let step = batches.next()
      while (step.done !== true) {
        yield* ctx.safePoint()
        step = batches.next()
      }
      const probability = step.value
      const ms = (yield* Clock.currentTimeMillis) - start
      yield* ctx.writeFile(probabilityFile, encodeProbability(probability))
      return { caseId: t.case.id, view: t.view, ms }
    })
  )
