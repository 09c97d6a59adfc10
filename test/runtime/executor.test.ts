import { Effect, Exit, Fiber, Layer, Queue, TestClock, TestContext } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { ArtifactStore } from "../../src/runtime/artifact-store.ts"
import { EventBus } from "../../src/runtime/event-bus.ts"
import { eventsFile, parseEventLog } from "../../src/runtime/event-log.ts"
import type { RunEvent } from "../../src/runtime/events.ts"
import { FileSystem } from "../../src/runtime/file-system.ts"
import { executeRun, executeRunIn, type RunOptions } from "../../src/runtime/run.ts"
import type { StopSignal } from "../../src/runtime/stop-signal.ts"
import { diamond, iterationGraph, testHeader } from "./fixtures/graphs.ts"
import { listFiles, tempDir } from "./fixtures/temp.ts"
import { build, failing, sleeper, sum } from "./fixtures/test-nodes.ts"

const options: RunOptions = { concurrency: 1, onNodeError: "skip", header: testHeader }

const events = (dir: string): RunEvent[] => {
  const log = parseEventLog(fs.readFileSync(eventsFile(dir), "utf8"))
  expect(log.invalidLines).toEqual([])
  return [...log.events]
}

/** Events of the last run in the directory (a resumed run appends to the same file). */
const lastRun = (dir: string): RunEvent[] => {
  const all = events(dir)
  const start = all.map((e) => e._tag).lastIndexOf("run-started")
  return all.slice(start)
}

const labelsWith = (evs: RunEvent[], tag: string, status?: string): string[] => {
  const started = evs.find((e) => e._tag === "run-started")
  const labels = new Map(started?._tag === "run-started" ? started.nodes.map((n) => [n.key, n.id ?? n.label]) : [])
  return evs
    .filter((e) => e._tag === tag && (status === undefined || (e as { status?: string }).status === status))
    .map((e) => labels.get((e as { key: string }).key)!)
}

const value = (dir: string, id: string): number => {
  const m = JSON.parse(fs.readFileSync(path.join(dir, "nodes", id, "node.json"), "utf8"))
  return m.outputs.json.value
}

describe("caching", () => {
  it("runs every node once, then a rerun runs nothing", async () => {
    const dir = tempDir()
    const first = await Effect.runPromise(executeRunIn(dir, diamond(), options))
    expect(first.status).toBe("done")
    expect(labelsWith(lastRun(dir), "node-started")).toEqual(["a", "b", "c", "d", "e"])
    expect(value(dir, "d")).toBe(1 + 10 + (1 + 100) + 1000)
    expect(fs.existsSync(path.join(dir, "run.lock"))).toBe(false)

    const manifestBefore = fs.readFileSync(path.join(dir, "nodes", "d", "node.json"), "utf8")
    const second = await Effect.runPromise(executeRunIn(dir, diamond(), options))
    expect(second.status).toBe("done")
    const run2 = lastRun(dir)
    expect(labelsWith(run2, "node-started")).toEqual([])
    expect(labelsWith(run2, "node-finished", "cached")).toEqual(["a", "b", "c", "e", "d"].sort())
    expect(run2[0]?._tag === "run-started" && run2[0].nodes.every((n) => n.status === "cached")).toBe(true)
    expect(fs.readFileSync(path.join(dir, "nodes", "d", "node.json"), "utf8")).toBe(manifestBefore)
  })

  it("re-runs a node whose config changed and its dependents only, replacing their outputs", async () => {
    const dir = tempDir()
    await Effect.runPromise(executeRunIn(dir, diamond(), options))
    const oldKeyDir = fs.readdirSync(path.join(dir, "nodes", "b")).filter((n) => n !== "node.json")
    await Effect.runPromise(executeRunIn(dir, diamond({ b: 20 }), options))
    const run2 = lastRun(dir)
    expect(labelsWith(run2, "node-started")).toEqual(["b", "d"])
    expect(labelsWith(run2, "node-finished", "cached").sort()).toEqual(["a", "c", "e"])
    expect(value(dir, "b")).toBe(21)
    expect(value(dir, "d")).toBe(21 + 101 + 1000)
    // the superseded key's directory is gone; only the new one and the manifest remain
    const now = fs.readdirSync(path.join(dir, "nodes", "b"))
    expect(now).toHaveLength(2)
    expect(now).not.toContain(oldKeyDir[0])
    expect(fs.readFileSync(path.join(dir, "nodes", "b", now.find((n) => n !== "node.json")!, "value.txt"), "utf8")).toBe("21")
  })

  it("re-runs a cached node whose output file went missing", async () => {
    const dir = tempDir()
    await Effect.runPromise(executeRunIn(dir, diamond(), options))
    const keyDir = fs.readdirSync(path.join(dir, "nodes", "c")).find((n) => n !== "node.json")!
    fs.rmSync(path.join(dir, "nodes", "c", keyDir, "value.txt"))
    await Effect.runPromise(executeRunIn(dir, diamond(), options))
    expect(labelsWith(lastRun(dir), "node-started")).toEqual(["c"])
  })

  it("warns about a damaged manifest and runs the node again", async () => {
    const dir = tempDir()
    await Effect.runPromise(executeRunIn(dir, diamond(), options))
    fs.writeFileSync(path.join(dir, "nodes", "e", "node.json"), "{ not json")
    await Effect.runPromise(executeRunIn(dir, diamond(), options))
    const run2 = lastRun(dir)
    expect(labelsWith(run2, "node-started")).toEqual(["e"])
    const warning = run2.find((e) => e._tag === "warning")
    expect(warning?._tag === "warning" && warning.message).toMatch(/node\.json is not a valid node manifest: .* the node runs again$/)
  })
})

