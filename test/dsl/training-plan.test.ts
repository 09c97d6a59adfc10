import { Effect } from "effect"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { configSubtree } from "../../src/dsl/config-subtree.ts"
import { loadPipeline } from "../../src/dsl/load.ts"
import { trainingPhases } from "../../src/dsl/training-plan.ts"

const dir = path.resolve(import.meta.dirname, "../../pipelines")
const load = (name: string, set: ReadonlyArray<string> = []) => Effect.runPromise(loadPipeline(path.join(dir, name), set)).then((r) => r.pipeline)

describe("trainingPhases", () => {
  it("spells out the release's S, I, J: lengths, schedules, rates, networks", async () => {
    const phases = trainingPhases(await load("rstn-best.yaml"))
    expect(phases).toEqual([
      { name: "S", cropFrom: "label", saliency: false, length: { unit: "epochs", count: 2 }, schedule: { kind: "constant" }, lr: 1e-5, unroll: null, trains: ["coarse", "fine"] },
      { name: "I", cropFrom: "label", saliency: true, length: { unit: "epochs", count: 6 }, schedule: { kind: "constant" }, lr: 1e-5, unroll: null, trains: ["coarse", "fine"] },
      {
        name: "J",
        cropFrom: "coarse",
        saliency: true,
        length: { unit: "epochs", count: 8 },
        schedule: { kind: "step", every: 2, unit: "epochs", factor: 0.5 },
        lr: 1e-5,
        unroll: null,
        trains: ["coarse", "fine"]
      }
    ])
  })

  it("appends noisy-data fine-tuning as phase noisy, and trains one network per stage-wise phase", async () => {
    const noisy = trainingPhases(await load("noisy-fine-tune.yaml")).at(-1)
    expect(noisy).toEqual({ name: "noisy", cropFrom: "coarse", saliency: true, length: { unit: "iterations", count: 40000 }, schedule: { kind: "constant" }, lr: 1e-6, unroll: null, trains: ["coarse", "fine"] })
    expect(trainingPhases(await load("stage-wise.yaml")).map((p) => [p.name, p.trains, p.saliency])).toEqual([
      ["coarse", ["coarse"], false],
      ["fine", ["fine"], false]
    ])
  })

  it("carries a phase's unroll, with the gradient stopped unless asked", async () => {
    const p = await load("demo.yaml", ["training.phases[2].unroll={ passes: 3 }"])
    expect(trainingPhases(p).map((ph) => ph.unroll)).toEqual([null, null, { passes: 3, gradient: "stop" }])
  })
})

describe("configSubtree", () => {
  it("picks YAML-keyed sub-trees at their paths", async () => {
    const p = await load("demo.yaml")
    expect(configSubtree(p, ["training.optimizer", "networks.coarse.width", "test.stages[2].converge-until.threshold"])).toEqual({
      training: { optimizer: { kind: "adam", lr: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, "weight-decay": 0, multipliers: { "coarse-weights": 1, "coarse-biases": 1, "fine-weights": 1, "fine-biases": 1, "saliency-weights": 1, "saliency-biases": 1 } } },
      networks: { coarse: { width: 0.0625 } },
      test: { stages: { 2: { "converge-until": { threshold: 0.99 } } } }
    })
    expect(() => configSubtree(p, ["training.optimiser"])).toThrow("configSubtree: no training.optimiser in the pipeline")
  })
})
