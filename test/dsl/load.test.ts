/**
 * Loading and resolving: extends chains, set blocks and --set in order, provenance of every
 * value, paths resolved against the declaring file, `weights: last` and `{name}` made explicit.
 */
import { Effect, Either } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { PipelineError } from "../../src/dsl/diagnostic.ts"
import { loadPipeline, resolvePipelineText, type ResolvedPipeline } from "../../src/dsl/load.ts"

const cwd = "/work/somewhere"
const HEAD = "name: t\ndataset:\n  source: { kind: phantom, dir: data }\n"
const ok = (r: Either.Either<ResolvedPipeline, PipelineError>): ResolvedPipeline => {
  if (Either.isLeft(r)) throw new Error(r.left.diagnostics.map((d) => `${d.file}:${d.line}:${d.col}: ${d.message}`).join("\n"))
  return r.right
}

describe("resolvePipelineText", () => {
  it("applies extends (a chain), then each file's set block, then --set flags, in that order", () => {
    const r = ok(
      resolvePipelineText({
        cwd,
        file: "variants/c.yaml",
        text: "extends: ./b.yaml\nname: c\nseed: 3\nset:\n  training.batch-size: 3\n",
        files: {
          "variants/b.yaml": "extends: ../base/a.yaml\nseed: 2\ntraining: { batch-size: 2 }\nset:\n  crop.margin: 7\n",
          "base/a.yaml": HEAD + "seed: 1\ncrop: { margin: 5, threshold: 0.4 }\n"
        },
        overrides: ["seed=4", "crop.margin=9"]
      })
    )
    expect(r.files).toEqual(["variants/c.yaml", "variants/b.yaml", "base/a.yaml"])
    expect([r.pipeline.seed, r.pipeline.training.batchSize, r.pipeline.crop.margin, r.pipeline.crop.threshold]).toEqual([4, 3, 9, 0.4])
    expect(r.origin(["seed"])).toEqual({ file: "--set seed=4", line: 1, col: 12 })
    expect(r.origin(["training", "batch-size"])).toEqual({ file: "variants/c.yaml", line: 5, col: 24 })
    expect(r.origin(["crop", "threshold"])).toEqual({ file: "base/a.yaml", line: 5, col: 31 })
    expect(r.origin(["dataset", "source", "kind"])).toEqual({ file: "base/a.yaml", line: 3, col: 19 })
    expect(r.origin(["crop", "jitter"])).toBeUndefined()
  })

  it("resolves input paths against the file that wrote them, and the run directory against the current directory", () => {
    const r = ok(
      resolvePipelineText({
        cwd,
        file: "exp/v.yaml",
        text: "extends: ../lib/base.yaml\nname: v\nnetworks: { pretrained: { file: w/fcn.ckpt } }\n",
        files: { "lib/base.yaml": "name: b\ndataset:\n  source: { kind: decathlon, root: ../data/Task07 }\nrun:\n  dir: out/{name}-x\n" },
        overrides: ["dataset.source.root=/abs/data"]
      })
    )
    expect(r.pipeline.dataset.source).toEqual({ kind: "decathlon", root: "/abs/data" })
    expect(r.pipeline.networks.pretrained?.file).toBe("/work/somewhere/exp/w/fcn.ckpt")
    expect(r.pipeline.run.dir).toBe("/work/somewhere/out/v-x")
    const fromBase = ok(resolvePipelineText({ cwd, file: "exp/v.yaml", text: "extends: ../lib/base.yaml\nname: v\n", files: { "lib/base.yaml": "name: b\ndataset:\n  source: { kind: decathlon, root: ../data/Task07 }\n" } }))
    expect(fromBase.pipeline.dataset.source).toEqual({ kind: "decathlon", root: "/work/somewhere/data/Task07" })
    expect(fromBase.pipeline.run.dir).toBe("/work/somewhere/runs/v")
  })

  it("gives a pairs dataset the directory of the file that lists the pairs as its base", () => {
    const r = ok(resolvePipelineText({ cwd, file: "d/p.yaml", text: "name: p\ndataset:\n  folds: 2\n  source:\n    kind: pairs\n    pairs:\n      - { image: i/a.nii.gz, label: l/a.nii.gz }\n      - { image: i/b.nii.gz, label: l/b.nii.gz, id: b }\n" }))
    expect(r.pipeline.dataset.source).toEqual({
      kind: "pairs",
      base: "/work/somewhere/d",
      pairs: [
        { image: "i/a.nii.gz", label: "l/a.nii.gz" },
        { image: "i/b.nii.gz", label: "l/b.nii.gz", id: "b" }
      ]
    })
  })

  it("turns weights: last into the last phase that trains each network", () => {
    const joint = ok(resolvePipelineText({ cwd, file: "p.yaml", text: HEAD + "training: { noisy-fine-tune: { iterations: 10 } }\ntest: { stages: [coarse, fuse, { converge-until: { body: [saliency-transform, crop, fine, fuse] } }] }\n" }))
    expect(joint.pipeline.test.stages[0]).toEqual({ kind: "coarse", weights: "noisy" })
    const stageWise = ok(
      resolvePipelineText({
        cwd,
        file: "p.yaml",
        text: HEAD + "saliency: null\ntraining:\n  mode: stage-wise\n  phases: [{ name: fine, epochs: 1 }, { name: coarse, epochs: 1 }]\ntest: { stages: [coarse, fuse, { converge-until: { body: [crop, fine, fuse] } }] }\n"
      })
    )
    const loop = stageWise.pipeline.test.stages[2]!
    expect(stageWise.pipeline.test.stages[0]).toEqual({ kind: "coarse", weights: "coarse" })
    expect(loop.kind === "converge-until" && loop.body[1]).toEqual({ kind: "fine", weights: "fine" })
  })

  it("reads a bare stage name, and a stage name with nothing after it, as all defaults", () => {
    const r = ok(resolvePipelineText({ cwd, file: "p.yaml", text: HEAD + "test:\n  stages:\n    - coarse:\n    - fuse\n" }))
    expect(r.pipeline.test.stages).toEqual([
      { kind: "coarse", weights: "J" },
      { kind: "fuse", threshold: 0.5, components: "largest" }
    ])
  })

  it("fails with a PipelineError whose message summarises the problems", () => {
    const r = resolvePipelineText({ cwd, file: "p.yaml", text: HEAD + "seed: x\nviews: [Q]\n" })
    expect(Either.isLeft(r)).toBe(true)
    if (Either.isLeft(r)) {
      expect(r.left).toBeInstanceOf(PipelineError)
      expect(r.left.diagnostics.map((d) => d.code)).toEqual(["type", "type"])
      expect(r.left.message).toBe('p.yaml: 2 problems; first: p.yaml:4:7: seed: expected a non-negative integer, got "x"')
    }
  })
})

