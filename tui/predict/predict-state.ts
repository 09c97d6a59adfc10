/**
 * The prediction screen's state, folded from `rstn predict`'s events by a pure reducer: the cases
 * finished (shown once, above), the case running with its rounds so far, and the totals.
 */
import type { PredictEvent } from "../../src/runtime/predict/events.ts"

export type PredictCaseStatus = "done" | "skipped" | "failed"

export interface FinishedCase {
  readonly id: string
  readonly status: PredictCaseStatus
  /** The mask written, or the failure's message. */
  readonly detail: string
  readonly rounds: number | null
  readonly reached: boolean | null
  readonly ms: number | null
}

export interface RunningCase {
  readonly id: string
  readonly index: number
  readonly coarseMs: number | null
  readonly rounds: ReadonlyArray<{ readonly round: number; readonly interDsc: number | null; readonly ms: number }>
}

export interface PredictState {
  readonly header: Extract<PredictEvent, { _tag: "predict-started" }> | null
  readonly finished: ReadonlyArray<FinishedCase>
  readonly running: RunningCase | null
  readonly summary: Extract<PredictEvent, { _tag: "predict-finished" }> | null
}

export const initialPredictState: PredictState = { header: null, finished: [], running: null, summary: null }

export const reducePredict = (s: PredictState, e: PredictEvent): PredictState => {
  switch (e._tag) {
    case "predict-started":
      return { ...s, header: e }
    case "case-started":
      return { ...s, running: { id: e.id, index: e.index, coarseMs: null, rounds: [] } }
    case "case-coarse":
      return s.running?.id === e.id ? { ...s, running: { ...s.running, coarseMs: e.ms } } : s
    case "case-round":
      return s.running?.id === e.id && e.round > 0 ? { ...s, running: { ...s.running, rounds: [...s.running.rounds, { round: e.round, interDsc: e.interDsc, ms: e.ms }] } } : s
    case "case-finished":
      return { ...s, running: null, finished: [...s.finished, { id: e.id, status: "done", detail: e.file, rounds: e.rounds, reached: e.reached, ms: e.ms }] }
    case "case-skipped":
      return { ...s, finished: [...s.finished, { id: e.id, status: "skipped", detail: `${e.file} exists`, rounds: null, reached: null, ms: null }] }
    case "case-failed":
      return {
        ...s,
        running: s.running?.id === e.id ? null : s.running,
        finished: [...s.finished, { id: e.id ?? e.file, status: "failed", detail: e.message, rounds: null, reached: null, ms: null }]
      }
    case "predict-finished":
      return { ...s, running: null, summary: e }
  }
}
