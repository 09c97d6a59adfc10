import { Deferred, Effect, Either, Fiber, Option, TestClock, TestContext } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { encodeLine, type RunEvent } from "../../src/runtime/events.ts"
import { FileSystem } from "../../src/runtime/file-system.ts"
import { formatStatus, runStatus } from "../../src/runtime/run-status.ts"
import { executeRunIn, type RunOptions } from "../../src/runtime/run.ts"
import { testHeader } from "./fixtures/graphs.ts"
import { listFiles, tempDir } from "./fixtures/temp.ts"
import { build, failing, sum, type TestSpec } from "./fixtures/test-nodes.ts"

const options: RunOptions = { concurrency: 1, onNodeError: "skip", header: testHeader }
const status = (dir: string) => Effect.runPromise(runStatus(dir).pipe(Effect.provide(FileSystem.layer)))
const T0 = Date.UTC(2025, 0, 2, 3, 4, 5)

describe("runStatus", () => {
  it("reports a finished run with its failures, per group and per node", async () => {
    const dir = tempDir()
    const slow: TestSpec = { ...sum("slow", 1), run: (ctx) => Effect.zipRight(TestClock.adjust("90 seconds"), sum("slow", 1).run(ctx)) }
    const graph = build([slow, failing("bad", ["slow"]), sum("after", 1, ["bad"]), sum("other", 1, ["slow"])])
    await Effect.runPromise(
      Effect.zipRight(TestClock.setTime(T0), executeRunIn(dir, graph, options)).pipe(Effect.provide(TestContext.TestContext))
    )
    const report = await status(dir)
    expect(report.state).toBe("failed")
    expect(report.nodes.map((n) => [n.id, n.state])).toEqual([
      ["slow", "done"],
      ["bad", "failed"],
      ["after", "skipped"],
      ["other", "done"]
    ])
    expect(formatStatus(report)).toBe(
      [
        `run ${dir}: failed`,
        "pipeline test (test.yaml), backend cpu, started 2025-01-02T03:04:05Z, ended 2025-01-02T03:05:35Z after 1 min 30 s",
        "training    2 done, 1 skipped (of 3)",
        "rounds      1 failed (of 1)",
        "  failed   fail bad: node bad cannot converge (hint: try more rounds)",
        "  skipped  sum after",
        `to resume: rstn resume ${dir}`
      ].join("\n")
    )
    expect(formatStatus(report, { all: true }).split("\n").slice(4, 8)).toEqual([
      "  done     sum slow (1 min 30 s)",
      "  failed   fail bad: node bad cannot converge (hint: try more rounds)",
      "  skipped  sum after",
      "  done     sum other (0 ms)"
    ])
  })

  it("reports a run in progress: the lock's owner and the running node's iteration", async () => {
    const dir = tempDir()
    const report = await Effect.runPromise(
      Effect.gen(function* () {
        const inside = yield* Deferred.make<void>()
        const release = yield* Deferred.make<void>()
        const waiting: TestSpec = {
          ...sum("waiting", 2),
          run: (ctx) =>
            Effect.gen(function* () {
              yield* ctx.publish({
                _tag: "training-progress", at: 0, key: ctx.key, fold: 0, view: "Z", phase: "J", iteration: 7, iterations: 40,
                losses: { coarse: 1, fine: 1, joint: 1 }, learningRate: 0.1
              })
              yield* Deferred.succeed(inside, undefined)
              yield* Deferred.await(release)
              return { value: 1 }
            })
        }
        const run = yield* Effect.fork(executeRunIn(dir, build([sum("first", 1), waiting, sum("next", 1, ["waiting"])]), options))
        yield* Deferred.await(inside)
        yield* Effect.sleep(50) // the appender writes the progress event
        const report = yield* runStatus(dir).pipe(Effect.provide(FileSystem.layer))
        yield* Deferred.succeed(release, undefined)
        yield* Fiber.join(run)
        return report
      })
    )
    expect(report.state).toBe("running")
    expect(report.lock.pipe(Option.map((l) => l.pid))).toEqual(Option.some(process.pid))
    const text = formatStatus(report).split("\n")
    expect(text[0]).toBe(`run ${dir}: running (process ${process.pid} on ${os.hostname()})`)
    expect(text.slice(2)).toEqual(["training    1 done, 1 running, 1 pending (of 3)", "  running  sum waiting (iteration 7/40)"])
  })

  it("reports a run whose process died, with the nodes that resume from a checkpoint", async () => {
    const dir = tempDir()
    const key = "ab".repeat(32)
    const events: RunEvent[] = [
      {
        _tag: "run-started", at: T0, pipeline: "p", file: "p.yaml", runDir: dir, backend: "wasm", backendReason: "r", pid: 999_999_999,
        nodes: [{ key, id: "train/loop", group: "training", label: "train loop", status: "pending" }], thresholds: [], maxRounds: 1
      },
      { _tag: "node-started", at: T0 + 1, key }
    ]
    fs.writeFileSync(path.join(dir, "events.jsonl"), events.map((e) => `${encodeLine(e)}\n`).join("") + '{"_tag":"trunc')
    fs.mkdirSync(path.join(dir, "nodes", "train", "loop", key.slice(0, 16)), { recursive: true })
    fs.writeFileSync(path.join(dir, "nodes", "train", "loop", key.slice(0, 16), "checkpoint.bin"), "x")
    fs.writeFileSync(path.join(dir, "run.lock"), JSON.stringify({ pid: 999_999_999, hostname: os.hostname(), startedAt: T0 }))
    const before = listFiles(dir).map((f) => [f, fs.statSync(path.join(dir, f)).mtimeMs])

    const report = await status(dir)
    expect(formatStatus(report)).toBe(
      [
        `run ${dir}: stopped without finishing (the process is gone)`,
        "pipeline p (p.yaml), backend wasm, started 2025-01-02T03:04:05Z",
        "training    1 pending (of 1)",
        "  pending  train loop (resumes from its checkpoint)",
        `to resume: rstn resume ${dir}`
      ].join("\n")
    )
    // status only reads
    expect(listFiles(dir).map((f) => [f, fs.statSync(path.join(dir, f)).mtimeMs])).toEqual(before)
  })

  it("says which worker runs which node, and forgets it once the node is done", async () => {
    const dir = tempDir()
    const [a, b, c] = ["a1", "b2", "c3"].map((k) => k.repeat(32))
    const node = (key: string, id: string) => ({ key, id, group: "training" as const, label: `train ${id}`, status: "pending" as const })
    const events: RunEvent[] = [
      {
        _tag: "run-started", at: T0, pipeline: "p", file: "p.yaml", runDir: dir, backend: "wasm", backendReason: "r", pid: process.pid,
        executor: "local, 2 worker processes", nodes: [node(a!, "x"), node(b!, "y"), node(c!, "z")], thresholds: [], maxRounds: 1
      },
      { _tag: "node-started", at: T0 + 1, key: a!, worker: "w1", pid: 4001 },
      { _tag: "node-started", at: T0 + 1, key: b!, worker: "w2", pid: 4002 },
      { _tag: "node-finished", at: T0 + 9, key: a!, status: "done", durationMs: 8 },
      { _tag: "node-started", at: T0 + 9, key: c!, worker: "w1", pid: 4001 }
    ]
    fs.writeFileSync(path.join(dir, "events.jsonl"), events.map((e) => `${encodeLine(e)}\n`).join(""))
    fs.writeFileSync(path.join(dir, "run.lock"), JSON.stringify({ pid: process.pid, hostname: os.hostname(), startedAt: T0 }))
    const report = await status(dir)
    expect(report.nodes.map((n) => [n.id, n.state, n.worker ?? null])).toEqual([
      ["x", "done", null],
      ["y", "running", "w2"],
      ["z", "running", "w1"]
    ])
    expect(formatStatus(report).split("\n").slice(2)).toEqual([
      "executor local, 2 worker processes",
      "training    1 done, 2 running (of 3)",
      "  running  train y (on w2, pid 4002)",
      "  running  train z (on w1, pid 4001)"
    ])
  })

  it("says a run stopped by a signal was stopped, not finished", async () => {
    const dir = tempDir()
    const key = "cd".repeat(32)
    const events: RunEvent[] = [
      {
        _tag: "run-started", at: T0, pipeline: "p", file: "p.yaml", runDir: dir, backend: "wasm", backendReason: "r", pid: 999_999_999,
        nodes: [{ key, id: "train/loop", group: "training", label: "train loop", status: "pending" }], thresholds: [], maxRounds: 1
      },
      { _tag: "node-started", at: T0 + 1, key },
      { _tag: "run-finished", at: T0 + 61_000, status: "interrupted", summary: null, coarse: null, failedCases: [], resumeHint: `rstn resume ${dir}` }
    ]
    fs.writeFileSync(path.join(dir, "events.jsonl"), events.map((e) => `${encodeLine(e)}\n`).join(""))
    const text = formatStatus(await status(dir))
    expect(text.split("\n").slice(0, 2)).toEqual([
      `run ${dir}: interrupted: stopped before finishing (Ctrl-C or SIGTERM)`,
      "pipeline p (p.yaml), backend wasm, started 2025-01-02T03:04:05Z, stopped 2025-01-02T03:05:06Z after 1 min 01 s"
    ])
    expect(text).not.toMatch(/finished/)
    expect(text.match(/to resume: /g)).toHaveLength(1)
  })

  it("fails clearly on a directory that holds no run", async () => {
    const dir = tempDir()
    const r = await Effect.runPromise(Effect.either(runStatus(dir).pipe(Effect.provide(FileSystem.layer))))
    expect(Either.isLeft(r) && [r.left.message, (r.left as { hint?: string }).hint]).toEqual([
      `${dir} is not a run directory: it has no events.jsonl`,
      "give the directory a run was started in (run.dir in the pipeline, or --run-dir)"
    ])
  })
})
