import { describe, expect, it } from "vitest"
import type { RunEvent } from "../../src/runtime/events.ts"
import { formatDuration, makeFormatter } from "../../src/runtime/text-logger.ts"

const started: RunEvent = {
  _tag: "run-started",
  at: 0,
  pipeline: "demo",
  file: "demo.yaml",
  runDir: "runs/demo",
  backend: "wasm",
  backendReason: "tfjs-node not installed",
  pid: 1,
  nodes: [
    { key: "k1", id: "train/fold-0/Z/J", group: "training", label: "train fold 0 view Z phase J", status: "pending" },
    { key: "k2", group: "rounds", label: "round case_003", status: "cached" }
  ],
  thresholds: [0.99],
  maxRounds: 10
}

const progress = (iteration: number, at: number): RunEvent => ({
  _tag: "training-progress",
  at,
  key: "k1",
  fold: 0,
  view: "Z",
  phase: "J",
  iteration,
  iterations: 400,
  losses: { coarse: 0.5, fine: 0.25, joint: 0.3333 },
  learningRate: 0.001
})

describe("plain-text logger", () => {
  it("prints one readable line per notable event", () => {
    const format = makeFormatter()
    const events: RunEvent[] = [
      started,
      { _tag: "node-started", at: 1, key: "k1" },
      { _tag: "node-finished", at: 2, key: "k2", status: "cached", durationMs: 0 },
      { _tag: "node-finished", at: 3, key: "k1", status: "done", durationMs: 83_000 },
      { _tag: "round-finished", at: 4, caseId: "case_003", fold: 0, round: 0, dsc: 0.71234, interDsc: null, reached: [], durationMs: 10 },
      { _tag: "round-finished", at: 5, caseId: "case_003", fold: 0, round: 2, dsc: 0.8, interDsc: 0.99312, reached: [0.95, 0.99], durationMs: 10 },
      { _tag: "case-finished", at: 6, caseId: "case_003", fold: 0, rounds: 2, coarseDsc: 0.71234, finalDsc: 0.8, reachedAt: [] },
      { _tag: "warning", at: 7, message: "spacing differs", caseId: "case_003", file: "a.nii.gz" },
      { _tag: "error", at: 8, message: "out of memory", key: "k1" },
      { _tag: "node-finished", at: 9, key: "k2", status: "skipped", durationMs: 0 },
      {
        _tag: "run-finished",
        at: 10,
        status: "interrupted",
        summary: { mean: 0.8123, std: 0.05, max: 0.9, min: 0.7, count: 4 },
        coarse: null,
        failedCases: [],
        resumeHint: "rstn resume runs/demo"
      }
    ]
    expect(events.map(format).filter((l) => l !== undefined)).toEqual([
      "run demo: 2 nodes, 1 cached, 1 to run; backend wasm (tfjs-node not installed); run directory runs/demo",
      "start    train fold 0 view Z phase J",
      "done     train fold 0 view Z phase J in 1 min 23 s",
      "case_003 coarse: DSC 0.7123",
      "case_003 round 2: DSC 0.8000, inter-DSC 0.9931, reached t = 0.95, 0.99",
      "case_003 finished after 2 rounds: DSC 0.7123 (coarse) → 0.8000",
      "warning: spacing differs [case case_003, file a.nii.gz]",
      "error: out of memory [train fold 0 view Z phase J]",
      "skipped  round case_003 (an input failed)",
      "run interrupted: mean DSC 0.8123 ± 0.0500 over 4 cases\nto resume: rstn resume runs/demo"
    ])
  })

  it("rate-limits training progress by iterations and by time, always showing the first and last", () => {
    const format = makeFormatter({ progressEvery: 100, progressSeconds: 30 })
    format(started)
    const shown = [1, 2, 50, 101, 150, 201, 230, 320, 400]
      .map((i) => ({ i, line: format(progress(i, i === 230 ? 40_000 : i)) }))
      .filter((x) => x.line !== undefined)
      .map((x) => x.i)
    expect(shown).toEqual([1, 101, 201, 230, 400])
    expect(makeFormatter()(progress(1, 0))).toBe(
      "train fold 0 view Z phase J: iteration 1/400, loss 0.3333 (coarse 0.5000, fine 0.2500), lr 1.0e-3"
    )
  })

  it("formats durations for people", () => {
    expect([450, 12_340, 83_000, 3_725_000].map(formatDuration)).toEqual(["450 ms", "12.3 s", "1 min 23 s", "1 h 02 min"])
  })
})
