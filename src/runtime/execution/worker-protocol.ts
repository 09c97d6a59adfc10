/**
 * What the driver and a process running nodes for it say to each other: a local worker over its
 * IPC channel, a Slurm job through files in the node's directory. One schema per message, so
 * both ends decode what the other wrote and a version mismatch is an error, not a guess.
 */
import { Schema } from "effect"
import { RunEvent } from "../events.ts"
import { FileOutput, Manifest } from "../manifest.ts"
import type { NodeResult } from "../node.ts"
import type { BodyResult } from "./node-body.ts"
import { causeOf, faultOf, NodeFault } from "./node-error.ts"

const JsonRecord = Schema.Record({ key: Schema.String, value: Schema.Unknown })

/** How a node's body ended, as it crosses processes (execution/node-body.ts BodyResult). */
export const BodyOutcome = Schema.Union(
  Schema.TaggedStruct("finished", { json: JsonRecord, files: Schema.Record({ key: Schema.String, value: FileOutput }) }),
  Schema.TaggedStruct("failed", { fault: NodeFault }),
  Schema.TaggedStruct("stopped", {})
)
export type BodyOutcome = typeof BodyOutcome.Type

/** A body's result as it is sent. */
export const outcomeOf = (r: BodyResult): BodyOutcome =>
  r._tag === "finished"
    ? { _tag: "finished", json: r.json, files: r.files }
    : r._tag === "failed"
      ? { _tag: "failed", fault: faultOf(r.cause) }
      : { _tag: "stopped" }

/** A result another process sent, as the scheduler takes it. */
export const bodyResultOf = (o: BodyOutcome): BodyResult =>
  o._tag === "finished"
    ? // The sender checked the outputs are JSON (node-body.ts) before they crossed as JSON.
      { _tag: "finished", json: o.json as NodeResult, files: o.files }
    : o._tag === "failed"
      ? { _tag: "failed", cause: causeOf(o.fault) }
      : { _tag: "stopped" }

/** Driver → worker: run this node (its key must be the one the worker compiles), or stop it at a safe point. */
export const ToWorker = Schema.Union(
  Schema.TaggedStruct("run", {
    id: Schema.String,
    key: Schema.String,
    inputs: Schema.Array(Manifest),
    missingInputs: Schema.Array(Schema.String)
  }),
  Schema.TaggedStruct("stop", {})
)
export type ToWorker = typeof ToWorker.Type

/** Worker → driver. */
export const FromWorker = Schema.Union(
  /** Set up (backend loaded, graph compiled): it takes nodes now. */
  Schema.TaggedStruct("ready", { pid: Schema.Number, backend: Schema.String }),
  /** It cannot run nodes at all (its backend or the run directory is unusable). */
  Schema.TaggedStruct("unusable", { message: Schema.String, hint: Schema.String }),
  Schema.TaggedStruct("event", { event: RunEvent }),
  Schema.TaggedStruct("result", { id: Schema.String, outcome: BodyOutcome })
)
export type FromWorker = typeof FromWorker.Type

export const encodeToWorker = Schema.encodeSync(ToWorker)
export const decodeToWorker = Schema.decodeUnknownEither(ToWorker)
export const encodeFromWorker = Schema.encodeSync(FromWorker)
export const decodeFromWorker = Schema.decodeUnknownEither(FromWorker)
