/**
 * The decoded pipeline is what the engine consumes: its sections have the engine's config types
 * (checked by tsc) and every shipped pipeline passes the engine's own argument checks, so a
 * value the DSL accepts is never rejected later at run time.
 */
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { loadPipeline } from "../../src/dsl/load.ts"
import type { Pipeline } from "../../src/dsl/pipeline.ts"
import { trainingPhases } from "../../src/dsl/training-plan.ts"
import type { CropConfig } from "../../src/ops/nets/crop.ts"
import { checkFcn8sConfig, type Fcn8sConfig } from "../../src/ops/nets/fcn8s.ts"
import { checkSaliencyConfig, type SaliencyConfig } from "../../src/ops/nets/saliency.ts"
import type { LossConfig } from "../../src/ops/train/dsc-loss.ts"
import { checkOptimizerConfig, type OptimizerConfig } from "../../src/ops/train/optimizer.ts"
import { checkSchedule, type ScheduleConfig } from "../../src/ops/train/schedule.ts"

const dir = path.resolve(import.meta.dirname, "../../pipelines")

/** The mapping the runtime makes; written here so tsc checks that the types line up. */
const engineConfigs = (p: Pipeline) => {
  const net = (n: Pipeline["networks"]["coarse"]): Fcn8sConfig => ({ ...n, inChannels: p.sliceThickness, outChannels: p.sliceThickness })
  const saliency: SaliencyConfig | null = p.saliency === null ? null : { layers: p.saliency.layers, channels: p.sliceThickness }
  const optimizer: OptimizerConfig = p.training.optimizer
  const schedules: ReadonlyArray<ScheduleConfig> = trainingPhases(p).map((ph) => ph.schedule)
  const crop: CropConfig = p.crop
  const loss: LossConfig = p.training.loss
  return { coarse: net(p.networks.coarse), fine: net(p.networks.fine), saliency, optimizer, schedules, crop, loss }
}

describe("pipelines and the engine", () => {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith(".yaml"))
  it.each(files)("%s passes the engine's config checks", async (file) => {
    const p = (await Effect.runPromise(loadPipeline(path.join(dir, file), []))).pipeline
    const c = engineConfigs(p)
    expect(() => checkFcn8sConfig(c.coarse)).not.toThrow()
    expect(() => checkFcn8sConfig(c.fine)).not.toThrow()
    if (c.saliency !== null) expect(() => checkSaliencyConfig(c.saliency!)).not.toThrow()
    expect(() => checkOptimizerConfig(c.optimizer)).not.toThrow()
    for (const s of c.schedules) expect(() => checkSchedule(s)).not.toThrow()
  })
})
