/**
 * The shipped pipelines/: every file is valid, means what its comment says (the paper's and the
 * release's values), and each variant differs from the best model exactly where its Table 1 row
 * (or oracle, or baseline) says.
 */
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { loadPipeline, type ResolvedPipeline } from "../../src/dsl/load.ts"
import { loadSweep } from "../../src/dsl/load-sweep.ts"
import type { Pipeline } from "../../src/dsl/pipeline.ts"

const dir = path.resolve(import.meta.dirname, "../../pipelines")
const load = (name: string): Promise<ResolvedPipeline> => Effect.runPromise(loadPipeline(path.join(dir, name), []))

/** The pipeline minus the keys a variant is expected to change, for "nothing else changed". */
const without = (p: Pipeline, ...paths: ReadonlyArray<string>): unknown => {
  const copy = structuredClone(p) as unknown as Record<string, unknown>
  for (const dotted of paths) {
    const keys = dotted.split(".")
    let o = copy
    for (const k of keys.slice(0, -1)) o = o[k] as Record<string, unknown>
    delete o[keys[keys.length - 1]!]
  }
  return copy
}

describe("pipelines/", () => {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith(".yaml"))

  it("holds the best model, each Table 1 row, the baseline, the oracles, the mixed test, NIH Pancreas-CT and the demo", () => {
    expect(files.sort()).toEqual(
      [
        "demo.yaml",
        "demo-stage-wise.yaml",
        "kernel-1x1.yaml",
        "kernel-3x3.yaml",
        "kernel-5x5.yaml",
        "mixed-ic-jf.yaml",
        "nih-pancreas.yaml",
        "noisy-fine-tune.yaml",
        "oracle-strong.yaml",
        "oracle-weak.yaml",
        "rstn-best.yaml",
        "stage-wise.yaml",
        "table1.sweep.yaml",
        "two-layer.yaml"
      ].sort()
    )
  })

  it.each(files)("%s is valid and has its own name and run directory", async (file) => {
    const r = await load(file)
    expect(r.pipeline.name).toBe(file.replace(/(\.sweep)?\.yaml$/, ""))
    expect(r.pipeline.run.dir).toBe(path.resolve(`runs/${r.pipeline.name}`))
  })

  it("rstn-best has the paper's and the release's settings", async () => {
    const p = (await load("rstn-best.yaml")).pipeline
    expect(p.networks.coarse).toEqual({ arch: "fcn8s", width: 1, blocks: 5, norm: "none", dropout: 0.5, learnUpsampling: false })
    expect(p.networks.fine).toEqual(p.networks.coarse)
    expect(p.saliency).toEqual({
      layers: [
        { kernel: 3, activation: "relu", init: { weights: "xavier-normal", bias: 1 } },
        { kernel: 5, activation: "none", init: { weights: "zeros", bias: [1.0, 1.5, 2.0] } }
      ]
    })
    expect(p.dataset.folds).toBe(4)
    expect(p.dataset.window).toEqual([-100, 240])
    expect(p.crop).toEqual({ threshold: 0.5, margin: 20, jitter: { probability: 0.5, max: 40 } })
    expect(p.training.loss.lambda).toBeCloseTo(1 / 3, 12)
    expect(p.training.optimizer).toEqual({
      kind: "sgd",
      lr: 1e-5,
      momentum: 0.99,
      weightDecay: 5e-4,
      multipliers: { "coarse-weights": 1, "coarse-biases": 2, "fine-weights": 10, "fine-biases": 20, "saliency-weights": 10, "saliency-biases": 20 }
    })
    expect(p.training.phases.map((ph) => [ph.name, ph.cropFrom, ph.saliency, ph.epochs])).toEqual([
      ["S", "label", false, 2],
      ["I", "label", true, 6],
      ["J", "coarse", true, 8]
    ])
    expect(p.training.phases[2]!.schedule).toEqual({ kind: "step", every: 2, unit: "epochs", factor: 0.5 })
    const loop = p.test.stages[2]!
    expect(loop.kind === "converge-until" && [loop.threshold, loop.maxRounds]).toEqual([0.99, 10])
  })

  it("rstn-best spells out exactly the defaults, so a pipeline of name and dataset is the best model", async () => {
    const best = (await load("rstn-best.yaml")).pipeline
    const { resolvePipelineText } = await import("../../src/dsl/load.ts")
    const minimal = resolvePipelineText({
      file: path.join(dir, "minimal.yaml"),
      text: "name: rstn-best\nseed: 42\ndataset:\n  source: { kind: decathlon, root: ../data/Task07_Pancreas }\n  foreground: [1, 2]\n"
    })
    expect(minimal._tag).toBe("Right")
    if (minimal._tag === "Right") expect(minimal.right.pipeline).toEqual(best)
  })

  it("nih-pancreas is the best model on NIH Pancreas-CT's DICOM layout, pancreas label 1", async () => {
    const best = (await load("rstn-best.yaml")).pipeline
    const p = (await load("nih-pancreas.yaml")).pipeline
    expect(p.dataset.source).toEqual({ kind: "nih-pancreas", images: path.resolve(dir, "../data/Pancreas-CT"), labels: path.resolve(dir, "../data/Pancreas-CT-labels") })
    expect(p.dataset.foreground).toEqual([1])
    expect(without(p, "name", "run.dir", "dataset.source", "dataset.foreground")).toEqual(without(best, "name", "run.dir", "dataset.source", "dataset.foreground"))
  })

  it.each([
    ["kernel-1x1.yaml", 1],
    ["kernel-3x3.yaml", 3],
    ["kernel-5x5.yaml", 5]
  ])("%s changes only the saliency transform, to one layer of kernel size %i", async (file, k) => {
    const best = (await load("rstn-best.yaml")).pipeline
    const p = (await load(file)).pipeline
    expect(p.saliency).toEqual({ layers: [{ kernel: k, activation: "none", init: { weights: "xavier-normal", bias: 1 } }] })
    expect(without(p, "name", "run.dir", "saliency")).toEqual(without(best, "name", "run.dir", "saliency"))
  })

  it("two-layer stacks two 3x3 layers; noisy-fine-tune adds 40,000 iterations at 1e-6 and tests with them", async () => {
    const two = (await load("two-layer.yaml")).pipeline
    expect(two.saliency?.layers.map((l) => [l.kernel, l.activation])).toEqual([
      [3, "relu"],
      [3, "none"]
    ])
    const noisy = await load("noisy-fine-tune.yaml")
    expect(noisy.files.map((f) => path.basename(f))).toEqual(["noisy-fine-tune.yaml", "two-layer.yaml", "rstn-best.yaml"])
    const p = noisy.pipeline
    expect(p.training.noisyFineTune).toEqual({ iterations: 40000, lr: 1e-6 })
    expect(p.saliency).toEqual(two.saliency)
    const loop = p.test.stages[2]!
    expect(p.test.stages[0]).toEqual({ kind: "coarse", weights: "noisy" })
    expect(loop.kind === "converge-until" && loop.body[2]).toEqual({ kind: "fine", weights: "noisy" })
    expect(without(p, "name", "run.dir", "training.noisyFineTune", "test")).toEqual(without(two, "name", "run.dir", "training.noisyFineTune", "test"))
  })

  it("stage-wise trains coarse and fine separately without saliency and stops at t = 0.95", async () => {
    const p = (await load("stage-wise.yaml")).pipeline
    expect(p.saliency).toBeNull()
    expect(p.training.mode).toBe("stage-wise")
    expect(p.training.phases.map((ph) => ph.name)).toEqual(["coarse", "fine"])
    expect(p.test.stages).toEqual([
      { kind: "coarse", weights: "coarse" },
      { kind: "fuse", threshold: 0.5, components: "largest" },
      {
        kind: "converge-until",
        threshold: 0.95,
        maxRounds: 10,
        body: [
          { kind: "crop", by: "previous-mask", margin: 20 },
          { kind: "fine", weights: "fine" },
          { kind: "fuse", threshold: 0.5, components: "largest" }
        ]
      }
    ])
  })

  it("the oracles and the mixed test change only the test and the oracle mode", async () => {
    const best = (await load("rstn-best.yaml")).pipeline
    const strong = (await load("oracle-strong.yaml")).pipeline
    expect(strong.evaluation.oracle).toBe("strong")
    expect(strong.test.stages.map((s) => s.kind)).toEqual(["saliency-transform", "crop", "fine", "fuse"])
    expect(strong.test.stages[0]).toEqual({ kind: "saliency-transform", from: "oracle" })
    expect(strong.test.stages[1]).toEqual({ kind: "crop", by: "oracle-box", margin: 20 })

    const weak = (await load("oracle-weak.yaml")).pipeline
    expect(weak.evaluation.oracle).toBe("weak")
    const loop = weak.test.stages[2]!
    expect(loop.kind === "converge-until" && loop.body[1]).toEqual({ kind: "crop", by: "oracle-box", margin: 20 })
    expect(without(weak, "name", "run.dir", "evaluation.oracle", "test")).toEqual(without(best, "name", "run.dir", "evaluation.oracle", "test"))

    const mixed = (await load("mixed-ic-jf.yaml")).pipeline
    expect(mixed.test.stages[0]).toEqual({ kind: "coarse", weights: "I" })
    const mixedLoop = mixed.test.stages[2]!
    expect(mixedLoop.kind === "converge-until" && mixedLoop.body[2]).toEqual({ kind: "fine", weights: "J" })
    expect(without(mixed, "name", "run.dir", "test")).toEqual(without(best, "name", "run.dir", "test"))
  })

  it("demo is CPU-sized: phantom data, 1/16 width with batch norm, Adam, iterations, fold 0 of 3", async () => {
    const p = (await load("demo.yaml")).pipeline
    expect(p.dataset.source).toEqual({ kind: "phantom", dir: path.resolve(dir, "../data/phantom-demo"), cases: 36, size: "small", seed: 7 })
    expect([p.dataset.folds, p.dataset.fold]).toEqual([3, [0]])
    expect(p.networks.coarse).toMatchObject({ width: 0.0625, norm: "batch" })
    expect(p.training.optimizer.kind).toBe("adam")
    for (const ph of p.training.phases) {
      expect(ph.epochs).toBeUndefined()
      expect(ph.iterations).toBeLessThanOrEqual(1000)
    }
  })

  it("demo trains with the release's phase shares, phase J unrolled, and tests with the paper's loop damped, keeping the release's components (issue 9)", async () => {
    const demo = (await load("demo.yaml")).pipeline
    // rstn-reference.md, "Training": S:I:J = 2:6:8
    expect(demo.training.phases.map((ph) => ph.iterations)).toEqual([200, 600, 800])
    expect(demo.training.phases[2]).toEqual(expect.objectContaining({ name: "J", unroll: expect.objectContaining({ passes: 2 }) }))
    const loop = demo.test.stages[2]!
    expect(loop.kind === "converge-until" && [loop.threshold, loop.maxRounds]).toEqual([0.99, 20])
    expect(loop.kind === "converge-until" && loop.body).toEqual([
      expect.objectContaining({ kind: "saliency-transform", from: "previous" }),
      expect.objectContaining({ kind: "crop", by: "previous-mask", align: "stride" }),
      expect.objectContaining({ kind: "fine" }),
      expect.objectContaining({ kind: "fuse", momentum: 0.5, components: "half-of-largest" })
    ])
    expect(demo.test.stages[1]).toEqual(expect.objectContaining({ kind: "fuse", components: "half-of-largest" }))
    // the three views train at once, one worker per core (README, "What `npm start` does")
    expect(demo.run.executor).toEqual({ kind: "local", workers: "auto" })
  })

  it("demo-stage-wise is the baseline on the demo's data and networks, trained for the demo's training time", async () => {
    const demo = (await load("demo.yaml")).pipeline
    const sw = (await load("demo-stage-wise.yaml")).pipeline
    expect(sw.training.mode).toBe("stage-wise")
    expect(sw.saliency).toBeNull()
    expect([sw.dataset, sw.networks, sw.views]).toEqual([demo.dataset, demo.networks, demo.views])
    // 2,100 iterations per network took as long as the demo's 1,600 with phase J unrolled (README,
    // "What makes the rounds converge"): 1,600 + 800 would count J's second pass as a whole step
    expect(sw.training.phases.map((ph) => [ph.name, ph.iterations])).toEqual([["coarse", 2100], ["fine", 2100]])
    // fused masks filtered as the demo's are, so the comparison is of the methods
    const rules = (p: Pipeline) => JSON.stringify(p.test.stages).match(/"components":"[\w-]+"/g)
    expect(rules(sw)).toEqual(rules(demo))
  })

  it("table1.sweep runs each Table 1 row on the demo: the demo with the saliency, noisy phase and test weights of the row's own file", async () => {
    const demo = (await load("demo.yaml")).pipeline
    const sweep = await Effect.runPromise(loadSweep(path.join(dir, "table1.sweep.yaml"), []))
    const rows = ["kernel-1x1", "kernel-3x3", "kernel-5x5", "two-layer", "noisy-fine-tune"]
    expect(sweep.runs.map((r) => r.slug)).toEqual(rows)
    for (const [i, row] of rows.entries()) {
      const run = sweep.runs[i]!.pipeline
      const paper = (await load(`${row}.yaml`)).pipeline
      expect([run.name, run.run.dir, run.run.store]).toEqual([`table1-${row}`, path.resolve(`runs/table1-${row}`), "auto"])
      expect(run.saliency).toEqual(paper.saliency)
      const changed = ["name", "run", "saliency", "training.noisyFineTune", "test"]
      expect(without(run, ...changed)).toEqual(without(demo, ...changed))
      const weights = (p: Pipeline) => JSON.stringify(p.test.stages).match(/"weights":"\w+"/g)
      expect(weights(run)).toEqual(weights(paper))
      expect(run.training.noisyFineTune === null).toBe(paper.training.noisyFineTune === null)
    }
    expect(sweep.runs[4]!.pipeline.training.noisyFineTune).toEqual({ iterations: 300, lr: 1e-4 })
  })
})
