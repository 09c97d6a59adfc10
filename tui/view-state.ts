/**
 * The terminal UI's picture of one run, built from events by `reduce.ts`. Plain immutable data:
 * components read it, selectors (`select.ts`) derive totals from it, nothing mutates it.
 */
import type { Losses as LossesSchema, NodeGroup, NodeStatus, View } from "../src/runtime/events.ts"

/** Where the run as a whole stands. `stopped`: the event stream ended without `run-finished`. */
export type RunPhase = "waiting" | "running" | "done" | "failed" | "interrupted" | "stopped"

export interface RunInfo {
  readonly pipeline: string
  readonly file: string
  readonly runDir: string
  readonly backend: string
  readonly backendReason: string
  readonly pid: number
  readonly startedAt: number
  readonly thresholds: ReadonlyArray<number>
  readonly maxRounds: number
}

export interface NodeView {
  readonly key: string
  readonly group: NodeGroup
  readonly label: string
  readonly status: NodeStatus
  readonly startedAt: number | null
  readonly durationMs: number | null
  /** The worker running it (`w2`, `slurm`), when it runs outside the rstn process. */
  readonly worker?: string
}

/**
 * Loss curve of one training node over its whole iteration range, in a fixed number of buckets
 * so its size does not grow with the iteration count: bucket b holds the sums of the losses of
 * iterations in [b, b+1) * iterations / HISTORY_BUCKETS and how many there were.
 */
export interface LossHistory {
  readonly coarse: ReadonlyArray<number>
  readonly fine: ReadonlyArray<number>
  readonly joint: ReadonlyArray<number>
  readonly count: ReadonlyArray<number>
}

/** Buckets per loss curve: enough for the widest sparkline drawn (see `sparkline.ts`). */
export const HISTORY_BUCKETS = 64

/** A network the phase does not train (stage-wise) has no loss: null. */
export type Losses = typeof LossesSchema.Type

export interface TrainingView {
  /** The training node's key. */
  readonly key: string
  readonly fold: number
  readonly view: View
  readonly phase: string
  readonly iteration: number
  readonly iterations: number
  readonly losses: Losses
  readonly learningRate: number
  readonly history: LossHistory
  /** First progress event seen for this node (a resumed node starts past iteration 0). */
  readonly firstAt: number
  readonly firstIteration: number
  readonly lastAt: number
}

export interface RoundView {
  readonly round: number
  readonly dsc: number | null
  readonly interDsc: number | null
  /** Thresholds t first met at this round. */
  readonly reached: ReadonlyArray<number>
  readonly durationMs: number
}

/** `stopped`: the run ended (interrupted, or its process died) while the case was being tested. */
export type CaseStatus = "running" | "done" | "failed" | "stopped"

export interface CaseView {
  readonly caseId: string
  readonly fold: number
  readonly status: CaseStatus
  /** Indexed by round number; round 0 is the coarse round. Holes are rounds not reported. */
  readonly rounds: ReadonlyArray<RoundView | undefined>
  readonly coarseDsc: number | null
  readonly finalDsc: number | null
  readonly reachedAt: ReadonlyArray<{ readonly t: number; readonly round: number | null }>
}

export type MessageLevel = "log" | "warning" | "error"

export interface MessageView {
  readonly level: MessageLevel
  readonly at: number
  readonly message: string
  readonly caseId?: string
  readonly file?: string
  readonly key?: string
  readonly hint?: string
}

/** Messages kept for display; older ones are dropped (the counts stay exact). */
export const MESSAGES_KEPT = 500

export interface SummaryStats {
  readonly mean: number
  readonly std: number
  readonly max: number
  readonly min: number
  readonly count: number
}

export interface Finish {
  readonly at: number
  readonly status: "done" | "failed" | "interrupted"
  readonly summary: SummaryStats | null
  readonly coarse: SummaryStats | null
  readonly failedCases: ReadonlyArray<string>
  readonly resumeHint: string | null
}

export interface ViewState {
  readonly phase: RunPhase
  readonly run: RunInfo | null
  /** How many `run-started` events were seen: a resumed run appends a new attempt to the log. */
  readonly attempt: number
  /** Planned nodes in the order the run announced them. */
  readonly nodes: ReadonlyArray<NodeView>
  readonly nodeIndex: ReadonlyMap<string, number>
  /** Training nodes that reported progress, keyed by node key. */
  readonly training: ReadonlyMap<string, TrainingView>
  /** Cases in natural order of their ids. */
  readonly cases: ReadonlyArray<CaseView>
  readonly messages: ReadonlyArray<MessageView>
  readonly warningCount: number
  readonly errorCount: number
  readonly finish: Finish | null
  /** Why the stream ended early (phase `stopped`). */
  readonly stopped: { readonly at: number; readonly reason: string; readonly hint?: string } | null
  readonly lastEventAt: number | null
  readonly eventCount: number
}

export const initialViewState: ViewState = {
  phase: "waiting",
  run: null,
  attempt: 0,
  nodes: [],
  nodeIndex: new Map(),
  training: new Map(),
  cases: [],
  messages: [],
  warningCount: 0,
  errorCount: 0,
  finish: null,
  stopped: null,
  lastEventAt: null,
  eventCount: 0
}
