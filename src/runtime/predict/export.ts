/**
 * `rstn export RUN_DIR -o model.rstn`: the run's resolved pipeline and the weights of every
 * network its test reads, for every trained fold and view, with the intensity window and the
 * training images' orientation, in one model file (model-file.ts). Only the weights travel
 * (no optimiser state), each stage's own networks from its phase.
 */
import { Effect } from "effect"
import { ENGINE_VERSION } from "../../ops/engine-version.ts"
import { encodeCheckpoint } from "../../ops/train/checkpoint.ts"
import type { View } from "../../ops/views.ts"
import { atomicWrite } from "../atomic-write.ts"
import { stageNets } from "../nodes/test-model.ts"
import { encodeModelFile, type WeightEntry } from "./model-file.ts"
import { fromRunDir, stageWeights } from "./trained-model.ts"

export interface ExportSummary {
  readonly file: string
  readonly bytes: number
  readonly folds: ReadonlyArray<number>
  readonly views: ReadonlyArray<string>
  readonly entries: number
}

export const exportModel = (runDir: string, out: string, rstnVersion: string): Effect.Effect<ExportSummary, unknown> =>
  Effect.gen(function* () {
    const model = yield* fromRunDir(runDir)
    const p = model.pipeline
    const views = p.views as ReadonlyArray<View>
    const entries: Array<{ entry: Omit<WeightEntry, "offset" | "bytes" | "sha256">; bytes: Uint8Array }> = []
    for (const fold of model.folds) {
      for (const view of views) {
        for (const w of stageWeights(p.test.stages)) {
          const ckpt = yield* model.weights(fold, view, w).checkpoint
          // Every network the stage may read from this phase (saliency too, whether or not a stage applies it).
          const nets = stageNets(w.stage, true)
          const tensors = ckpt.tensors.filter((t) => nets.some((n) => t.name.startsWith(`${n}/`)))
          const bytes = encodeCheckpoint({ architecture: ckpt.architecture, iteration: ckpt.iteration, tensors, optimizer: null, rng: {}, extra: null })
          entries.push({ entry: { fold, view, phase: w.phase, stage: w.stage }, bytes })
        }
      }
    }
    const bytes = encodeModelFile(
      {
        format: "rstn-model",
        version: 1,
        rstn: rstnVersion,
        engine: ENGINE_VERSION,
        pipeline: p,
        folds: model.folds,
        views,
        window: [p.dataset.window[0], p.dataset.window[1]],
        orientation: model.orientation
      },
      entries
    )
    yield* atomicWrite(out, bytes)
    return { file: out, bytes: bytes.length, folds: model.folds, views, entries: entries.length }
  })
