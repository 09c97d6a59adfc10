/**
 * Faults and bad input met while a pipeline runs (issue 5 §8): each failure names the case and the
 * file, the run skips the case or stops as `run.on-case-error` says, nothing finished is lost, the
 * summary lists the failed cases, and once the fault is repaired a rerun completes.
 */
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { loadPipeline } from "../../../src/dsl/load.ts"
import { createRstn } from "../../../src/ops/nets/rstn.ts"
import { encodeCheckpoint } from "../../../src/ops/train/checkpoint.ts"
import { weightsCheckpoint } from "../../../src/ops/train/trainer.ts"
import type { RunEvent } from "../../../src/runtime/events.ts"
import { FileSystem } from "../../../src/runtime/file-system.ts"
import { rstnConfig } from "../../../src/runtime/pipeline-engine.ts"
import { runPipeline } from "../../../src/runtime/run-pipeline.ts"
import { formatStatus, runStatus } from "../../../src/runtime/run-status.ts"
import { filesMatching, keyOf, resultText, runSegments, startedKeys } from "./child-run.ts"
import { growCase, image, label, makeScenario, resumeInProcess, runInProcess, type Scenario, writeImageWithVoxel, writeTinyPhantoms } from "./fault-fixture.ts"

const root = fs.mkdtempSync(path.join(os.tmpdir(), "rstn-faults-"))
const baseData = path.join(root, "data")
let base: Scenario

type ErrorEvent = Extract<RunEvent, { _tag: "error" }>
type WarningEvent = Extract<RunEvent, { _tag: "warning" }>
type RunFinished = Extract<RunEvent, { _tag: "run-finished" }>

const lastSegment = (s: Scenario): RunEvent[] => runSegments(s.runDir).at(-1)!
const errorsOf = (segment: ReadonlyArray<RunEvent>) => segment.filter((e): e is ErrorEvent => e._tag === "error")
const warningsOf = (segment: ReadonlyArray<RunEvent>) => segment.filter((e): e is WarningEvent => e._tag === "warning")
const finishedOf = (segment: ReadonlyArray<RunEvent>) => segment.at(-1) as RunFinished

/** Labels of the nodes a run segment started. */
const startedLabels = (segment: ReadonlyArray<RunEvent>): string[] => {
  const start = segment[0] as Extract<RunEvent, { _tag: "run-started" }>
  const labels = new Map(start.nodes.map((n) => [n.key, n.label]))
  return [...startedKeys(segment)].map((k) => labels.get(k)!)
}

const summaryOf = (s: Scenario) => JSON.parse(fs.readFileSync(path.join(s.runDir, "summary.json"), "utf8")) as { cases: number; failedCases: string[] }

/** The run went on past the failed case, and every place that summarises the run lists it. */
const expectFailedCases = (s: Scenario, output: string, failed: ReadonlyArray<string>) => {
  const end = finishedOf(lastSegment(s))
  expect(end.status).toBe("failed")
  expect(end.failedCases).toEqual(failed)
  expect(summaryOf(s).failedCases).toEqual(failed)
  expect(fs.readFileSync(path.join(s.runDir, "summary.md"), "utf8")).toContain(`${failed.length} failed (${failed.join(", ")})`)
  expect(output).toContain(`failed cases: ${failed.join(", ")}`)
}

const restore = (s: Scenario, file: string) => fs.cpSync(path.join(baseData, path.relative(s.data, file)), file, { preserveTimestamps: true })

const sameResultsAsBase = (s: Scenario) => {
  for (const name of ["summary.json", "cases.json"]) expect(resultText(s.runDir, name), name).toBe(resultText(base.runDir, name))
}

const TRAINING = ["train fold 0 view Z phase S", "train fold 0 view Z phase I", "train fold 0 view Z phase J"]

