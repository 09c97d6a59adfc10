/**
 * The Slurm executor's own logic where no cluster is installed: with `Slurm.Test` (each job a
 * local `sh -c` of its --wrap command), a small pipeline submits one job per node with the
 * executor's resources, the job runs `rstn node-run` on the run directory, and the results equal
 * a run in one process. The real cluster is tested in test/runtime/pipeline/slurm.test.ts.
 */
import { Effect, Layer } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { loadPipeline } from "../../../src/dsl/load.ts"
import { makeFake, Slurm } from "../../../src/runtime/execution/slurm-client.ts"
import { resourcesFor, sbatchResourceArgs } from "../../../src/runtime/execution/slurm.ts"
import type { RunEvent } from "../../../src/runtime/events.ts"
import { runPipeline } from "../../../src/runtime/run-pipeline.ts"
import { checkpointOf, resultText, runSegments, waitFor } from "../pipeline/child-run.ts"
import { tinyPipeline } from "../pipeline/tiny.ts"

const root = fs.mkdtempSync(path.join(os.tmpdir(), "rstn-slurm-standin-"))
const tiny = tinyPipeline(path.join(root, "phantom"))

const run = async (runDir: string, overrides: string[], slurm?: Layer.Layer<Slurm>) => {
  const all = [...overrides, `run.dir=${runDir}`]
  const { pipeline } = await Effect.runPromise(loadPipeline(tiny.file, all))
  return Effect.runPromise(runPipeline({ file: tiny.file, overrides: all, pipeline, out: () => {}, ...(slurm ? { slurm } : {}) }))
}

describe("the Slurm executor against a stand-in cluster", () => {
  beforeAll(async () => {
    expect(await run(path.join(root, "local"), [])).toBe(0)
  }, 180_000)

  afterAll(() => {
    for (const dir of [root, tiny.dir]) fs.rmSync(dir, { recursive: true, force: true })
  })

  it("submits each node as a job with its resources and gets the local results", async () => {
    const fake = makeFake()
    const dir = path.join(root, "slurm")
    const executor = "run.executor={kind: slurm, partition: cpu, time: '1:00:00', per-kind: {train: {gres: 'gpu:1', cpus-per-task: 2, sbatch-args: [--qos=long]}}}"
    expect(await run(dir, [executor], Layer.succeed(Slurm, fake))).toBe(0)
    const [segment] = runSegments(dir)
    const start = segment![0]!
    if (start._tag !== "run-started") throw new Error("a segment starts with run-started")
    expect(fake.submitted).toHaveLength(start.nodes.length)
    const train = fake.submitted.find((args) => args.includes("--job-name=rstn:train/fold-0/Z/S"))!
    expect(train).toEqual(expect.arrayContaining(["--partition=cpu", "--time=1:00:00", "--gres=gpu:1", "--cpus-per-task=2", "--qos=long", `--chdir=${dir}`]))
    // A job's wasm threads are the CPUs it asked for.
    expect(train.find((a) => a.startsWith("--wrap="))).toMatch(/^--wrap=exec .*bin\/rstn\.js node-run .* train\/fold-0\/Z\/S --key [0-9a-f]{64} --backend auto --threads 2$/)
    const coarse = fake.submitted.find((args) => args.some((a) => a.startsWith("--job-name=rstn:coarse/")))!
    expect(coarse.some((a) => a.startsWith("--gres="))).toBe(false)
    expect(coarse.find((a) => a.startsWith("--wrap="))).toMatch(/ --threads 1$/)
    for (const name of ["summary.json", "cases.json"]) expect(resultText(dir, name), name).toBe(resultText(path.join(root, "local"), name))
    // The job files are gone once the nodes are committed.
    expect(fs.readdirSync(path.join(dir, "nodes", "report"), { recursive: true }).filter((f) => String(f).includes("job"))).toEqual([])
  }, 300_000)

  it("a job stopped by a cancel from outside the run fails its node and keeps its checkpoint", async () => {
    const fake = makeFake()
    const dir = path.join(root, "cancelled")
    // Phase S long enough to be cancelled in the middle of it.
    const running = run(dir, ["run.executor={kind: slurm}", "training.phases[0].iterations=400"], Layer.succeed(Slurm, fake))
    const progress = await waitFor(
      "phase S training in its job",
      () => runSegments(dir).at(-1)?.find((e): e is Extract<RunEvent, { _tag: "training-progress" }> => e._tag === "training-progress" && e.phase === "S"),
      { timeoutMs: 120_000 }
    )
    // A user's scancel: SIGTERM to the job, which this driver did not ask for.
    const jobId = String(1001 + fake.submitted.findIndex((args) => args.includes("--job-name=rstn:train/fold-0/Z/S")))
    await Effect.runPromise(fake.cancel([jobId]))
    expect(await running).toBe(1)
    const segment = runSegments(dir).at(-1)!
    const error = segment.find((e): e is Extract<RunEvent, { _tag: "error" }> => e._tag === "error" && e.key === progress.key)
    expect(error?.message).toMatch(new RegExp(`^Slurm job ${jobId} ended \\(FAILED, exit code 130:0\\) and stopped train fold 0 view Z phase S at a safe point`))
    expect(error?.jobId).toBe(jobId)
    expect(error?.log).toBe(path.join(dir, "logs", `slurm-train_fold-0_Z_S-${jobId}.log`))
    // Nothing trained is lost: `rstn resume` goes on from the checkpoint the job saved as it stopped.
    expect(checkpointOf(dir, "train/fold-0/Z/S", progress.key)).toBeDefined()
  }, 300_000)

  it("merges per-kind resources over the executor's, adding sbatch arguments", () => {
    const e = { kind: "slurm" as const, mem: "4G", time: "1:00:00", sbatchArgs: ["--account=lab"], perKind: { test: { mem: "8G", sbatchArgs: ["--qos=short"] } } }
    expect(sbatchResourceArgs(resourcesFor(e, "test"))).toEqual(["--time=1:00:00", "--mem=8G", "--account=lab", "--qos=short"])
    expect(sbatchResourceArgs(resourcesFor(e, "train"))).toEqual(["--time=1:00:00", "--mem=4G", "--account=lab"])
  })
})
