/**
 * `rstn status RUN_DIR` on a pipeline run that another process is running, and after that process
 * was killed: it reads the directory without disturbing the run and tells which nodes are done,
 * which one runs (at which iteration), which are pending, and how to resume a dead run.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it, onTestFinished } from "vitest"
import { checkpointOf, finishedKeys, keyOf, runRstn, runSegments, startRstn, waitFor } from "./child-run.ts"
import { J_ITERATIONS, longTiny } from "./long-tiny.ts"

const TRAIN_J = "train/fold-0/Z/J"

interface StatusJson {
  state: string
  lock: { pid: number } | null
  nodes: Array<{ id: string; key: string; label: string; state: string; resumable: boolean; progress?: { iteration: number; iterations: number } }>
}

describe("rstn status on a pipeline run", () => {
  it("shows a run in progress (done, running at iteration N, pending) and, once its process is killed, how to resume it", async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "rstn-status-"))
    const pipeline = longTiny(path.join(root, "phantom"))
    onTestFinished(() => {
      for (const dir of [root, pipeline.dir]) fs.rmSync(dir, { recursive: true, force: true })
    })
    const dir = pipeline.runDir
    const child = startRstn(["run", pipeline.file, "--no-tui"])
    try {
      await waitFor(
        "phase J's first checkpoint",
        () => {
          const segment = runSegments(dir).at(-1)
          const progressed = segment?.some((e) => e._tag === "training-progress" && e.phase === "J" && e.iteration >= 2)
          return progressed === true && checkpointOf(dir, TRAIN_J, keyOf(segment!, TRAIN_J)) !== undefined ? true : undefined
        },
        { child, timeoutMs: 90_000 }
      )
      // Freeze the run (it keeps its lock and its process) so what status sees is known exactly.
      child.process.kill("SIGSTOP")
      const segment = runSegments(dir).at(-1)!
      const status = await runRstn(["status", dir, "--json"])
      expect(status.code, status.output).toBe(0)
      const report = JSON.parse(status.output) as StatusJson
      expect(report.state).toBe("running")
      expect(report.lock?.pid).toBe(child.process.pid)
      const done = finishedKeys(segment)
      expect(report.nodes.filter((n) => n.state === "done").map((n) => n.id)).toEqual(["train/fold-0/Z/S", "train/fold-0/Z/I"])
      expect(report.nodes.filter((n) => n.state === "running").map((n) => n.id)).toEqual([TRAIN_J])
      expect(report.nodes.filter((n) => n.state === "pending").length).toBe(report.nodes.length - 3)
      for (const n of report.nodes) expect(n.state === "done", n.label).toBe(done.has(n.key))
      const j = report.nodes.find((n) => n.id === TRAIN_J)!
      const progress = segment.filter((e) => e._tag === "training-progress" && e.phase === "J").at(-1)
      expect(j.progress).toEqual({ iteration: progress?._tag === "training-progress" ? progress.iteration : -1, iterations: J_ITERATIONS })
      expect(j.resumable).toBe(true)

      const text = await runRstn(["status", dir])
      expect(text.output).toContain(`run ${dir}: running (process ${child.process.pid} on ${os.hostname()})`)
      expect(text.output).toMatch(/^training +2 done, 1 running \(of 3\)$/m)
      expect(text.output).toMatch(new RegExp(`^ {2}running +train fold 0 view Z phase J \\(iteration ${j.progress!.iteration}/${J_ITERATIONS}, resumes from its checkpoint\\)$`, "m"))
    } finally {
      child.process.kill("SIGKILL")
      await child.exited
    }

    // Killed: no run-finished, no live owner. Status says so, what resumes from a checkpoint, and how.
    const dead = await runRstn(["status", dir])
    expect(dead.code, dead.output).toBe(0)
    expect(dead.output).toContain(`run ${dir}: stopped without finishing (the process is gone)`)
    expect(dead.output).toMatch(/^training +2 done, 1 pending \(of 3\)$/m)
    expect(dead.output).toMatch(/^ {2}pending +train fold 0 view Z phase J \(resumes from its checkpoint\)$/m)
    expect(dead.output).toContain(`to resume: rstn resume ${dir}`)
  }, 120_000)
})
