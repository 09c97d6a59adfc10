import { describe, expect, it } from "vitest"
import type { RunEvent } from "../../src/runtime/events.ts"
import { reduce, reduceAll } from "../../tui/reduce.ts"
import { HISTORY_BUCKETS, initialViewState, MESSAGES_KEPT, type ViewState } from "../../tui/view-state.ts"
import { recordedRun, T0, trainKey, upTo } from "./recorded-run.ts"

const started = (over: Partial<Extract<RunEvent, { _tag: "run-started" }>> = {}): RunEvent => ({
  _tag: "run-started",
  at: T0,
  pipeline: "p",
  file: "p.yaml",
  runDir: "runs/p",
  backend: "cpu",
  backendReason: "forced",
  pid: 1,
  nodes: [
    { key: "a", group: "training", label: "train fold 0 view Z phase J", status: "pending" },
    { key: "b", group: "coarse", label: "coarse case_1", status: "cached" }
  ],
  thresholds: [0.99, 0.9, 0.95],
  maxRounds: 10,
  ...over
})

const round = (caseId: string, r: number, dsc: number | null, inter: number | null, reached: number[] = []): RunEvent => ({
  _tag: "round-finished",
  at: T0 + r,
  caseId,
  fold: 0,
  round: r,
  dsc,
  interDsc: inter,
  reached,
  durationMs: 10
})