describe("faults while a pipeline runs", () => {
  beforeAll(async () => {
    await writeTinyPhantoms(baseData)
    base = makeScenario(root, "base", baseData)
    const r = await runInProcess(base.file)
    expect(r.code, r.output).toBe(0)
    expect(summaryOf(base).failedCases).toEqual([])
  }, 120_000)

  afterAll(() => fs.rmSync(root, { recursive: true, force: true }))

  it("a case file deleted between runs fails that case alone; its work is reused once the file is back", async () => {
    const s = makeScenario(root, "deleted", baseData, { training: base.runDir })
    expect((await runInProcess(s.file)).code).toBe(0)
    // The copied training nodes were found finished: the data copy has the base run's fingerprints.
    expect(startedLabels(lastSegment(s)).filter((l) => l.startsWith("train"))).toEqual([])

    const aside = path.join(s.dir, "case_001.aside.nii.gz")
    fs.renameSync(image(s.data, "case_001"), aside)
    const r = await runInProcess(s.file)
    expect(r.code).toBe(1)
    const [error] = errorsOf(lastSegment(s))
    expect(error).toMatchObject({ caseId: "case_001", file: image(s.data, "case_001") })
    expect(error!.message).toContain(`case case_001: ${image(s.data, "case_001")}: is missing`)
    expectFailedCases(s, r.output, ["case_001"])
    expect(startedLabels(lastSegment(s))).not.toContain("test case_000")

    fs.renameSync(aside, image(s.data, "case_001")) // back, unchanged
    const again = await runInProcess(s.file)
    expect(again.code).toBe(0)
    // case_001's finished nodes were kept through the failure: only the evaluation runs again.
    expect(startedLabels(lastSegment(s))).toEqual(["evaluate fold 0", "report"])
    sameResultsAsBase(s)
  }, 60_000)

  it("a dataset with none of its files is a wrong path, refused before any work", async () => {
    const s = makeScenario(root, "wrong-path", baseData)
    fs.rmSync(s.data, { recursive: true })
    const { pipeline } = await Effect.runPromise(loadPipeline(s.file, []))
    const failure = await Effect.runPromise(Effect.flip(runPipeline({ file: s.file, overrides: [], pipeline, out: () => {} })))
    expect(failure).toMatchObject({ _tag: "DatasetError", file: image(s.data, "case_000"), key: "pairs[0].image" })
    expect(failure.message).toContain("(and 7 more listed files)")
    expect(fs.existsSync(s.runDir)).toBe(false)
  })

  it("a case file deleted mid-run fails that case with its file named; repaired, resuming completes", async () => {
    const s = makeScenario(root, "deleted-mid-run", baseData, { training: base.runDir })
    const r = await runInProcess(s.file, {
      // Nodes run in graph order (concurrency 1): case_001 is read only after case_000's test.
      onLine: (l) => l === "start    coarse case_000 view Z" && fs.rmSync(image(s.data, "case_001"))
    })
    expect(r.code).toBe(1)
    const errors = errorsOf(lastSegment(s))
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatchObject({ caseId: "case_001", file: image(s.data, "case_001") })
    // The plain log names the case, the node and the file.
    expect(r.output).toMatch(/error: case case_001: \S*case_001\.nii\.gz: is missing .*\[case case_001, coarse case_001 view Z, file \S*case_001\.nii\.gz\]/)
    expectFailedCases(s, r.output, ["case_001"])

    restore(s, image(s.data, "case_001"))
    const resumed = await resumeInProcess(s.runDir)
    expect(resumed.code, resumed.output).toBe(0)
    expect(startedLabels(lastSegment(s))).toEqual(["coarse case_001 view Z", "test case_001", "evaluate fold 0", "report"])
    sameResultsAsBase(s)
  }, 60_000)

  it("a volume truncated mid-run fails its case naming the file; repaired, resuming ends as if nothing happened", async () => {
    const s = makeScenario(root, "truncated", baseData, { training: base.runDir })
    const file = image(s.data, "case_001")
    const r = await runInProcess(s.file, {
      onLine: (l) => {
        if (l === "start    coarse case_000 view Z") fs.truncateSync(file, Math.floor(fs.statSync(file).size / 2))
      }
    })
    expect(r.code).toBe(1)
    const [error] = errorsOf(lastSegment(s))
    expect(error).toMatchObject({ caseId: "case_001", file })
    expect(error!.message).toContain(`cannot read ${file}`)
    expectFailedCases(s, r.output, ["case_001"])

    restore(s, file)
    expect((await resumeInProcess(s.runDir)).code).toBe(0)
    sameResultsAsBase(s)
  }, 60_000)

  it("NaN or infinite voxels: a test case fails naming the voxel; a training case is left out with a warning", async () => {
    const s = makeScenario(root, "non-finite", baseData)
    await writeImageWithVoxel(image(s.data, "case_001"), [10, 20, 30], Number.NaN)
    await writeImageWithVoxel(image(s.data, "case_003"), [1, 2, 3], Number.NEGATIVE_INFINITY)
    const r = await runInProcess(s.file)
    expect(r.code).toBe(1)
    const segment = lastSegment(s)
    const [error] = errorsOf(segment)
    expect(error).toMatchObject({ caseId: "case_001", file: image(s.data, "case_001") })
    expect(error!.message).toContain("voxel (10, 20, 30) is NaN")
    // Under `skip`, each training phase goes on without the unusable case and says so.
    const left = warningsOf(segment).filter((w) => w.caseId === "case_003")
    expect(left).toHaveLength(3)
    for (const w of left) {
      expect(w.file).toBe(image(s.data, "case_003"))
      expect(w.message).toContain("training without case case_003")
      expect(w.message).toContain("voxel (1, 2, 3) is -Infinity")
    }
    expect(r.output).toContain("warning: training without case case_003")
    expectFailedCases(s, r.output, ["case_001"])
    expect(summaryOf(s).cases).toBe(1)
  }, 60_000)

  it("a full disk stops the run, whatever on-case-error says; a rerun completes without redoing finished work", async () => {
    const s = makeScenario(root, "disk-full", baseData, { training: base.runDir })
    const full = path.join(s.runDir, "nodes", "coarse", "case_001") + path.sep
    const faulty = FileSystem.layerFaulty((op, file) => (op === "write" && file.startsWith(full) ? "ENOSPC" : undefined))
    const r = await runInProcess(s.file, { fileSystem: faulty })
    expect(r.code).toBe(1)
    const segment = lastSegment(s)
    const [error] = errorsOf(segment)
    expect(error!.caseId).toBe("case_001")
    expect(error!.file!.startsWith(full)).toBe(true)
    expect(error!.message).toContain("ENOSPC")
    expect(error!.message).toContain("the disk is full")
    // Stopped at the failure: nothing after it started, and no partial file was left.
    expect(startedLabels(segment)).toEqual(["coarse case_000 view Z", "test case_000", "coarse case_001 view Z"])
    expect(finishedOf(segment)).toMatchObject({ status: "failed", failedCases: ["case_001"] })
    expect(r.output).toContain("to resume: rstn resume")
    expect(filesMatching(s.runDir, /\.tmp$/)).toEqual([])

    const again = await runInProcess(s.file)
    expect(again.code, again.output).toBe(0)
    expect(startedLabels(lastSegment(s))).toEqual(["coarse case_001 view Z", "test case_001", "evaluate fold 0", "report"])
    sameResultsAsBase(s)
  }, 60_000)

  it("pretrained weights of another width: the training node fails listing the mismatched tensors", async () => {
    const s = makeScenario(root, "pretrained-width", baseData)
    const weights = path.join(s.dir, "wide.ckpt")
    const wide = await Effect.runPromise(loadPipeline(s.file, ["networks.coarse.width=0.125", "networks.fine.width=0.125"]))
    const model = createRstn(rstnConfig(wide.pipeline), 0)
    fs.writeFileSync(weights, encodeCheckpoint(weightsCheckpoint(model, 0)))
    model.dispose()

    const r = await runInProcess(s.file, { overrides: [`networks.pretrained={ file: ${JSON.stringify(weights)} }`] })
    expect(r.code).toBe(1)
    const [error] = errorsOf(lastSegment(s))
    expect(error!.file).toBe(weights)
    expect(error!.message).toContain(`${weights}: checkpoint does not fit this architecture: shape differs for`)
    // Each mismatched tensor with both shapes, e.g. coarse/conv1_1/w -> coarse/conv1_1/w (file [3,3,3,8], model [3,3,3,4]).
    expect(error!.message).toMatch(/coarse\/\S+ -> coarse\/\S+ \(file \[[\d,]+\], model \[[\d,]+\]\)/)
    expect(error!.message).toMatch(/and \d+ more/)
    expect(startedLabels(lastSegment(s))).toEqual(["train fold 0 view Z phase S", "evaluate fold 0", "report"])
    expectFailedCases(s, r.output, ["case_000", "case_001"])
  }, 60_000)

  it("damaged weights of a finished training node: its readers fail naming the file and the fix, which works", async () => {
    const s = makeScenario(root, "damaged-weights", baseData, { training: base.runDir })
    const id = "train/fold-0/Z/J"
    const segmentKey = keyOf(runSegments(base.runDir)[0]!, id)
    const weights = path.join(s.runDir, "nodes", id, segmentKey.slice(0, 16), "weights.ckpt")
    const bytes = fs.readFileSync(weights)
    for (let i = bytes.length - 64; i < bytes.length; i++) bytes[i] = bytes[i]! ^ 0xff
    fs.writeFileSync(weights, bytes) // same size: the manifest cannot tell

    const r = await runInProcess(s.file)
    expect(r.code).toBe(1)
    const errors = errorsOf(lastSegment(s))
    expect(errors.map((e) => e.caseId)).toEqual(["case_000", "case_001"])
    for (const e of errors) {
      expect(e.file).toBe(weights)
      expect(e.message).toContain("not a usable checkpoint")
      expect(e.message).toContain(`delete the file and resume, and ${id} runs again`)
    }
    expectFailedCases(s, r.output, ["case_000", "case_001"])

    fs.rmSync(weights)
    const resumed = await resumeInProcess(s.runDir)
    expect(resumed.code, resumed.output).toBe(0)
    expect(startedLabels(lastSegment(s))).toContain("train fold 0 view Z phase J")
    expect(startedLabels(lastSegment(s))).not.toContain("train fold 0 view Z phase I")
    sameResultsAsBase(s)
  }, 60_000)

  it("a damaged checkpoint is reported and its node starts over, ending as if it had never been there", async () => {
    const s = makeScenario(root, "damaged-checkpoint", baseData, { training: base.runDir })
    const planned = runSegments(base.runDir)[0]!
    const j = "train/fold-0/Z/J"
    // Phase J and case_000's test are unfinished here, each with a checkpoint of garbage.
    fs.rmSync(path.join(s.runDir, "nodes", ...j.split("/")), { recursive: true })
    for (const id of [j, "test/case_000"]) {
      const dir = path.join(s.runDir, "nodes", ...id.split("/"), keyOf(planned, id).slice(0, 16))
      fs.mkdirSync(dir, { recursive: true })
      fs.writeFileSync(path.join(dir, "checkpoint.bin"), Buffer.from("not a checkpoint, whatever it once was"))
    }
    const r = await runInProcess(s.file)
    expect(r.code, r.output).toBe(0)
    const warnings = warningsOf(lastSegment(s)).map((w) => w.message)
    expect(warnings).toContainEqual(expect.stringMatching(/^train fold 0 view Z phase J: its checkpoint cannot be used, the phase starts over: .*magic/))
    expect(warnings).toContain("test case_000: its round checkpoint cannot be used (damaged or from another version); the rounds start over")
    expect(JSON.parse(fs.readFileSync(path.join(s.runDir, "nodes", ...j.split("/"), "node.json"), "utf8")).outputs.json.resumedFrom).toBe(0)
    sameResultsAsBase(s)
  }, 60_000)

  it("run.max-voxels below a case's size fails the case from its header alone, naming the file and the limit", async () => {
    const s = makeScenario(root, "max-voxels", baseData)
    const shape = await growCase(s.data, "case_001", 8)
    // Cut both files to their first 4 KiB: only a refusal from the header can name the size.
    for (const f of [image(s.data, "case_001"), label(s.data, "case_001")]) fs.truncateSync(f, 4096)
    const limit = 96 * 96 * 48 // the other cases' size: they still run
    const r = await runInProcess(s.file, { overrides: [`run.max-voxels=${limit}`] })
    expect(r.code).toBe(1)
    const [error] = errorsOf(lastSegment(s))
    expect(error!.caseId).toBe("case_001")
    expect([image(s.data, "case_001"), label(s.data, "case_001")]).toContain(error!.file)
    expect(error!.message).toContain(`${shape.join("x")} is ${shape[0] * shape[1] * shape[2]} voxels, more than the limit of ${limit} (run.max-voxels)`)
    expect(error!.message).toContain("raise run.max-voxels")
    expectFailedCases(s, r.output, ["case_001"])
  }, 60_000)

  it("on-case-error: stop stops at the first failure; status shows it; fixing the file and resuming completes", async () => {
    const s = makeScenario(root, "stop", baseData, { training: base.runDir })
    const file = image(s.data, "case_000")
    fs.truncateSync(file, 1000)
    const r = await runInProcess(s.file, { overrides: ["run.on-case-error=stop"] })
    expect(r.code).toBe(1)
    const segment = lastSegment(s)
    expect(errorsOf(segment)).toHaveLength(1)
    expect(errorsOf(segment)[0]).toMatchObject({ caseId: "case_000", file })
    expect(startedLabels(segment)).toEqual(["coarse case_000 view Z"])
    expect(finishedOf(segment)).toMatchObject({ status: "failed", resumeHint: expect.stringContaining("rstn resume") })
    expect(r.output).toContain("to resume: rstn resume")

    // rstn status: training done (found finished), the failed node and why, the rest pending.
    const status = await Effect.runPromise(runStatus(s.runDir).pipe(Effect.provide(FileSystem.layer)))
    const state = Object.fromEntries(status.nodes.map((n) => [n.label, n.state]))
    expect(status.state).toBe("failed")
    expect(state).toEqual({
      ...Object.fromEntries(TRAINING.map((l) => [l, "cached"])),
      "coarse case_000 view Z": "failed",
      "test case_000": "skipped",
      "coarse case_001 view Z": "pending",
      "test case_001": "pending",
      "evaluate fold 0": "pending",
      report: "pending"
    })
    const text = formatStatus(status)
    expect(text).toContain(`failed   coarse case_000 view Z: cannot read ${file}`)
    expect(text).toMatch(/^training +3 cached \(of 3\)$/m)
    expect(text).toMatch(/^coarse +1 pending, 1 failed \(of 2\)$/m)
    expect(text).toMatch(/^rounds +1 pending, 1 skipped \(of 2\)$/m)
    expect(text).toMatch(/^evaluation +2 pending \(of 2\)$/m)
    expect(text).toMatch(/to resume: rstn resume /)

    restore(s, file)
    const resumed = await resumeInProcess(s.runDir)
    expect(resumed.code, resumed.output).toBe(0)
    expect(startedLabels(lastSegment(s))).not.toContain("train fold 0 view Z phase S")
    sameResultsAsBase(s)
  }, 60_000)
})
