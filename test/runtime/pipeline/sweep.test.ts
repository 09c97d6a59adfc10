/**
 * A sweep over t after one run of the tiny pipeline trains nothing: its plan shows every network
 * (and every coarse and test node: t only changes where the evaluation stops) shared with the
 * first run, its runs take them from the store instead of computing them, and `rstn compare`
 * lays the four runs out against the first.
 */
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import { loadPipeline } from "../../../src/dsl/load.ts"
import { loadSweep, type ResolvedSweep } from "../../../src/dsl/load-sweep.ts"
import type { RunEvent } from "../../../src/runtime/events.ts"
import { compareDirs } from "../../../src/runtime/compare.ts"
import { comparisonMarkdown } from "../../../src/runtime/compare-format.ts"
import { runPipeline } from "../../../src/runtime/run-pipeline.ts"
import { runSweep } from "../../../src/runtime/run-sweep.ts"
import { formatSweepPlan, planSweep, type SweepPlan } from "../../../src/runtime/sweep-plan.ts"
import { manifestOf, runSegments } from "./child-run.ts"
import { tinyPipeline } from "./tiny.ts"

const dataDir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "rstn-data-")), "phantom")
const T = "test.stages[2].converge-until.threshold"

/** Milliseconds the nodes of a run segment computed (cached ones took none), by node group. */
const computedMs = (segment: ReadonlyArray<RunEvent>, group: string): number => {
  const started = segment[0]
  if (started?._tag !== "run-started") throw new Error("a segment starts with run-started")
  const keys = new Set(started.nodes.filter((n) => n.group === group).map((n) => n.key))
  return segment.reduce((ms, e) => (e._tag === "node-finished" && e.status === "done" && keys.has(e.key) ? ms + e.durationMs : ms), 0)
}

describe("a sweep over t after one run", () => {
  let tiny: ReturnType<typeof tinyPipeline>
  let sweep: ResolvedSweep
  let plan: SweepPlan
  let code: number
  const lines: string[] = []

  beforeAll(async () => {
    tiny = tinyPipeline(dataDir)
    const { pipeline } = await Effect.runPromise(loadPipeline(tiny.file, []))
    expect(await Effect.runPromise(runPipeline({ file: tiny.file, overrides: [], pipeline, out: () => {} }))).toBe(0)
    sweep = await Effect.runPromise(loadSweep(tiny.file, [], [`${T}=[0.9,0.95,0.98,0.99]`]))
    plan = await Effect.runPromise(planSweep(sweep))
    code = await Effect.runPromise(runSweep({ sweep, overrides: [], out: (l) => lines.push(l) }))
  }, 300_000)

  it("plans no training: every network, coarse mask and test is shared with the first run, only the evaluation is computed", () => {
    expect(plan.runs.map((r) => path.basename(r.runDir))).toEqual(["run-threshold-0.9", "run-threshold-0.95", "run-threshold-0.98", "run-threshold-0.99"])
    for (const r of plan.runs) {
      const training = r.entries.filter((e) => e.group === "training")
      expect(training).toHaveLength(3)
      for (const e of r.entries.filter((e) => e.group !== "evaluation")) expect(e).toMatchObject({ status: "shared", from: tiny.runDir })
      // evaluate/fold-0 and report read t: each run computes its own
      expect(r.entries.filter((e) => e.status === "new").map((e) => e.id).sort()).toEqual(["evaluate/fold-0", "report"])
    }
    const text = formatSweepPlan(plan)
    expect(text).toContain(`  training    3 shared (computed by ${tiny.runDir})`)
    expect(text).toMatch(/the sweep: \d+ nodes in 4 runs; 8 to compute, \d+ shared, 0 cached; training: 0 of 12 nodes to train \(every trained network is reused\)$/)
  })

  it("runs four runs that take every trained network from the store: no training node computes, for no time", () => {
    expect(code).toBe(0)
    const firstTraining = computedMs(runSegments(tiny.runDir)[0]!, "training")
    expect(firstTraining).toBeGreaterThan(0)
    for (const r of sweep.runs) {
      const segments = runSegments(r.pipeline.run.dir)
      expect(segments).toHaveLength(1)
      const seg = segments[0]!
      const trainKeys = new Set(seg[0]!._tag === "run-started" ? seg[0]!.nodes.filter((n) => n.group === "training").map((n) => n.key) : [])
      expect(trainKeys.size).toBe(3)
      expect(seg.filter((e) => e._tag === "node-started" && trainKeys.has(e.key))).toEqual([])
      expect(computedMs(seg, "training")).toBe(0)
      expect(computedMs(seg, "coarse") + computedMs(seg, "rounds")).toBe(0)
      for (const phase of ["S", "I", "J"]) expect(manifestOf(r.pipeline.run.dir, `train/fold-0/Z/${phase}`)).toMatchObject({ sharedFrom: tiny.runDir })
    }
    expect(lines.filter((l) => l.startsWith("sweep: run "))).toHaveLength(4)
    // The last run has the file's own t: the same results as the first run.
    expect(fs.readFileSync(path.join(sweep.runs[3]!.pipeline.run.dir, "cases.json"), "utf8")).toBe(fs.readFileSync(path.join(tiny.runDir, "cases.json"), "utf8"))
  })

  it("ends with the Table 1 comparison of the runs, paired against the first, training reused", async () => {
    const dirs = sweep.runs.map((r) => r.pipeline.run.dir)
    const c = await Effect.runPromise(compareDirs(dirs))
    expect(c.runs.map((r) => r.t)).toEqual([0.9, 0.95, 0.98, 0.99])
    expect(c.caseIds).toHaveLength(2)
    expect(c.runs.map((r) => [r.training.nodes, r.training.shared])).toEqual([[3, 3], [3, 3], [3, 3], [3, 3]])
    expect(c.paired.map((p) => p.dir)).toEqual(dirs.slice(1))
    for (const [i, p] of c.paired.entries()) {
      const d = c.caseIds.map((id) => c.runs[i + 1]!.perCase[id]! - c.runs[0]!.perCase[id]!)
      expect(Object.values(p.differences)).toEqual(d)
      const nonZero = d.filter((x) => x !== 0).length
      expect([p.wilcoxon.n, p.wilcoxon.zeros]).toEqual([nonZero, d.length - nonZero])
      // Nothing to test when the runs agree on every case; otherwise an exact p of 2 cases.
      if (nonZero === 0) expect(p.wilcoxon.p).toBeNull()
      else expect(p.wilcoxon.p).toBeGreaterThan(0)
    }
    const table = comparisonMarkdown(c)
    expect(lines.join("\n")).toContain(table.trimEnd())
    for (const r of sweep.runs) expect(table).toContain(`| ${r.pipeline.name} (t = `)
  })
})
