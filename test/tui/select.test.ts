import { describe, expect, it } from "vitest"
import type { RunEvent } from "../../src/runtime/events.ts"
import { estimateEta } from "../../tui/eta.ts"
import { reduceAll } from "../../tui/reduce.ts"
import { convergence, dscSummary, groupSummaries, roundMeans, stats } from "../../tui/select.ts"
import { CASE_ROUNDS, recordedRun, T0, upTo } from "./recorded-run.ts"

describe("statistics of the case table", () => {
  const events = recordedRun()

  it("uses population std (ddof 0)", () => {
    expect(stats([1, 3])).toEqual({ mean: 2, std: 1, max: 3, min: 1, count: 2 })
  })

  it("computes the running mean ± std over finished cases before the run reports its own", () => {
    const s = reduceAll(upTo(events, (e) => e._tag === "round-finished" && e.caseId === "case_003" && e.round === 2))
    const d = dscSummary(s)
    expect(d.fromRun).toBe(false)
    expect(d.final!.count).toBe(2)
    expect(d.final!.mean).toBeCloseTo((0.8447 + 0.8217) / 2, 10)
    expect(d.final!.std).toBeCloseTo(Math.abs(0.8447 - 0.8217) / 2, 10)
    expect(d.coarse!.mean).toBeCloseTo((0.7512 + 0.682) / 2, 10)
  })

  it("shows the run's own summary once it has finished", () => {
    const d = dscSummary(reduceAll(events))
    expect(d.fromRun).toBe(true)
    expect(d.final!.mean).toBeCloseTo(0.840025, 10)
  })

  it("averages each round over the cases, a finished case that stopped earlier with its last round (as the report)", () => {
    const m = roundMeans(reduceAll(events))
    expect(m).toHaveLength(6)
    expect(m[1]!.interDsc).toBeCloseTo((0.912 + 0.8811 + 0.9321 + 0.905) / 4, 10)
    // Round 5: only case_003 ran it; case_001 stopped at 4, case_002 and case_004 at 3.
    expect(m[5]).toMatchObject({ cases: 4 })
    expect(m[5]!.dsc).toBeCloseTo((0.8447 + 0.8217 + 0.8771 + 0.8166) / 4, 10)
    expect(m[5]!.interDsc).toBeCloseTo((0.9934 + 0.9903 + 0.9889 + 0.9921) / 4, 10)
  })

  it("averages a round over the cases that ran it while others are still being tested", () => {
    const s = reduceAll(upTo(events, (e) => e._tag === "round-finished" && e.caseId === "case_003" && e.round === 2))
    // case_001 (stopped at 4) and case_002 (at 3) are done; case_003 is at round 2.
    expect(roundMeans(s)[2]!.dsc).toBeCloseTo((0.8391 + 0.815 + 0.8702) / 3, 10)
    expect(roundMeans(s)[4]).toMatchObject({ cases: 2 })
  })

  it("counts the cases that met each t and their mean round", () => {
    const c = convergence(reduceAll(events))
    expect(c.map((x) => [x.t, x.reached, x.of])).toEqual([
      [0.9, 4, 4],
      [0.95, 4, 4],
      [0.98, 4, 4],
      [0.99, 3, 4]
    ])
    expect(c[3]!.meanRound).toBeCloseTo((4 + 3 + 3) / 3, 10)
    expect(CASE_ROUNDS).toHaveLength(4)
  })

  it("counts node statuses per group, in pipeline order", () => {
    const g = groupSummaries(reduceAll(events))
    expect(g.map((x) => x.group)).toEqual(["training", "coarse", "rounds", "evaluation"])
    expect(g.map((x) => x.total)).toEqual([18, 12, 4, 3])
    expect(g[2]!.counts).toMatchObject({ done: 4, pending: 0, running: 0 })
  })
})

describe("estimateEta", () => {
  const node = (key: string, group: "training" | "rounds" | "evaluation", label = key) => ({ key, group, label, status: "pending" as const })
  const start: RunEvent = {
    _tag: "run-started",
    at: T0,
    pipeline: "p",
    file: "p.yaml",
    runDir: "r",
    backend: "cpu",
    backendReason: "",
    pid: 1,
    nodes: [node("t1", "training", "train fold 0 view X phase J"), node("t2", "training", "train fold 0 view Y phase J")],
    thresholds: [0.95],
    maxRounds: 3
  }
  const progress = (key: string, at: number, iteration: number): RunEvent => ({
    _tag: "training-progress",
    at,
    key,
    fold: 0,
    view: "X",
    phase: "J",
    iteration,
    iterations: 100,
    losses: { coarse: 0.5, fine: 0.5, joint: 0.5 },
    learningRate: 1e-3
  })

  it("prices a running training node by its own iteration rate and a pending one by its phase", () => {
    const s = reduceAll([start, { _tag: "node-started", at: T0, key: "t1" }, progress("t1", T0 + 100, 10), progress("t1", T0 + 500, 50)])
    // 10 ms per iteration: 50 iterations left here, 100 for the pending node of the same phase.
    expect(estimateEta(s, T0 + 500)).toEqual({ remainingMs: 500 + 1000, lowerBound: false })
  })

  it("uses measured durations, discounted by how often nodes of a group are skipped", () => {
    const s = reduceAll([
      { ...start, nodes: [node("r1", "rounds"), node("r2", "rounds"), node("r3", "rounds"), node("r4", "rounds")] },
      { _tag: "node-started", at: T0, key: "r1" },
      { _tag: "node-finished", at: T0 + 1000, key: "r1", status: "done", durationMs: 1000 },
      { _tag: "node-finished", at: T0 + 1000, key: "r2", status: "skipped", durationMs: 0 }
    ])
    expect(estimateEta(s, T0 + 1000)).toEqual({ remainingMs: 2 * 1000 * 0.5, lowerBound: false })
  })

  it("is a lower bound while some pending kind of node has never run, and absent once finished", () => {
    const s = reduceAll([{ ...start, nodes: [...start.nodes, node("e", "evaluation")] }, { _tag: "node-started", at: T0, key: "t1" }, progress("t1", T0 + 100, 10), progress("t1", T0 + 500, 50)])
    expect(estimateEta(s, T0 + 500)?.lowerBound).toBe(true)
    expect(estimateEta(reduceAll(recordedRun()), T0)).toBeNull()
  })
})
