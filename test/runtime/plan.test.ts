import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { ArtifactStore } from "../../src/runtime/artifact-store.ts"
import { FileSystem } from "../../src/runtime/file-system.ts"
import type { Graph } from "../../src/runtime/graph.ts"
import { explainPlan, formatPlan } from "../../src/runtime/plan.ts"
import { executeRunIn, type RunOptions } from "../../src/runtime/run.ts"
import { diamond, iterationGraph, testHeader } from "./fixtures/graphs.ts"
import { tempDir } from "./fixtures/temp.ts"
import { build, failing, sum } from "./fixtures/test-nodes.ts"

const options: RunOptions = { concurrency: 1, onNodeError: "skip", header: testHeader }

const plan = <E, R>(dir: string, graph: Graph<E, R>) =>
  Effect.runPromise(
    explainPlan(graph).pipe(
      Effect.map((entries) => formatPlan(entries, "runs/x")),
      Effect.provide(ArtifactStore.layer(dir)),
      Effect.provide(FileSystem.layer)
    )
  )

/** A node reading a nested configuration, as the pipeline compiler builds them. */
const nested = (lr: number, stages: unknown[]) =>
  build([
    sum("a", 1),
    { ...sum("train", 0, ["a"]), config: { training: { optimizer: { kind: "adam", lr } }, test: { stages } } }
  ])

describe("explainPlan", () => {
  it("says not yet run for a fresh directory, and runs nothing", async () => {
    const dir = tempDir()
    expect(await plan(dir, diamond())).toBe(
      [
        "plan for runs/x: 5 nodes: 0 cached, 5 not yet run, 0 will re-run",
        "not yet run  sum a",
        "not yet run  sum b",
        "not yet run  sum c",
        "not yet run  sum d",
        "not yet run  sum e"
      ].join("\n")
    )
    expect(fs.readdirSync(dir)).toEqual([])
  })

  it("says cached after a run", async () => {
    const dir = tempDir()
    await Effect.runPromise(executeRunIn(dir, diamond(), options))
    expect(await plan(dir, diamond())).toBe(
      [
        "plan for runs/x: 5 nodes: 5 cached, 0 not yet run, 0 will re-run (nothing to do)",
        "cached       sum a",
        "cached       sum b",
        "cached       sum c",
        "cached       sum d",
        "cached       sum e"
      ].join("\n")
    )
  })

  it("names the changed configuration key with old and new values, and the changed inputs", async () => {
    const dir = tempDir()
    await Effect.runPromise(executeRunIn(dir, diamond(), options))
    expect(await plan(dir, diamond({ a: 2, c: 50 }))).toBe(
      [
        "plan for runs/x: 5 nodes: 1 cached, 0 not yet run, 4 will re-run",
        "will re-run  sum a because add: 1 → 2",
        "will re-run  sum b because input a changed",
        "will re-run  sum c because add: 100 → 50; input a changed",
        "will re-run  sum d because input b changed; input c changed",
        "cached       sum e"
      ].join("\n")
    )
  })

  it("gives full key paths into nested configuration, lists and added or removed keys", async () => {
    const dir = tempDir()
    await Effect.runPromise(executeRunIn(dir, nested(0.001, [{ coarse: { weights: "J" } }, { fuse: { threshold: 0.5 } }]), options))
    const text = await plan(dir, nested(0.0005, [{ coarse: { weights: "J" } }, { fuse: { threshold: 0.5, components: "largest" } }, "extra"]))
    expect(text.split("\n")[2]).toBe(
      'will re-run  sum train because test.stages[1].fuse.components: (absent) → "largest", test.stages[2]: (absent) → "extra", training.optimizer.lr: 0.001 → 0.0005'
    )
  })

  it("reports changed dependencies, a missing output, and a past failure", async () => {
    const dir = tempDir()
    await Effect.runPromise(executeRunIn(dir, build([sum("a", 1), sum("b", 2), sum("c", 3, ["a"]), failing("f")]), options))
    const keyDir = fs.readdirSync(path.join(dir, "nodes", "b")).find((n) => n !== "node.json")!
    fs.rmSync(path.join(dir, "nodes", "b", keyDir, "value.txt"))
    expect(await plan(dir, build([sum("a", 1), sum("b", 2), sum("c", 3, ["b"]), failing("f")]))).toBe(
      [
        "plan for runs/x: 4 nodes: 1 cached, 1 not yet run, 2 will re-run",
        "cached       sum a",
        "will re-run  sum b because its output value.txt is missing",
        "will re-run  sum c because now reads b and no longer reads a",
        "not yet run  fail f (failed last time: node f cannot converge (hint: try more rounds))"
      ].join("\n")
    )
  })

  it("names a new engine version as the reason to re-run the nodes that run engine code, and only them", async () => {
    const dir = tempDir()
    // Engine version 1 on the node that computes; its dependent hashes no engine but reads its key.
    const withEngine = (engine: number) => build([{ ...sum("a", 1), engine }, sum("b", 10, ["a"]), sum("e", 5)])
    await Effect.runPromise(executeRunIn(dir, withEngine(1), options))
    expect(await plan(dir, withEngine(1))).toMatch(/^plan for runs\/x: 3 nodes: 3 cached/)
    expect(await plan(dir, withEngine(2))).toBe(
      [
        "plan for runs/x: 3 nodes: 1 cached, 0 not yet run, 2 will re-run",
        "will re-run  sum a because the engine changed (version 1 → 2): rstn's numerics differ from those that made its results",
        "will re-run  sum b because input a changed",
        "cached       sum e"
      ].join("\n")
    )
    // A manifest written before engines were versioned.
    expect((await plan(dir, build([sum("a", 1), sum("b", 10, ["a"]), sum("e", 5)]))).split("\n")[1]).toBe(
      "will re-run  sum a because the engine changed (version 1 → none): rstn's numerics differ from those that made its results"
    )
  })

  it("says when a node will resume from a checkpoint", async () => {
    const dir = tempDir()
    const graph = iterationGraph({ iterations: 50, workMs: 0, checkpointEvery: 10 })
    const loop = graph.byId.get("train/loop")!
    const keyDir = path.join(dir, "nodes", "train", "loop", loop.key.slice(0, 16))
    fs.mkdirSync(keyDir, { recursive: true })
    fs.writeFileSync(path.join(keyDir, "checkpoint.bin"), "{}")
    expect((await plan(dir, graph)).split("\n")[2]).toBe("not yet run  iterate train/loop (resumes from its checkpoint)")
  })
})
