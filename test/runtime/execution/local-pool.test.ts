/**
 * Local workers stopped from outside the run: a worker that gets SIGTERM (a user's `kill`, a
 * supervisor) stops its node at a safe point with a checkpoint. The run did not ask for that stop,
 * so it must not end as done: it ends interrupted, and `rstn resume` goes on from the checkpoint.
 */
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { loadPipeline } from "../../../src/dsl/load.ts"
import type { RunEvent } from "../../../src/runtime/events.ts"
import { runPipeline } from "../../../src/runtime/run-pipeline.ts"
import { checkpointOf, runSegments, waitFor } from "../pipeline/child-run.ts"
import { tinyPipeline } from "../pipeline/tiny.ts"

const root = fs.mkdtempSync(path.join(os.tmpdir(), "rstn-local-pool-"))
const tiny = tinyPipeline(path.join(root, "phantom"))

describe("local workers", () => {
  afterAll(() => {
    for (const dir of [root, tiny.dir]) fs.rmSync(dir, { recursive: true, force: true })
  })

  it("a worker stopped from outside leaves the run interrupted, its checkpoint kept", async () => {
    const dir = path.join(root, "run")
    const all = ["run.executor={kind: local, workers: 2}", "training.phases[0].iterations=400", `run.dir=${dir}`]
    const { pipeline } = await Effect.runPromise(loadPipeline(tiny.file, all))
    const running = Effect.runPromise(runPipeline({ file: tiny.file, overrides: all, pipeline, out: () => {} }))
    const progress = await waitFor(
      "phase S training in a worker",
      () => runSegments(dir).at(-1)?.find((e): e is Extract<RunEvent, { _tag: "training-progress" }> => e._tag === "training-progress" && e.phase === "S"),
      { timeoutMs: 120_000 }
    )
    const started = runSegments(dir).at(-1)!.find((e) => e._tag === "node-started" && e.key === progress.key)
    if (started?._tag !== "node-started" || started.pid === undefined) throw new Error("a worker's node-started event names its pid")
    process.kill(started.pid, "SIGTERM")
    expect(await running).toBe(130)
    expect(checkpointOf(dir, "train/fold-0/Z/S", progress.key)).toBeDefined()
  }, 300_000)
})