describe("failures", () => {
  const withFailure = (defect = false) =>
    build([sum("a", 1), failing("bad", ["a"], defect), sum("after-bad", 1, ["bad"]), sum("last", 1, ["after-bad"]), sum("other", 2, ["a"])])

  it("on-case-error skip: skips the dependents, finishes the rest, records the failure", async () => {
    const dir = tempDir()
    const result = await Effect.runPromise(executeRunIn(dir, withFailure(), options))
    expect(result.status).toBe("failed")
    expect(result.resumeHint).toBe(`rstn resume ${dir}`)
    expect(Object.fromEntries([...result.outcomes].map(([id, o]) => [id, o._tag]))).toEqual({
      a: "done",
      bad: "failed",
      "after-bad": "skipped",
      last: "skipped",
      other: "done"
    })
    const skipped = result.outcomes.get("last")
    expect(skipped?._tag === "skipped" && skipped.because).toBe("bad")
    const run = lastRun(dir)
    const error = run.find((e) => e._tag === "error")
    expect(error?._tag === "error" && error.message).toBe("node bad cannot converge (hint: try more rounds)")
    expect(labelsWith(run, "node-finished", "skipped")).toEqual(["after-bad", "last"])
    const fin = run.at(-1)
    expect(fin?._tag === "run-finished" && fin.status).toBe("failed")
    const failure = listFiles(path.join(dir, "nodes", "bad"))
    expect(failure).toEqual([expect.stringMatching(/^[0-9a-f]{16}\/failure\.json$/)])
    expect(fs.existsSync(path.join(dir, "nodes", "bad", "node.json"))).toBe(false)
  })

  it("a rerun after the fix runs only the failed node and what it blocked", async () => {
    const dir = tempDir()
    await Effect.runPromise(executeRunIn(dir, withFailure(), options))
    const fixed = build([sum("a", 1), sum("bad", 3, ["a"]), sum("after-bad", 1, ["bad"]), sum("last", 1, ["after-bad"]), sum("other", 2, ["a"])])
    const result = await Effect.runPromise(executeRunIn(dir, fixed, options))
    expect(result.status).toBe("done")
    expect(labelsWith(lastRun(dir), "node-started")).toEqual(["bad", "after-bad", "last"])
    expect(listFiles(path.join(dir, "nodes", "bad")).filter((f) => f.endsWith("failure.json"))).toEqual([])
  })

  it("a partial-inputs node (the evaluation) runs over the inputs that succeeded, and is redone once they all do", async () => {
    const dir = tempDir()
    const report = (deps: string[]) => ({ ...sum("report", 0, deps), partialInputs: true })
    const withBad = build([sum("a", 1), failing("bad", ["a"]), sum("other", 2, ["a"]), report(["bad", "other"])])
    const reportSpec = withBad.byId.get("report")!
    const seen: string[][] = []
    const spying = build([
      sum("a", 1),
      failing("bad", ["a"]),
      sum("other", 2, ["a"]),
      {
        ...reportSpec,
        run: (ctx) => {
          seen.push([...ctx.missingInputs])
          return reportSpec.run(ctx)
        }
      }
    ])
    const first = await Effect.runPromise(executeRunIn(dir, spying, options))
    expect(first.outcomes.get("report")?._tag).toBe("done")
    expect(seen).toEqual([["bad"]])
    expect(value(dir, "report")).toBe(3) // only `other` (1 + 2) counted
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, "nodes", "report", "node.json"), "utf8"))
    expect(manifest.missingInputs).toEqual(["bad"])

    // once the failed input succeeds, the report is not taken from cache but recomputed
    const fixed = build([sum("a", 1), sum("bad", 5, ["a"]), sum("other", 2, ["a"]), report(["bad", "other"])])
    await Effect.runPromise(executeRunIn(dir, fixed, options))
    expect(labelsWith(lastRun(dir), "node-started")).toEqual(["bad", "report"])
    expect(value(dir, "report")).toBe(6 + 3)
    // and then it is cached like any node
    await Effect.runPromise(executeRunIn(dir, fixed, options))
    expect(labelsWith(lastRun(dir), "node-started")).toEqual([])
  })

  it("on-case-error stop: starts nothing after the failure", async () => {
    const dir = tempDir()
    const graph = build([sum("a", 1), failing("bad", ["a"]), sum("later", 1, ["a"]), sum("later2", 1, ["later"])])
    const result = await Effect.runPromise(executeRunIn(dir, graph, { ...options, onNodeError: "stop" }))
    expect(result.status).toBe("failed")
    expect(Object.fromEntries([...result.outcomes].map(([id, o]) => [id, o._tag]))).toEqual({
      a: "done",
      bad: "failed",
      later: "not-run",
      later2: "not-run"
    })
    expect(labelsWith(lastRun(dir), "node-started")).toEqual(["a", "bad"])
  })

  it("a node that throws fails as an internal error without stopping the others", async () => {
    const dir = tempDir()
    const result = await Effect.runPromise(executeRunIn(dir, withFailure(true), options))
    const bad = result.outcomes.get("bad")
    expect(bad?._tag === "failed" && bad.message).toBe("internal error: boom")
    expect(result.outcomes.get("other")?._tag).toBe("done")
  })

  it("a node whose result is not JSON fails, naming the value", async () => {
    const dir = tempDir()
    const graph = build([{ ...sum("nan", 1), run: () => Effect.succeed({ loss: Number.NaN }) }])
    const result = await Effect.runPromise(executeRunIn(dir, graph, options))
    const nan = result.outcomes.get("nan")
    expect(nan?._tag === "failed" && nan.message).toBe("internal error: node nan returned a value that is not JSON at loss: NaN is not a finite number")
  })

  it("a full disk fails the node cleanly and stops the run: no partial file, finished nodes kept, a rerun completes", async () => {
    const dir = tempDir()
    const full = FileSystem.layerFaulty((op, file) => (op === "write" && file.includes(`${path.sep}c${path.sep}`) ? "ENOSPC" : undefined))
    const run = executeRun(diamond(), options).pipe(
      Effect.provide(ArtifactStore.layer(dir)),
      Effect.provide(EventBus.layer),
      Effect.provide(full)
    )
    const result = await Effect.runPromise(run)
    expect(result.status).toBe("failed")
    const c = result.outcomes.get("c")
    expect(c?._tag === "failed" && c.message).toMatch(/^cannot write .*value\.txt: ENOSPC \(hint: the disk is full: free space and resume the run; finished work is kept\)$/)
    expect(listFiles(path.join(dir, "nodes")).filter((f) => f.includes(".tmp"))).toEqual([])
    expect(fs.existsSync(path.join(dir, "nodes", "c", "node.json"))).toBe(false)
    // A full disk is no node's own fault: the run stops there even under on-case-error skip.
    expect(options.onNodeError).toBe("skip")
    expect(labelsWith(lastRun(dir), "node-started")).toEqual(["a", "b", "c"])
    const rerun = await Effect.runPromise(executeRunIn(dir, diamond(), options))
    expect(rerun.status).toBe("done")
    expect(labelsWith(lastRun(dir), "node-started")).toEqual(["c", "d", "e"])
  })
})