describe("loadPipeline (files)", () => {
  let dir = ""
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "rstn-load-"))
  })
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))
  const problems = async (file: string) =>
    Either.match(await Effect.runPromise(Effect.either(loadPipeline(file, []))), {
      onLeft: (e) => e.diagnostics.map((d) => `${path.relative(dir, d.file)}:${d.line}:${d.col}: ${d.message}`),
      onRight: () => []
    })

  it("reads a file and the files it extends", async () => {
    fs.writeFileSync(path.join(dir, "base.yaml"), HEAD)
    fs.writeFileSync(path.join(dir, "v.yaml"), "extends: base.yaml\nname: v\n")
    const r = await Effect.runPromise(loadPipeline(path.join(dir, "v.yaml"), ["seed=5"]))
    expect([r.pipeline.name, r.pipeline.seed, r.pipeline.dataset.source]).toEqual(["v", 5, { kind: "phantom", dir: path.join(dir, "data"), cases: 12, size: "small", seed: 0 }])
  })

  it("reports a missing file, a directory, and a file over the size limit without reading it", async () => {
    expect(await problems(path.join(dir, "none.yaml"))).toEqual(["none.yaml:1:1: cannot read " + path.join(dir, "none.yaml") + ": no such file"])
    fs.mkdirSync(path.join(dir, "d.yaml"))
    expect(await problems(path.join(dir, "d.yaml"))).toEqual(["d.yaml:1:1: cannot read " + path.join(dir, "d.yaml") + ": it is a directory"])
    fs.writeFileSync(path.join(dir, "big.yaml"), Buffer.alloc(2 * 1024 * 1024, 0x23))
    fs.writeFileSync(path.join(dir, "uses-big.yaml"), "extends: ./big.yaml\nname: u\n")
    expect(await problems(path.join(dir, "big.yaml"))).toEqual(["big.yaml:1:1: the file is 2097152 bytes; the limit is 1048576 (1 MiB)"])
    expect(await problems(path.join(dir, "uses-big.yaml"))).toEqual([`uses-big.yaml:1:10: ${path.join(dir, "big.yaml")} is 2097152 bytes; the limit is 1048576 (1 MiB)`])
  })
})
