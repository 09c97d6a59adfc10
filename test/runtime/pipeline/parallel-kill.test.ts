/**
 * Issue 11's "Done when" for the local executor: a run with two worker processes, its driver
 * killed with kill -9 at several points — two training nodes in the middle of their phases, a
 * node just committed while others run, the coarse-to-fine test under way — and resumed each
 * time, ends with the summary.json and cases.json of a run in one process, to the bit apart from
 * timings. After every kill no worker is left (they notice their driver is gone and exit), and no
 * node that had finished is ever started again.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { RunEvent } from "../../../src/runtime/events.ts"
import { finishedKeys, resultText, runRstn, runSegments, startRstn, waitFor } from "./child-run.ts"
import { longTiny } from "./long-tiny.ts"

const root = fs.mkdtempSync(path.join(os.tmpdir(), "rstn-parallel-kill-"))
const pipeline = longTiny(path.join(root, "phantom"))
// Two views: two chains of training nodes that can run at once.
const VIEWS = ["--set", "views=[Y,Z]"]
const reference = path.join(root, "reference")

/** Worker processes of a segment, from its node-started events. */
const workerPids = (segment: ReadonlyArray<RunEvent>): number[] => [
  ...new Set(segment.flatMap((e) => (e._tag === "node-started" && e.pid !== undefined ? [e.pid] : [])))
]

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Every worker process the directory's runs ever started, from /proc: none may outlive its driver. */
const workersOf = (dir: string): number[] =>
  fs
    .readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return fs.readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0").join(" ").includes(`node-run ${dir} --serve`)
      } catch {
        return false
      }
    })
    .map(Number)

/** Keys of nodes that were running (started, not finished) at the end of a segment. */
const runningAtEnd = (segment: ReadonlyArray<RunEvent>): Set<string> => {
  const running = new Set<string>()
  for (const e of segment) {
    if (e._tag === "node-started") running.add(e.key)
    if (e._tag === "node-finished") running.delete(e.key)
  }
  return running
}

const kill9 = async (child: ReturnType<typeof startRstn>, dir: string) => {
  child.process.kill("SIGKILL")
  expect((await child.exited).signal).toBe("SIGKILL")
  const pids = workerPids(runSegments(dir).at(-1)!)
  expect(pids.length, "the run used worker processes").toBeGreaterThan(0)
  // Each worker notices its closed IPC channel at its next safe point and exits.
  await waitFor("every worker to exit after its driver was killed", () => (pids.some(alive) || workersOf(dir).length > 0 ? undefined : true), {
    timeoutMs: 30_000
  })
}