describe("concurrency", () => {
  it.each([1, 2, 3])("never runs more than %i nodes at once, and reaches the bound", async (bound) => {
    const dir = tempDir()
    const gauge = { now: 0, max: 0 }
    const graph = build(Array.from({ length: 6 }, (_, i) => sleeper(`s${i}`, 30, gauge)))
    const result = await Effect.runPromise(executeRunIn(dir, graph, { ...options, concurrency: bound }))
    expect(result.status).toBe("done")
    expect(gauge.max).toBe(bound)
  })
})

describe("timing", () => {
  it("takes timestamps and durations from the Clock service", async () => {
    const dir = tempDir()
    const timed = build([
      {
        id: "timed",
        kind: "timed",
        group: "training",
        label: "timed",
        deps: [],
        config: {},
        run: () => Effect.as(TestClock.adjust("5 seconds"), {})
      }
    ])
    await Effect.runPromise(
      Effect.gen(function* () {
        yield* TestClock.setTime(1_000_000)
        return yield* executeRunIn(dir, timed, options)
      }).pipe(Effect.provide(TestContext.TestContext))
    )
    const m = JSON.parse(fs.readFileSync(path.join(dir, "nodes", "timed", "node.json"), "utf8"))
    expect([m.finishedAt, m.durationMs]).toEqual([1_005_000, 5000])
    const fin = lastRun(dir).find((e) => e._tag === "node-finished")
    expect(fin).toEqual({ _tag: "node-finished", at: 1_005_000, key: m.key, status: "done", durationMs: 5000 })
  })
})

