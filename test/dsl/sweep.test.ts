/**
 * Sweeps: a `sweep:` section (or `--grid` flags) expands into one resolved pipeline per run, named
 * and placed beside the file's own run, and every problem is reported at its line in the sweep.
 */
import { Effect, Either } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import type { PipelineError } from "../../src/dsl/diagnostic.ts"
import { loadPipeline } from "../../src/dsl/load.ts"
import { loadSweep, type ResolvedSweep } from "../../src/dsl/load-sweep.ts"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rstn-sweep-dsl-"))
const HEAD = "name: s\ndataset:\n  source: { kind: phantom, dir: data }\nrun:\n  dir: runs/s\ntest:\n  stages: [coarse, fuse, { converge-until: { threshold: 0.9, body: [saliency-transform, crop, fine, fuse] } }]\n"

const write = (name: string, text: string): string => {
  const file = path.join(dir, name)
  fs.writeFileSync(file, text)
  return file
}
const load = (file: string, grid: ReadonlyArray<string> = [], sets: ReadonlyArray<string> = []) => Effect.runPromise(Effect.either(loadSweep(file, sets, grid)))
const ok = (r: Either.Either<ResolvedSweep, PipelineError>): ResolvedSweep => {
  if (Either.isLeft(r)) throw new Error(r.left.diagnostics.map((d) => `${d.file}:${d.line}:${d.col}: ${d.message}`).join("\n"))
  return r.right
}
const problems = (r: Either.Either<ResolvedSweep, PipelineError>): string[] =>
  Either.isLeft(r) ? r.left.diagnostics.map((d) => `${path.basename(d.file)}:${d.line}:${d.col}: ${d.message}${d.hint ? ` (${d.hint})` : ""}`) : []

describe("sweeps", async () => {
  it("expands variants times the grid, in order, each run named and placed beside the file's run, sharing the store", async () => {
    const file = write(
      "a.yaml",
      HEAD +
        `sweep:
  variants:
    k1: { saliency.layers: [{ kernel: 1 }] }
    k3: { saliency.layers: [{ kernel: 3 }], seed: 7 }
  grid:
    test.stages[2].converge-until.threshold: [0.95, 0.99]
`
    )
    const s = ok(await load(file))
    expect(s.runs.map((r) => r.pipeline.name)).toEqual(["s-k1-threshold-0.95", "s-k1-threshold-0.99", "s-k3-threshold-0.95", "s-k3-threshold-0.99"])
    expect(s.runs.map((r) => r.pipeline.run.dir)).toEqual(s.runs.map((r) => path.resolve(`runs/s-${r.slug}`)))
    expect(s.runs.every((r) => r.pipeline.run.store === "auto")).toBe(true)
    const [a, , c] = s.runs
    expect(a!.pipeline.saliency!.layers.map((l) => l.kernel)).toEqual([1])
    expect([c!.pipeline.seed, a!.pipeline.seed]).toEqual([7, 0])
    const loop = (r: typeof a) => r!.pipeline.test.stages.find((x) => x.kind === "converge-until") as { threshold: number }
    expect(s.runs.map((r) => loop(r).threshold)).toEqual([0.95, 0.99, 0.95, 0.99])
    expect(a!.describe).toEqual(['saliency.layers=[{"kernel":1}]', "test.stages[2].converge-until.threshold=0.95"])
    // The file alone is one pipeline; rstn run refuses it (run.ts), rstn config and plan see the base.
    expect((await Effect.runPromise(loadPipeline(file, []))).sweep?.variants.map((v) => v.name)).toEqual(["k1", "k3"])
  })

  it("adds --grid axes to the file's, and --set applies to every run after the sweep's values", async () => {
    const file = write("b.yaml", HEAD + "sweep:\n  grid:\n    seed: [1, 2]\n")
    const s = ok(await load(file, ["views=[[X], [X, Y]]"], ["crop.margin=9"]))
    expect(s.runs.map((r) => r.slug)).toEqual(["seed-1-views-v1", "seed-1-views-v2", "seed-2-views-v1", "seed-2-views-v2"])
    expect(s.runs.map((r) => r.pipeline.views.join(""))).toEqual(["X", "XY", "X", "XY"])
    expect(s.runs.every((r) => r.pipeline.crop.margin === 9)).toBe(true)
    // A file without a sweep section sweeps with --grid alone.
    const plain = write("c.yaml", HEAD)
    expect(ok(await load(plain, ["seed=[1,2,3]"])).runs.map((r) => r.pipeline.seed)).toEqual([1, 2, 3])
    expect(problems(await load(plain))).toEqual([`c.yaml:1:1: ${plain} has no sweep: section and no --grid was given: it is one run (rstn run FILE runs it; or add --grid PATH=[a,b])`])
  })

  it("reports a bad sweep at its line and column, every problem at once", async () => {
    const file = write(
      "bad.yaml",
      HEAD +
        `sweep:
  variant:
    x: { seed: 1 }
  grid:
    name: [a, b]
    seed: 3
    crop.margin: [5, 5]
`
    )
    expect(problems(await load(file))).toEqual([
      "bad.yaml:9:3: sweep: unknown key 'variant' (did you mean 'variants'?)",
      "bad.yaml:12:5: sweep: name cannot vary (each run's name and run directory are the file's with the run's values appended)",
      "bad.yaml:13:11: sweep: grid seed: expected a non-empty list of values, got 3 (e.g. seed: [0.95, 0.99])",
      "bad.yaml:14:22: sweep: grid crop.margin lists 5 twice (each value is one run)"
    ])
  })

  it("reports a value wrong for a run at its place in the sweep, once, and an unknown path like set: does", async () => {
    const file = write("vals.yaml", HEAD + "sweep:\n  grid:\n    test.stages[2].converge-until.threshold: [0.9, 1.5]\n    crop.margim: [1]\n")
    const found = problems(await load(file))
    expect(found.some((p) => p.startsWith("vals.yaml:10:52: ") && p.includes("got 1.5"))).toBe(true)
    expect(found.filter((p) => p.includes("1.5"))).toHaveLength(1)
    expect(found.some((p) => p.startsWith("vals.yaml:11:5: ") && p.includes("margim"))).toBe(true)
    // A --grid flag's problem names the flag.
    expect(problems(await load(write("d.yaml", HEAD), ["seed"]))).toEqual(["--grid seed:1:8: expected PATH=VALUE, got 'seed' (e.g. --grid 'test.stages[2].converge-until.threshold=[0.95,0.99]')"])
  })

  it("refuses a sweep in a file that others extend, and too many runs", async () => {
    write("base.yaml", HEAD + "sweep:\n  grid:\n    seed: [1, 2]\n")
    const child = write("child.yaml", "extends: ./base.yaml\nname: child\n")
    expect(problems(await load(child, ["seed=[3]"]))[0]).toMatch(/^base\.yaml:8:1: sweep: a file that others extend cannot sweep/)
    const values = (n: number) => `[${Array.from({ length: n }, (_, i) => i + 1).join(", ")}]`
    const big = write("big.yaml", HEAD + `sweep:\n  grid:\n    seed: ${values(20)}\n    crop.margin: ${values(20)}\n`)
    expect(problems(await load(big))).toEqual(["big.yaml:1:1: the sweep has 400 runs; at most 256 (sweep fewer values, or split it into several files)"])
  })
})
