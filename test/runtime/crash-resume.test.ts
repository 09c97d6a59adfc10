/**
 * A real process running a long node is killed (SIGKILL: no cleanup at all) or interrupted
 * (SIGINT: stop at a safe point); the run resumed in the same directory must end exactly as an
 * uninterrupted run, redoing only the iterations after the last checkpoint.
 */
import { Effect } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { eventsFile, parseEventLog } from "../../src/runtime/event-log.ts"
import { executeRunIn, type RunOptions } from "../../src/runtime/run.ts"
import { iterationGraph, testHeader } from "./fixtures/graphs.ts"
import { listFiles, tempDir } from "./fixtures/temp.ts"

const ITERATIONS = 300
const WORK_MS = 4
const script = fileURLToPath(new URL("./fixtures/run-graph.ts", import.meta.url))
const options: RunOptions = { concurrency: 1, onNodeError: "skip", header: testHeader }
const graph = () => iterationGraph({ iterations: ITERATIONS, workMs: WORK_MS })

const startChild = (dir: string): { child: ChildProcess; exit: Promise<number | null>; stdout: () => string } => {
  const child = spawn(process.execPath, ["--import", "tsx", script, dir, String(ITERATIONS), String(WORK_MS)], {
    stdio: ["ignore", "pipe", "pipe"]
  })
  let out = ""
  child.stdout!.on("data", (d) => (out += String(d)))
  child.stderr!.on("data", (d) => (out += String(d)))
  const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
  return { child, exit, stdout: () => out }
}

const lastIteration = (dir: string): number => {
  if (!fs.existsSync(eventsFile(dir))) return 0
  const events = parseEventLog(fs.readFileSync(eventsFile(dir), "utf8")).events
  return Math.max(0, ...events.flatMap((e) => (e._tag === "training-progress" ? [e.iteration] : [])))
}

const waitForIteration = async (dir: string, at: number, exited: () => boolean): Promise<void> => {
  const deadline = Date.now() + 30_000
  while (lastIteration(dir) < at) {
    if (exited() || Date.now() > deadline) throw new Error(`the child never reached iteration ${at}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

const reference = async () => {
  const result = await Effect.runPromise(executeRunIn(tempDir(), graph(), options))
  const loop = result.outcomes.get("train/loop")
  if (loop?._tag !== "done") throw new Error("reference run failed")
  return loop.manifest.outputs.json.acc
}

const resume = async (dir: string) => {
  const result = await Effect.runPromise(executeRunIn(dir, graph(), options))
  expect(result.status).toBe("done")
  const loop = result.outcomes.get("train/loop")
  if (loop?._tag !== "done") throw new Error("resumed loop not done")
  return loop.manifest.outputs.json as { acc: number; resumedFrom: number; ran: number }
}

describe("crash and resume", () => {
  it("SIGKILL mid-node: the resumed run continues from the last checkpoint and ends identical", async () => {
    const expected = await reference()
    const dir = tempDir()
    let exited = false
    const { child, exit } = startChild(dir)
    void exit.then(() => (exited = true))
    await waitForIteration(dir, 130, () => exited)
    child.kill("SIGKILL")
    await exit
    // the killed process left its lock and no finished loop
    expect(fs.existsSync(path.join(dir, "run.lock"))).toBe(true)
    expect(fs.existsSync(path.join(dir, "nodes", "train", "loop", "node.json"))).toBe(false)
    const killedAt = lastIteration(dir)

    const resumed = await resume(dir)
    expect(resumed.acc).toBe(expected)
    expect(resumed.resumedFrom % 25).toBe(0)
    expect(resumed.resumedFrom).toBeGreaterThanOrEqual(125)
    // the checkpoint is saved just before that iteration's progress line is appended
    expect(resumed.resumedFrom).toBeLessThanOrEqual(killedAt + 1)
    expect(resumed.ran).toBe(ITERATIONS - resumed.resumedFrom)
    expect(listFiles(dir).filter((f) => f.endsWith(".tmp") || f.endsWith("checkpoint.bin"))).toEqual([])
    const events = parseEventLog(fs.readFileSync(eventsFile(dir), "utf8"))
    expect(events.events.filter((e) => e._tag === "run-started")).toHaveLength(2)
  })

  it("SIGINT mid-node: stops at the next safe point, prints how to resume, and the resume redoes nothing", async () => {
    const expected = await reference()
    const dir = tempDir()
    let exited = false
    const { child, exit, stdout } = startChild(dir)
    void exit.then(() => (exited = true))
    await waitForIteration(dir, 100, () => exited)
    child.kill("SIGINT")
    expect(await exit).toBe(130)
    expect(stdout()).toContain("SIGINT: stopping at the next safe point (send it again to stop at once)")
    expect(stdout()).toContain(`stopped iterate train/loop at a safe point; it resumes from its last checkpoint`)
    expect(stdout()).toMatch(new RegExp(`run interrupted\\nto resume: rstn resume ${dir.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\n$`))
    expect(fs.existsSync(path.join(dir, "run.lock"))).toBe(false)
    expect(listFiles(dir).filter((f) => f.endsWith(".tmp"))).toEqual([])
    const stoppedAt = lastIteration(dir)
    const last = parseEventLog(fs.readFileSync(eventsFile(dir), "utf8")).events.at(-1)
    expect(last?._tag === "run-finished" && last.status).toBe("interrupted")

    const resumed = await resume(dir)
    expect(resumed).toEqual({ acc: expected, resumedFrom: stoppedAt, ran: ITERATIONS - stoppedAt })
  })
})