describe("kill -9 of a driver with two workers, at several points, then rstn resume", () => {
  beforeAll(async () => {
    const r = await runRstn(["run", pipeline.file, "--no-tui", "--run-dir", reference, ...VIEWS])
    expect(r.code, r.output).toBe(0)
  }, 180_000)

  afterAll(() => {
    for (const dir of [root, pipeline.dir]) fs.rmSync(dir, { recursive: true, force: true })
  })

  it("ends identical to a run in one process, with no orphan and no node run twice", async () => {
    const dir = path.join(root, "parallel")
    // The n-th run's own events: until a resumed driver writes its run-started, the last segment
    // is still the killed run's, which may already show what the next step waits for.
    const segment = (n: number) => runSegments(dir)[n] ?? []

    // 1. Two training nodes at once, each past its first checkpoint.
    let child = startRstn(["run", pipeline.file, "--no-tui", "--run-dir", dir, ...VIEWS, "--set", "run.executor.workers=2"])
    await waitFor(
      "two training nodes running at once, past their first iterations",
      () => {
        const s = segment(0)
        const running = runningAtEnd(s)
        const progressed = new Set(s.flatMap((e) => (e._tag === "training-progress" && e.iteration >= 2 && running.has(e.key) ? [e.key] : [])))
        return progressed.size >= 2 ? true : undefined
      },
      { child, timeoutMs: 120_000 }
    )
    await kill9(child, dir)

    // 2. Resumed: killed just after a node was committed while another one runs.
    child = startRstn(["resume", dir, "--no-tui"])
    await waitFor(
      "a node finished while another runs",
      () => {
        const s = segment(1)
        return s.some((e) => e._tag === "node-finished" && e.status === "done") && runningAtEnd(s).size > 0 ? true : undefined
      },
      { child, timeoutMs: 120_000 }
    )
    await kill9(child, dir)

    // 3. Resumed: killed in the coarse-to-fine test.
    child = startRstn(["resume", dir, "--no-tui"])
    await waitFor("a test case's first fine round", () => (segment(2).some((e) => e._tag === "round-finished" && e.round >= 1) ? true : undefined), {
      child,
      timeoutMs: 180_000
    })
    await kill9(child, dir)

    // 4. Resumed to the end.
    const last = await runRstn(["resume", dir, "--no-tui"])
    expect(last.code, last.output).toBe(0)
    expect(workersOf(dir)).toEqual([])

    const segments = runSegments(dir)
    expect(segments).toHaveLength(4)
    // Parallel for real: some moment had two nodes running on different workers.
    expect(segments.some((s) => new Set(s.flatMap((e) => (e._tag === "node-started" && e.worker !== undefined ? [e.worker] : []))).size >= 2)).toBe(true)
    // No node that had finished in an earlier segment started again, and none finished twice.
    const finished = new Set<string>()
    for (const s of segments) {
      const restarted = s.filter((e) => e._tag === "node-started" && finished.has(e.key)).map((e) => (e as { key: string }).key)
      expect(restarted).toEqual([])
      for (const k of finishedKeys(s)) finished.add(k)
    }
    const done = segments.flat().flatMap((e) => (e._tag === "node-finished" && e.status === "done" ? [e.key] : []))
    expect(done.length).toBe(new Set(done).size)
    for (const name of ["summary.json", "cases.json"]) expect(resultText(dir, name), name).toBe(resultText(reference, name))
  }, 600_000)

  it("Ctrl-C in a terminal (SIGINT to the whole process group) stops both workers at a safe point; the resume ends identical", async () => {
    const dir = path.join(root, "sigint")
    const child = startRstn(["run", pipeline.file, "--no-tui", "--run-dir", dir, ...VIEWS, "--set", "run.executor.workers=2"], { detached: true })
    // Phase J's nodes (24 iterations): an S or I node (6) past its first checkpoint may finish
    // before the signal reaches its safe point, and then has nothing to stop.
    await waitFor(
      "two phase-J training nodes past their first checkpoint",
      () => {
        const s = runSegments(dir).at(-1) ?? []
        const start = s[0]
        const phaseJ = new Set(start?._tag === "run-started" ? start.nodes.filter((n) => n.id?.endsWith("/J")).map((n) => n.key) : [])
        const running = runningAtEnd(s)
        const progressed = new Set(
          s.flatMap((e) => (e._tag === "training-progress" && e.iteration >= 2 && running.has(e.key) && phaseJ.has(e.key) ? [e.key] : []))
        )
        return progressed.size >= 2 ? true : undefined
      },
      { child, timeoutMs: 120_000 }
    )
    const pids = workerPids(runSegments(dir).at(-1)!)
    process.kill(-child.process.pid!, "SIGINT")
    const { code } = await child.exited
    expect(code, child.output()).toBe(130)
    expect(pids.filter(alive)).toEqual([])
    const [first] = runSegments(dir)
    expect(first!.filter((e) => e._tag === "log" && e.message.startsWith("stopped train")).length).toBeGreaterThanOrEqual(2)
    expect(first!.at(-1)?._tag === "run-finished" && first!.at(-1)).toMatchObject({ status: "interrupted" })
    expect(fs.existsSync(path.join(dir, "run.lock"))).toBe(false)
    const resumed = await runRstn(["resume", dir, "--no-tui"])
    expect(resumed.code, resumed.output).toBe(0)
    const [, second] = runSegments(dir)
    expect([...finishedKeys(first!)].filter((k) => second!.some((e) => e._tag === "node-started" && e.key === k))).toEqual([])
    for (const name of ["summary.json", "cases.json"]) expect(resultText(dir, name), name).toBe(resultText(reference, name))
  }, 600_000)

  it("a worker killed from outside fails its node naming the worker's log; the run goes on, and a resume completes it", async () => {
    const dir = path.join(root, "worker-killed")
    const child = startRstn(["run", pipeline.file, "--no-tui", "--run-dir", dir, ...VIEWS, "--set", "run.executor.workers=2"])
    const victim = await waitFor(
      "a training node running on a worker",
      () =>
        (runSegments(dir).at(-1) ?? []).find(
          (e): e is Extract<RunEvent, { _tag: "node-started" }> => e._tag === "node-started" && e.pid !== undefined && e.worker !== undefined
        ),
      { child, timeoutMs: 120_000 }
    )
    process.kill(victim.pid!, "SIGKILL")
    const { code } = await child.exited
    expect(code, child.output()).toBe(1)
    const [segment] = runSegments(dir)
    const error = segment!.find((e): e is Extract<RunEvent, { _tag: "error" }> => e._tag === "error" && e.key === victim.key)
    expect(error?.message).toMatch(new RegExp(`^worker ${victim.worker} \\(pid ${victim.pid}\\) was killed by SIGKILL while running train fold 0 view [YZ] phase S`))
    expect(error?.log).toBe(path.join(dir, "logs", `worker-${victim.worker}.log`))
    // The other view's chain went on without it.
    expect(segment!.some((e) => e._tag === "node-finished" && e.status === "done" && e.key !== victim.key)).toBe(true)
    expect(workersOf(dir)).toEqual([])
    const resumed = await runRstn(["resume", dir, "--no-tui"])
    expect(resumed.code, resumed.output).toBe(0)
    for (const name of ["summary.json", "cases.json"]) expect(resultText(dir, name), name).toBe(resultText(reference, name))
  }, 600_000)
})