describe("interruption", () => {
  /** Runs the iteration graph and requests a stop once the loop reports `at` iterations. */
  const runAndStopAt = (dir: string, at: number) =>
    Effect.gen(function* () {
      const bus = yield* EventBus
      let stop: StopSignal | undefined
      const queue = yield* bus.subscribe
      const watcher = yield* Effect.fork(
        Effect.gen(function* () {
          for (;;) {
            const e = yield* Queue.take(queue)
            if (e._tag === "training-progress" && e.iteration === at) return yield* stop!.request({ _tag: "signal", signal: "SIGINT" })
          }
        })
      )
      const result = yield* executeRun(iterationGraph({ iterations: 200, workMs: 0 }), { ...options, onStopSignal: (s) => void (stop = s) })
      yield* Fiber.interrupt(watcher)
      return result
    }).pipe(
      Effect.scoped,
      Effect.provide(Layer.mergeAll(ArtifactStore.layer(dir), EventBus.layer).pipe(Layer.provideMerge(FileSystem.layer)))
    )

  it("stops at a safe point, leaves no partial file, and a resumed run ends the same", async () => {
    const reference = tempDir()
    const full = await Effect.runPromise(executeRunIn(reference, iterationGraph({ iterations: 200, workMs: 0 }), options))
    const fullLoop = full.outcomes.get("train/loop")
    expect(fullLoop?._tag).toBe("done")

    const dir = tempDir()
    const stopped = await Effect.runPromise(runAndStopAt(dir, 60))
    expect(stopped.status).toBe("interrupted")
    expect(stopped.resumeHint).toBe(`rstn resume ${dir}`)
    expect(stopped.outcomes.get("train/loop")?._tag).toBe("stopped")
    expect(stopped.outcomes.get("report")?._tag).toBe("not-run")
    // no manifest, no output, no temporary: only the checkpoint (saved at the safe point)
    expect(listFiles(path.join(dir, "nodes", "train"))).toEqual([expect.stringMatching(/^loop\/[0-9a-f]{16}\/checkpoint\.bin$/)])
    expect(listFiles(dir).filter((f) => f.includes(".tmp"))).toEqual([])
    expect(fs.existsSync(path.join(dir, "run.lock"))).toBe(false)
    const fin = lastRun(dir).at(-1)
    expect(fin?._tag === "run-finished" && [fin.status, fin.resumeHint]).toEqual(["interrupted", `rstn resume ${dir}`])

    const resumed = await Effect.runPromise(executeRunIn(dir, iterationGraph({ iterations: 200, workMs: 0 }), options))
    expect(resumed.status).toBe("done")
    const loop = resumed.outcomes.get("train/loop")
    if (loop?._tag !== "done" || fullLoop?._tag !== "done") throw new Error("loop not done")
    expect(loop.manifest.outputs.json).toEqual({ acc: fullLoop.manifest.outputs.json.acc, resumedFrom: 60, ran: 140 })
    expect(value(dir, "seed")).toBe(7)
    expect(listFiles(path.join(dir, "nodes", "train")).filter((f) => f.endsWith("checkpoint.bin"))).toEqual([])
    const report = resumed.outcomes.get("report")
    expect(report?._tag === "done" && report.manifest.outputs.json).toEqual({ acc: fullLoop.manifest.outputs.json.acc })
  })

  it("an interrupted executor still writes run-finished and releases the lock", async () => {
    const dir = tempDir()
    const exit = await Effect.runPromiseExit(
      Effect.gen(function* () {
        const fiber = yield* Effect.fork(executeRunIn(dir, build([sleeper("long", 5_000, { now: 0, max: 0 })]), options))
        yield* Effect.sleep(200)
        yield* Fiber.interrupt(fiber)
        return yield* Fiber.await(fiber)
      })
    )
    expect(Exit.isSuccess(exit)).toBe(true)
    expect(fs.existsSync(path.join(dir, "run.lock"))).toBe(false)
    const fin = events(dir).at(-1)
    expect(fin?._tag === "run-finished" && [fin.status, fin.resumeHint]).toEqual(["interrupted", `rstn resume ${dir}`])
  })
})
