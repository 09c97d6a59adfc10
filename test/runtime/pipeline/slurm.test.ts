/**
 * The Slurm executor on a real cluster (`.ci/slurm-up` starts a one-node one; without Slurm these
 * tests are skipped with a notice, and under CI=true they are required): a small pipeline run as
 * one batch job per node gives the summary.json and cases.json of a local run; a driver killed
 * with kill -9 leaves its jobs running, and `rstn resume` follows them instead of submitting the
 * nodes again; a job cancelled from outside fails its node, naming the job and its log in the
 * error event and in summary.md.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { RunEvent } from "../../../src/runtime/events.ts"
import { requireTool, SLURM, toolRuns } from "../../support/external-tool.ts"
import { finishedKeys, resultText, runRstn, runSegments, startRstn, waitFor } from "./child-run.ts"
import { tinyPipeline } from "./tiny.ts"

const root = fs.mkdtempSync(path.join(os.tmpdir(), "rstn-slurm-"))
const pipeline = tinyPipeline(path.join(root, "phantom"))
const reference = path.join(root, "local")
const SLURM_EXECUTOR = ["--set", "run.executor={kind: slurm, cpus-per-task: 1, time: '10:00'}"]

/** Jobs Slurm holds whose comment names this run directory. */
const jobsOf = (dir: string): string[] => {
  const r = spawnSync("squeue", ["-h", "-o", "%i|%k"], { encoding: "utf8" })
  return r.stdout
    .split("\n")
    .filter((l) => l.endsWith(`|${dir}`))
    .map((l) => l.split("|")[0]!)
}

const jobStarts = (segment: ReadonlyArray<RunEvent>) =>
  segment.flatMap((e) => (e._tag === "node-started" && e.jobId !== undefined ? [{ key: e.key, jobId: e.jobId }] : []))

describe.runIf(toolRuns(SLURM))("the Slurm executor on a one-node cluster", () => {
  beforeAll(async () => {
    requireTool(SLURM)
    const r = await runRstn(["run", pipeline.file, "--no-tui", "--run-dir", reference])
    expect(r.code, r.output).toBe(0)
  }, 180_000)

  afterAll(() => {
    for (const dir of [root, pipeline.dir]) fs.rmSync(dir, { recursive: true, force: true })
  })

  it("runs every node as a batch job and gives the local executor's results", async () => {
    const dir = path.join(root, "slurm")
    const r = await runRstn(["run", pipeline.file, "--no-tui", "--run-dir", dir, ...SLURM_EXECUTOR])
    expect(r.code, r.output).toBe(0)
    const [segment] = runSegments(dir)
    const started = segment!.filter((e) => e._tag === "node-started")
    expect(started.length).toBeGreaterThan(0)
    expect(started.every((e) => e._tag === "node-started" && e.worker === "slurm" && e.jobId !== undefined)).toBe(true)
    // Each job's output is in the run's logs, and no job of the run is left on the cluster.
    for (const { jobId } of jobStarts(segment!)) expect(fs.readdirSync(path.join(dir, "logs")).some((f) => f.endsWith(`-${jobId}.log`))).toBe(true)
    expect(jobsOf(dir)).toEqual([])
    for (const name of ["summary.json", "cases.json"]) expect(resultText(dir, name), name).toBe(resultText(reference, name))
  }, 300_000)

  it("after kill -9 of the driver, rstn resume follows the jobs still running instead of submitting them again", async () => {
    const dir = path.join(root, "adopt")
    const child = startRstn(["run", pipeline.file, "--no-tui", "--run-dir", dir, ...SLURM_EXECUTOR])
    const running = await waitFor(
      "a training job running",
      () => {
        const segment = runSegments(dir).at(-1) ?? []
        return segment.find((e): e is Extract<RunEvent, { _tag: "node-started" }> => e._tag === "node-started" && e.jobId !== undefined && !finishedKeys(segment).has(e.key))
      },
      { child, timeoutMs: 120_000 }
    )
    child.process.kill("SIGKILL")
    await child.exited
    const resumed = await runRstn(["resume", dir, "--no-tui"])
    expect(resumed.code, resumed.output).toBe(0)
    const [, second] = runSegments(dir)
    // The job the dead driver submitted finished the node: it was followed (or its result taken), never submitted again.
    expect(resumed.output).toMatch(new RegExp(`(following Slurm job ${running.jobId} of a previous driver|taking the result of Slurm job ${running.jobId})`))
    expect(jobStarts(second!).filter((s) => s.key === running.key).map((s) => s.jobId)).toEqual([running.jobId])
    expect(jobsOf(dir)).toEqual([])
    for (const name of ["summary.json", "cases.json"]) expect(resultText(dir, name), name).toBe(resultText(reference, name))
  }, 300_000)

  it("a job cancelled from outside fails its node, naming the job id and its log in the error event and summary.md", async () => {
    const dir = path.join(root, "cancelled")
    // Medium-sized phantoms (192x192x96): a coarse node then runs for seconds, not the small
    // cases' one or two, so the cancel below lands while its job runs.
    const medium = ["--set", `dataset.source.dir=${path.join(root, "phantom-medium")}`, "--set", "dataset.source.size=medium"]
    const child = startRstn(["run", pipeline.file, "--no-tui", "--run-dir", dir, ...medium, ...SLURM_EXECUTOR])
    // The first coarse node's job, once Slurm runs it: cancelling it fails one case's test. Asked
    // of Slurm itself (job name rstn:<node id>, comment rstn|<key>|<run dir>): events.jsonl can
    // tell of a start late enough that the job has finished before the cancel.
    const job = await waitFor(
      "a coarse node's job, running",
      () => {
        const r = spawnSync("squeue", ["-h", "-o", "%i|%T|%j|%k"], { encoding: "utf8" })
        const line = r.stdout.split("\n").find((l) => l.includes("|RUNNING|rstn:coarse/") && l.endsWith(`|${dir}`))
        if (line === undefined) return undefined
        const [jobId, , , , key] = line.split("|")
        return { jobId: jobId!, key: key! }
      },
      { child, timeoutMs: 180_000 }
    )
    // What a user or an admin does: Slurm's own cancel (SIGTERM, then SIGKILL after KillWait).
    const cancel = spawnSync("scancel", [job.jobId], { encoding: "utf8" })
    expect(cancel.status, `scancel ${job.jobId}: ${cancel.stderr}`).toBe(0)
    const { code } = await child.exited
    expect(code, child.output()).toBe(1)
    const [segment] = runSegments(dir)
    const error = segment!.find((e): e is Extract<RunEvent, { _tag: "error" }> => e._tag === "error" && e.key === job.key)
    expect(error).toBeDefined()
    expect(error!.jobId).toBe(job.jobId)
    expect(error!.log).toMatch(new RegExp(`logs/slurm-coarse_.*-${job.jobId}\\.log$`))
    expect(fs.existsSync(error!.log!)).toBe(true)
    const summary = fs.readFileSync(path.join(dir, "summary.md"), "utf8")
    expect(summary).toContain("## Failed nodes")
    expect(summary).toContain(`Slurm job ${job.jobId}, log ${error!.log}`)
    expect(jobsOf(dir)).toEqual([])
  }, 300_000)
})
