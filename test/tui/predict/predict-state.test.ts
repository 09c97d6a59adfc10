import { describe, expect, it } from "vitest"
import type { PredictEvent } from "../../../src/runtime/predict/events.ts"
import { predictLine } from "../../../src/runtime/predict/events.ts"
import { initialPredictState, reducePredict } from "../../../tui/predict/predict-state.ts"

const events: PredictEvent[] = [
  { _tag: "predict-started", model: "model.rstn", folds: [0, 1], views: ["Z"], backend: "wasm", cases: 2, inputErrors: 1, outDir: "out" },
  { _tag: "case-failed", id: null, file: "empty", message: "empty: is a directory without any .nii or .nii.gz file" },
  { _tag: "case-skipped", id: "a", file: "out/a.nii.gz" },
  { _tag: "case-started", id: "b", file: "b.nii.gz", index: 1 },
  { _tag: "case-coarse", id: "b", ms: 700 },
  { _tag: "case-round", id: "b", round: 0, interDsc: null, ms: 700 },
  { _tag: "case-round", id: "b", round: 1, interDsc: 0.8, ms: 300 }
]

describe("the prediction screen's state", () => {
  it("shows the case running with its coarse time and rounds, and the finished ones once", () => {
    const s = events.reduce(reducePredict, initialPredictState)
    expect(s.finished.map((c) => [c.id, c.status])).toEqual([
      ["empty", "failed"],
      ["a", "skipped"]
    ])
    expect(s.running).toEqual({ id: "b", index: 1, coarseMs: 700, rounds: [{ round: 1, interDsc: 0.8, ms: 300 }] })
    const done = reducePredict(s, { _tag: "case-finished", id: "b", file: "out/b.nii.gz", rounds: 1, reached: false, ms: 1000, reoriented: "PLS" })
    expect(done.running).toBeNull()
    expect(done.finished.at(-1)).toMatchObject({ id: "b", status: "done", rounds: 1, reached: false })
  })

  it("as plain lines, leaves out what the summary repeats", () => {
    expect(events.map(predictLine).filter((l) => l !== null)).toEqual([
      "predict: 2 case(s) with model.rstn (folds 0, 1, views Z, wasm) -> out",
      "input: failed: empty: is a directory without any .nii or .nii.gz file",
      "a: out/a.nii.gz exists, skipped (--force predicts it again)",
      "  b: coarse 0.7 s",
      "  b: round 1 0.3 s, inter-iteration DSC 0.8000"
    ])
    expect(predictLine({ _tag: "case-finished", id: "b", file: "out/b.nii.gz", rounds: 1, reached: true, ms: 1000, reoriented: "PLS" })).toBe(
      "b: out/b.nii.gz (1 round, reached t, 1.0 s, reoriented from PLS)"
    )
  })
})
