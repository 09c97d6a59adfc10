/**
 * Why a node failed, as values that survive a process boundary: a worker process or a Slurm job
 * reports them to the driver, which records them (`failure.json`), publishes them (the error
 * event) and decides from their type whether the run can go on. Two families, kept apart:
 *
 * - `NodeError`: the user can fix it (a case's file, damaged weights, a full disk, a crashed
 *   job), each naming what it can of the case, the file and a hint;
 * - `NodeDefect`: a bug in rstn (an exception nobody expected); it fails the node as an
 *   "internal error" and is never mistaken for bad input.
 *
 * `fromCause` is the one place where the errors of `src/ops` and the runtime's services are
 * sorted into these classes, by their types; anything it does not know is a defect.
 */
import { Cause, Effect, Option, Schema } from "effect"
import { CheckpointError, CheckpointMismatchError } from "../../ops/train/checkpoint.ts"
import type { TrainingDivergedError } from "../../ops/train/trainer.ts"
import { NiftiError } from "../../ops/nifti/nifti-error.ts"
import { DicomError } from "../../ops/dicom/dicom-error.ts"
import { WeightsFileError } from "../../ops/weights/weights-error.ts"
import { WriteError } from "../atomic-write.ts"
import { CaseDataError } from "../case-store.ts"
import { DatasetError } from "../dataset.ts"
import { FileSystemError } from "../file-system.ts"
import { NodeFailure } from "../nodes/node-failure.ts"

export { NodeFailure } from "../nodes/node-failure.ts"

const concern = {
  caseId: Schema.optional(Schema.String),
  file: Schema.optional(Schema.String)
}

/** A case's files cannot be read or used: missing, damaged, NaN voxels, too large. */
export class CaseFailure extends Schema.TaggedError<CaseFailure>()("CaseFailure", {
  message: Schema.String,
  hint: Schema.String,
  ...concern
}) {}

/** Weights a node reads (a finished node's, a checkpoint, pretrained ones) are damaged or do not fit. */
export class WeightsFailure extends Schema.TaggedError<WeightsFailure>()("WeightsFailure", {
  message: Schema.String,
  hint: Schema.String,
  ...concern
}) {}

/** errno codes after which every later write fails as well: no node can succeed until the user acts. */
const RUN_FATAL: ReadonlySet<string> = new Set(["ENOSPC", "EDQUOT", "EROFS"])

/** Reading or writing the run directory failed. */
export class StorageFailure extends Schema.TaggedError<StorageFailure>()("StorageFailure", {
  message: Schema.String,
  hint: Schema.optional(Schema.String),
  /** The errno code (ENOSPC, ENOENT, ...) or the system's message when there is none. */
  errno: Schema.String,
  ...concern
}) {
  /** A full or read-only disk stops the run whatever `on-case-error` says: skipping would only fail every later node the same way. */
  get stopsRun(): boolean {
    return RUN_FATAL.has(this.errno)
  }
}

/** The process a node ran in ended before the node did (a local worker killed, out of memory). */
export class WorkerLost extends Schema.TaggedError<WorkerLost>()("WorkerLost", {
  message: Schema.String,
  hint: Schema.String,
  /** Which worker, e.g. `w2`. */
  worker: Schema.String,
  pid: Schema.Number,
  /** Where the worker's output went. */
  log: Schema.String,
  ...concern
}) {}

/** A Slurm job ended without the node's result: cancelled, timed out, out of memory, node failure. */
export class JobFailed extends Schema.TaggedError<JobFailed>()("JobFailed", {
  message: Schema.String,
  hint: Schema.String,
  jobId: Schema.String,
  /** Slurm's state (FAILED, TIMEOUT, OUT_OF_MEMORY, CANCELLED, NODE_FAIL, ...) when known. */
  state: Schema.String,
  /** The job's output file. */
  log: Schema.String,
  ...concern
}) {}

/** Every failure a node reports that is not a bug. */
export const NodeError = Schema.Union(CaseFailure, WeightsFailure, StorageFailure, NodeFailure, WorkerLost, JobFailed)
export type NodeError = typeof NodeError.Type

/** A bug: what was thrown, with its stack when there is one. */
export class NodeDefect extends Schema.TaggedError<NodeDefect>()("NodeDefect", {
  message: Schema.String,
  stack: Schema.optional(Schema.String)
}) {}

/** How a failed node ended, as it crosses processes and lands in failure.json. */
export const NodeFault = Schema.Union(NodeError, NodeDefect)
export type NodeFault = typeof NodeFault.Type

export const encodeFault = Schema.encodeSync(NodeFault)
export const decodeFault = Schema.decodeUnknownSync(NodeFault)

const isNodeError = Schema.is(NodeError)

