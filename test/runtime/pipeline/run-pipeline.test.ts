import * as tf from "@tensorflow/tfjs"
import { Effect, Either } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import { loadPipeline } from "../../../src/dsl/load.ts"
import { decodeNifti } from "../../../src/ops/nifti/index.ts"
import { eventsFile, parseEventLog } from "../../../src/runtime/event-log.ts"
import { runPipeline } from "../../../src/runtime/run-pipeline.ts"
import { tinyPipeline } from "./tiny.ts"

const dataDir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "rstn-data-")), "phantom")

const run = async (file: string, overrides: string[] = []) => {
  const lines: string[] = []
  const { pipeline } = await Effect.runPromise(loadPipeline(file, overrides))
  const code = await Effect.runPromise(runPipeline({ file, overrides, pipeline, out: (l) => lines.push(l) }))
  return { code, lines }
}

const started = (runDir: string): string[] =>
  parseEventLog(fs.readFileSync(eventsFile(runDir), "utf8"))
    .events.filter((e) => e._tag === "node-started")
    .map((e) => (e as { key: string }).key)

describe("rstn run, end to end", () => {
  let tiny: ReturnType<typeof tinyPipeline>
  let first: Awaited<ReturnType<typeof run>>
  let tensorsBefore: number

  beforeAll(async () => {
    tiny = tinyPipeline(dataDir)
    tensorsBefore = tf.memory().numTensors
    first = await run(tiny.file)
  }, 300_000)

  it("trains, tests and evaluates, writing the summary, per-case results and masks", () => {
    expect(first.code).toBe(0)
    for (const f of ["summary.json", "summary.md", "cases.json", "cases.csv", "events.jsonl", "pipeline.json"]) {
      expect(fs.existsSync(path.join(tiny.runDir, f)), f).toBe(true)
    }
    const summary = JSON.parse(fs.readFileSync(path.join(tiny.runDir, "summary.json"), "utf8"))
    // fold 0 of 4 cases in 2 folds tests 2 cases
    expect(summary.cases).toBe(2)
    expect(summary.final.count).toBe(2)
    expect(summary.final.mean).toBeGreaterThanOrEqual(0)
    expect(summary.final.mean).toBeLessThanOrEqual(1)
    expect(summary.thresholds.map((r: { t: number }) => r.t)).toEqual([0.9, 0.95, 0.98, 0.99])
    const cases = JSON.parse(fs.readFileSync(path.join(tiny.runDir, "cases.json"), "utf8"))
    for (const c of cases) {
      expect(fs.existsSync(path.join(tiny.runDir, "predictions", `${c.caseId}.nii.gz`))).toBe(true)
      expect(c.rounds[0].round).toBe(0)
      expect(c.rounds.length).toBeGreaterThanOrEqual(2)
      expect(c.rounds.length).toBeLessThanOrEqual(4)
    }
    const csv = fs.readFileSync(path.join(tiny.runDir, "cases.csv"), "utf8").trim().split("\n")
    expect(csv[0]).toMatch(/^case,fold,coarse_dsc,final_dsc,final_round,dsc_r0,/)
    expect(csv).toHaveLength(3)
    expect(first.lines.join("\n")).toContain("# tiny: coarse-to-fine test")
  })

  it("records each round's voxels, precision and recall, fused and per view, matching the masks it wrote", () => {
    const cases = JSON.parse(fs.readFileSync(path.join(tiny.runDir, "cases.json"), "utf8"))
    const voxelsOf = (file: string) =>
      Array.from(Either.getOrThrow(decodeNifti(new Uint8Array(fs.readFileSync(file)), { file })).volume.data as ArrayLike<number>).reduce((a, b) => a + b, 0)
    for (const c of cases) {
      const last = c.rounds.at(-1)
      expect(voxelsOf(path.join(tiny.runDir, "predictions", `${c.caseId}.nii.gz`))).toBe(last.voxels)
      for (const r of c.rounds) {
        expect(r.views.map((v: { view: string }) => v.view)).toEqual(["Z"])
        for (const m of [r, ...r.views]) {
          // DSC is the harmonic mean of precision and recall
          if (m.precision > 0 && m.recall > 0) expect(m.dsc).toBeCloseTo((2 * m.precision * m.recall) / (m.precision + m.recall), 9)
          expect(m.recall).toBeGreaterThanOrEqual(0)
        }
      }
    }
    const summary = JSON.parse(fs.readFileSync(path.join(tiny.runDir, "summary.json"), "utf8"))
    expect(summary.perRound[0].recall).toBeCloseTo(cases.reduce((a: number, c: { rounds: { recall: number }[] }) => a + c.rounds[0]!.recall, 0) / cases.length, 9)
    expect(fs.readFileSync(path.join(tiny.runDir, "summary.md"), "utf8")).toMatch(/\| recall \| [\d.]+ \|/)
  })

  it("frees every tensor it allocated", () => {
    expect(tf.memory().numTensors).toBe(tensorsBefore)
  })

  it("repeats no finished work when run again", async () => {
    const before = started(tiny.runDir).length
    const again = await run(tiny.file)
    expect(again.code).toBe(0)
    expect(started(tiny.runDir).length).toBe(before)
  })

  it("re-runs only the evaluation when only t changes, and retrains when the saliency kernel changes", async () => {
    const log = () => parseEventLog(fs.readFileSync(eventsFile(tiny.runDir), "utf8")).events
    const labelsOfLastRun = () => {
      const events = log()
      const start = events.map((e) => e._tag).lastIndexOf("run-started")
      const header = events[start] as Extract<(typeof events)[number], { _tag: "run-started" }>
      const labels = new Map(header.nodes.map((n) => [n.key, n.label]))
      return events.slice(start).filter((e) => e._tag === "node-started").map((e) => labels.get((e as { key: string }).key))
    }
    await run(tiny.file, ["test.stages[2].converge-until.threshold=0.95"])
    expect(labelsOfLastRun()).toEqual(["evaluate fold 0", "report"])

    await run(tiny.file, ["saliency.layers[0].kernel=5"])
    const retrained = labelsOfLastRun()
    expect(retrained).toContain("train fold 0 view Z phase S")
    expect(retrained).toContain("train fold 0 view Z phase J")
  }, 300_000)
})