describe("reduce", () => {
  it("starts a run with its planned nodes, their statuses and thresholds in ascending order", () => {
    const s = reduce(initialViewState, started())
    expect(s.phase).toBe("running")
    expect(s.attempt).toBe(1)
    expect(s.run?.thresholds).toEqual([0.9, 0.95, 0.99])
    expect(s.nodes.map((n) => [n.key, n.status])).toEqual([
      ["a", "pending"],
      ["b", "cached"]
    ])
  })

  it("moves nodes through running to their finished status and ignores unknown keys", () => {
    let s = reduceAll([started(), { _tag: "node-started", at: T0 + 5, key: "a" }])
    expect(s.nodes[0]).toMatchObject({ status: "running", startedAt: T0 + 5 })
    s = reduce(s, { _tag: "node-finished", at: T0 + 9, key: "a", status: "failed", durationMs: 4 })
    expect(s.nodes[0]).toMatchObject({ status: "failed", durationMs: 4 })
    const before = s.nodes
    s = reduce(s, { _tag: "node-started", at: T0 + 10, key: "nope" })
    expect(s.nodes).toBe(before)
  })

  it("leaves nothing running once the run has ended: started nodes are pending again, cases stopped", () => {
    const s = reduceAll([
      started(),
      { _tag: "node-started", at: T0 + 5, key: "a" },
      round("case_1", 0, 0.7, null),
      { _tag: "run-finished", at: T0 + 9, status: "interrupted", summary: null, coarse: null, failedCases: [], resumeHint: "rstn resume runs/p" }
    ])
    expect(s.nodes.map((n) => n.status)).toEqual(["pending", "cached"])
    expect(s.cases.map((c) => c.status)).toEqual(["stopped"])
    const died = reduceAll([started(), { _tag: "node-started", at: T0 + 5, key: "a" }, { _tag: "source-stopped", at: T0 + 6, reason: "gone" }])
    expect(died.nodes[0]!.status).toBe("pending")
    expect(died.phase).toBe("stopped")
  })

  it("keeps the latest training progress, the first iteration seen (a resumed node) and loss buckets", () => {
    const progress = (iteration: number, coarse: number): RunEvent => ({
      _tag: "training-progress",
      at: T0 + iteration,
      key: "a",
      fold: 0,
      view: "Z",
      phase: "J",
      iteration,
      iterations: 128,
      losses: { coarse, fine: coarse / 2, joint: coarse / 3 },
      learningRate: 1e-3
    })
    const s = reduceAll([started(), progress(64, 0.6), progress(65, 0.4), progress(96, Number.NaN)])
    const t = s.training.get("a")!
    expect(t).toMatchObject({ iteration: 96, iterations: 128, firstIteration: 64, firstAt: T0 + 64 })
    expect(Number.isNaN(t.losses.coarse)).toBe(true) // shown as the latest value...
    const b = (64 / 128) * HISTORY_BUCKETS
    expect(t.history.count[b]).toBe(2)
    expect(t.history.coarse[b]).toBeCloseTo(1.0)
    expect(t.history.count[(96 / 128) * HISTORY_BUCKETS]).toBe(0) // ...but kept out of the curve
  })

  it("builds case rows in natural id order, with round 0 as the coarse DSC", () => {
    const s = reduceAll([started(), round("case_10", 0, 0.7, null), round("case_2", 0, 0.6, null), round("case_2", 1, 0.8, 0.91, [0.9])])
    expect(s.cases.map((c) => c.caseId)).toEqual(["case_2", "case_10"])
    const c2 = s.cases[0]!
    expect(c2).toMatchObject({ status: "running", coarseDsc: 0.6 })
    expect(c2.rounds[1]).toMatchObject({ dsc: 0.8, interDsc: 0.91, reached: [0.9] })
  })

  it("finishes a case with its final DSC and the round each t was met", () => {
    const s = reduceAll([
      started(),
      round("c", 0, 0.7, null),
      round("c", 1, 0.8, 0.96, [0.9, 0.95]),
      {
        _tag: "case-finished",
        at: T0 + 3,
        caseId: "c",
        fold: 0,
        rounds: 1,
        coarseDsc: 0.7,
        finalDsc: 0.8,
        reachedAt: [
          { t: 0.9, round: 1 },
          { t: 0.99, round: null }
        ]
      }
    ])
    expect(s.cases[0]).toMatchObject({ status: "done", finalDsc: 0.8, reachedAt: [{ t: 0.9, round: 1 }, { t: 0.99, round: null }] })
  })

  it("records warnings and errors with what they concern; an error about a case fails it", () => {
    const s = reduceAll([
      started(),
      round("c", 0, 0.7, null),
      { _tag: "warning", at: T0 + 1, message: "few voxels", caseId: "c", file: "labelsTr/c.nii.gz" },
      { _tag: "error", at: T0 + 2, message: "bad header", caseId: "d", file: "imagesTr/d.nii.gz" }
    ])
    expect(s.warningCount).toBe(1)
    expect(s.errorCount).toBe(1)
    expect(s.messages[1]).toEqual({ level: "error", at: T0 + 2, message: "bad header", caseId: "d", file: "imagesTr/d.nii.gz" })
    expect(s.cases.find((c) => c.caseId === "d")?.status).toBe("failed")
    expect(s.cases.find((c) => c.caseId === "c")?.status).toBe("running")
  })

  it("keeps the newest messages only, with exact counts", () => {
    const warnings: RunEvent[] = Array.from({ length: MESSAGES_KEPT + 7 }, (_, i) => ({ _tag: "warning", at: T0 + i, message: `w${i}` }))
    const s = reduceAll([started(), ...warnings])
    expect(s.messages).toHaveLength(MESSAGES_KEPT)
    expect(s.messages[0]!.message).toBe("w7")
    expect(s.warningCount).toBe(MESSAGES_KEPT + 7)
  })

  it("ends the run with its summary and marks the failed cases", () => {
    const s = reduceAll([
      started(),
      round("c", 0, 0.7, null),
      { _tag: "run-finished", at: T0 + 50, status: "failed", summary: null, coarse: null, failedCases: ["c", "e"], resumeHint: "rstn run p.yaml" }
    ])
    expect(s.phase).toBe("failed")
    expect(s.finish).toMatchObject({ at: T0 + 50, resumeHint: "rstn run p.yaml" })
    expect(s.cases.map((c) => [c.caseId, c.status])).toEqual([
      ["c", "failed"],
      ["e", "failed"]
    ])
  })

  it("shows a resumed run as a new attempt, keeping the earlier messages", () => {
    const first = reduceAll([started(), round("c", 0, 0.7, null), { _tag: "warning", at: T0 + 1, message: "w" }])
    const s = reduce(first, started({ at: T0 + 100 }))
    expect(s.attempt).toBe(2)
    expect(s.cases).toEqual([])
    expect(s.messages.map((m) => m.message)).toEqual(["w"])
    expect(s.run?.startedAt).toBe(T0 + 100)
  })

  it("stops once when the stream ends mid-run, and not at all after run-finished", () => {
    const mid = reduceAll([started(), { _tag: "source-stopped", at: T0 + 9, reason: "gone", hint: "resume" }])
    expect(mid.phase).toBe("stopped")
    expect(mid.stopped).toEqual({ at: T0 + 9, reason: "gone", hint: "resume" })
    expect(reduce(mid, { _tag: "source-stopped", at: T0 + 20, reason: "again" }).errorCount).toBe(1)
    const done = reduceAll(recordedRun())
    expect(reduce(done, { _tag: "source-stopped", at: T0, reason: "x" }).phase).toBe("done")
  })

  it("never changes the state it is given", () => {
    const events = recordedRun()
    const mid = reduceAll(upTo(events, (e) => e._tag === "training-progress" && e.key === trainKey(1, "Y", "I")))
    const frozen = structuredClone(mid) as ViewState
    reduceAll(events.slice(200), mid)
    expect(mid).toEqual(frozen)
  })
})