const isDiverged = (e: unknown): e is TrainingDivergedError =>
  e instanceof Error && (e as { _tag?: unknown })._tag === "TrainingDivergedError"

/**
 * The node error for a failure raised by the runtime or `src/ops`, or undefined when it is of no
 * known kind (a defect).
 */
export const classify = (e: unknown): NodeError | undefined => {
  if (isNodeError(e)) return e
  if (e instanceof CaseDataError) return new CaseFailure({ message: e.message, hint: e.hint, caseId: e.caseId, file: e.file })
  if (e instanceof NiftiError || e instanceof DatasetError) return new CaseFailure({ message: e.message, hint: e.hint, file: e.file })
  if (e instanceof DicomError) return new CaseFailure({ message: e.message, hint: e.hint, file: e.dir })
  if (e instanceof CheckpointError || e instanceof CheckpointMismatchError || e instanceof WeightsFileError) {
    return new WeightsFailure({ message: e.message, hint: e.hint, file: e.file })
  }
  if (e instanceof FileSystemError || e instanceof WriteError) {
    return new StorageFailure({ message: e.message, errno: e.reason, file: e.file, ...(e.hint !== undefined ? { hint: e.hint } : {}) })
  }
  // By tag, not instanceof: trainer.ts loads TensorFlow.js, which `rstn status` must not pay for.
  if (isDiverged(e)) return new NodeFailure({ message: e.message, hint: e.hint })
  return undefined
}

export const defectOf = (e: unknown): NodeDefect =>
  e instanceof NodeDefect
    ? e
    : e instanceof Error
      ? new NodeDefect({ message: e.message, ...(e.stack !== undefined ? { stack: e.stack } : {}) })
      : new NodeDefect({ message: String(e) })

/**
 * A node's failure cause with every failure sorted: known errors stay failures (as NodeError),
 * unknown ones become defects. Interruption is kept as it is.
 */
export const sortCause = (cause: Cause.Cause<unknown>): Cause.Cause<NodeError> =>
  Cause.flatMap(cause, (e) => {
    const known = classify(e)
    return known !== undefined ? Cause.fail(known) : Cause.die(defectOf(e))
  })

/** The fault a failed cause stands for: its first failure, else its first defect. */
export const faultOf = (cause: Cause.Cause<NodeError>): NodeFault => {
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure)) return failure.value
  return defectOf(Option.getOrElse(Cause.dieOption(cause), () => Cause.squash(cause)))
}

/** The cause a fault stands for, for a result that came from another process. */
export const causeOf = (fault: NodeFault): Cause.Cause<NodeError> => (fault._tag === "NodeDefect" ? Cause.die(fault) : Cause.fail(fault))

/** What the user reads: the message and the hint; a defect is an internal error. */
export const describeFault = (fault: NodeFault): string => {
  if (fault._tag === "NodeDefect") return `internal error: ${fault.message}`
  return fault.hint !== undefined && fault.hint !== "" ? `${fault.message} (hint: ${fault.hint})` : fault.message
}

/** The case and file a fault concerns, as far as it says. */
export interface FailureConcern {
  readonly caseId?: string
  readonly file?: string
}

export const concernOf = (fault: NodeFault): FailureConcern =>
  fault._tag === "NodeDefect"
    ? {}
    : { ...(fault.caseId !== undefined ? { caseId: fault.caseId } : {}), ...(fault.file !== undefined ? { file: fault.file } : {}) }

/** The failures `classify` sorts: what the runtime's services and `src/ops` raise. */
export type KnownError =
  | NodeError
  | CaseDataError
  | NiftiError
  | DicomError
  | DatasetError
  | CheckpointError
  | CheckpointMismatchError
  | WeightsFileError
  | FileSystemError
  | WriteError
  | TrainingDivergedError

const sorted = <A, R>(self: Effect.Effect<A, unknown, R>): Effect.Effect<A, NodeError, R> =>
  Effect.catchAll(self, (e) => {
    const known = classify(e)
    return known !== undefined ? Effect.fail(known) : Effect.die(defectOf(e))
  })

/**
 * A node's own effect with its failures sorted into NodeError. Its failure type must be one
 * `classify` knows, so a node that starts raising a new kind of error does not compile until
 * that kind is sorted here. The pipeline's nodes are wrapped where they are compiled, so the
 * executor only ever sees typed failures and bugs.
 */
export const asNodeError: <A, R>(self: Effect.Effect<A, KnownError, R>) => Effect.Effect<A, NodeError, R> = sorted

/** The same for a node whose failures are not typed yet (`unknown`): what `classify` does not know dies as a defect. */
export const asNodeErrorUntyped: <A, R>(self: Effect.Effect<A, unknown, R>) => Effect.Effect<A, NodeError, R> = sorted
