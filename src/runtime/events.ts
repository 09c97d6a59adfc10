/**
 * The run's event stream: a typed union published on the in-process PubSub and appended, one
 * JSON object per line, to `events.jsonl` at the root of the run directory. The terminal UI and
 * the plain-text logger are both subscribers; `rstn watch` decodes the file with this schema.
 */
import { Schema } from "effect"

/** Milliseconds since the Unix epoch. */
const At = Schema.Number

export const NodeGroup = Schema.Literal("data", "training", "coarse", "rounds", "evaluation")
export type NodeGroup = typeof NodeGroup.Type

export const NodeStatus = Schema.Literal("pending", "running", "cached", "done", "failed", "skipped")
export type NodeStatus = typeof NodeStatus.Type

export const View = Schema.Literal("X", "Y", "Z")
export type View = typeof View.Type

/** One node of the compiled graph as announced when the run starts. */
export const PlannedNode = Schema.Struct({
  key: Schema.String,
  /** The node's stable id and directory under `<runDir>/nodes/` (e.g. `train/fold-0/Z/J`). */
  id: Schema.optional(Schema.String),
  group: NodeGroup,
  /** Human-readable, e.g. `train fold 0 view Z phase J` or `round case_003`. */
  label: Schema.String,
  /** `cached` when its outputs already exist under its key; `pending` otherwise. */
  status: NodeStatus
})
export type PlannedNode = typeof PlannedNode.Type

export const RunStarted = Schema.TaggedStruct("run-started", {
  at: At,
  pipeline: Schema.String,
  file: Schema.String,
  runDir: Schema.String,
  backend: Schema.String,
  backendReason: Schema.String,
  pid: Schema.Number,
  /** Where nodes run (`run.executor`), e.g. `local, 2 worker processes`. */
  executor: Schema.optional(Schema.String),
  nodes: Schema.Array(PlannedNode),
  /** Thresholds t reported by the evaluation (paper: 0.90, 0.95, 0.98, 0.99). */
  thresholds: Schema.Array(Schema.Number),
  maxRounds: Schema.Number
})

export const NodeStarted = Schema.TaggedStruct("node-started", {
  at: At,
  key: Schema.String,
  /** Where it runs, when not in the driver itself: a local worker (`w1`, `w2`, ...) or `slurm`. */
  worker: Schema.optional(Schema.String),
  /** The worker's process id (local workers). */
  pid: Schema.optional(Schema.Number),
  /** The Slurm job running it. */
  jobId: Schema.optional(Schema.String)
})

export const NodeFinished = Schema.TaggedStruct("node-finished", {
  at: At,
  key: Schema.String,
  status: Schema.Literal("done", "cached", "failed", "skipped"),
  durationMs: Schema.Number
})

/** A network the phase does not train (stage-wise coarse or fine) has no loss: null. */
export const Losses = Schema.Struct({ coarse: Schema.NullOr(Schema.Number), fine: Schema.NullOr(Schema.Number), joint: Schema.Number })

export const TrainingProgress = Schema.TaggedStruct("training-progress", {
  at: At,
  key: Schema.String,
  fold: Schema.Number,
  view: View,
  /** `S`, `I`, `J`, `coarse`/`fine` for the stage-wise baseline, or `noisy` for fine-tuning. */
  phase: Schema.String,
  iteration: Schema.Number,
  iterations: Schema.Number,
  losses: Losses,
  learningRate: Schema.Number
})

export const RoundFinished = Schema.TaggedStruct("round-finished", {
  at: At,
  caseId: Schema.String,
  fold: Schema.Number,
  /** 0 is the coarse round; 1..T are coarse-to-fine rounds. */
  round: Schema.Number,
  /** DSC of this round's mask to the ground truth (null when the case has no label). */
  dsc: Schema.NullOr(Schema.Number),
  /** DSC(Z(r-1), Z(r)); null for round 0. */
  interDsc: Schema.NullOr(Schema.Number),
  /** Thresholds t first met at this round. */
  reached: Schema.Array(Schema.Number),
  durationMs: Schema.Number
})

export const CaseFinished = Schema.TaggedStruct("case-finished", {
  at: At,
  caseId: Schema.String,
  fold: Schema.Number,
  rounds: Schema.Number,
  coarseDsc: Schema.NullOr(Schema.Number),
  finalDsc: Schema.NullOr(Schema.Number),
  /** For each reported threshold t, the round at which it was first met (null if never). */
  reachedAt: Schema.Array(Schema.Struct({ t: Schema.Number, round: Schema.NullOr(Schema.Number) }))
})

const Concern = {
  caseId: Schema.optional(Schema.String),
  file: Schema.optional(Schema.String),
  key: Schema.optional(Schema.String)
}

export const Warning = Schema.TaggedStruct("warning", { at: At, message: Schema.String, ...Concern })
export const RunError = Schema.TaggedStruct("error", {
  at: At,
  message: Schema.String,
  ...Concern,
  /** The Slurm job that failed. */
  jobId: Schema.optional(Schema.String),
  /** The output file of the process or job that ran the node. */
  log: Schema.optional(Schema.String)
})
export const Log = Schema.TaggedStruct("log", { at: At, message: Schema.String })

export const SummaryStats = Schema.Struct({
  mean: Schema.Number,
  std: Schema.Number,
  max: Schema.Number,
  min: Schema.Number,
  count: Schema.Number
})

export const RunFinished = Schema.TaggedStruct("run-finished", {
  at: At,
  status: Schema.Literal("done", "failed", "interrupted"),
  /** Final-round DSC over cases, when evaluation ran. */
  summary: Schema.NullOr(SummaryStats),
  coarse: Schema.NullOr(SummaryStats),
  failedCases: Schema.Array(Schema.String),
  /** How to pick the run up again, shown when interrupted or failed. */
  resumeHint: Schema.NullOr(Schema.String)
})

export const RunEvent = Schema.Union(
  RunStarted,
  NodeStarted,
  NodeFinished,
  TrainingProgress,
  RoundFinished,
  CaseFinished,
  Warning,
  RunError,
  Log,
  RunFinished
)
export type RunEvent = typeof RunEvent.Type

export const encodeLine = (event: RunEvent): string => JSON.stringify(Schema.encodeSync(RunEvent)(event))
export const decodeLine = Schema.decodeUnknownEither(Schema.parseJson(RunEvent))
