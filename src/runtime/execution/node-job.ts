/**
 * One node as a batch job: `rstn node-run RUN_DIR NODE_ID --key KEY`, what a Slurm job runs on
 * whichever machine the cluster picks. The job and its driver share nothing but the run
 * directory, so they talk through three files in the node's key directory:
 *
 *   job-request.json   written by the driver before it submits: the inputs' manifests and the
 *                      missing inputs, exactly what a local worker gets over its channel;
 *   job-events.jsonl   appended by the job, one event per line; the driver follows it;
 *   job-result.json    written (atomically) by the job when the node has ended: finished,
 *                      failed or stopped. Its absence after the job ended means the job died.
 *
 * The driver commits the manifest, never the job. SIGTERM (scancel) or SIGINT stop the node at
 * its next safe point, with a checkpoint, like Ctrl-C does for a local run.
 */
import { Effect, Either, Schema } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { atomicWrite, type WriteError } from "../atomic-write.ts"
import { JOB_EVENTS, JOB_REQUEST, JOB_RESULT, keyDirName } from "../artifact-store.ts"
import { encodeLine, type RunEvent } from "../events.ts"
import { Manifest } from "../manifest.ts"
import * as StopSignal from "../stop-signal.ts"
import { NodeFailure } from "./node-error.ts"
import { openHost, runRequested } from "./node-host.ts"
import { BodyOutcome, outcomeOf } from "./worker-protocol.ts"

export { JOB_EVENTS, JOB_REQUEST, JOB_RESULT } from "../artifact-store.ts"

export const JobRequest = Schema.Struct({
  id: Schema.String,
  key: Schema.String,
  inputs: Schema.Array(Manifest),
  missingInputs: Schema.Array(Schema.String)
})
export type JobRequest = typeof JobRequest.Type

export const JobResult = Schema.Struct({
  /** The process that ran the node, and on which machine. */
  host: Schema.String,
  pid: Schema.Number,
  outcome: BodyOutcome
})
export type JobResult = typeof JobResult.Type

/** The node's key directory (artifact-store.ts), where the job files live beside its outputs. */
export const jobDir = (runDir: string, id: string, key: string): string => path.join(runDir, "nodes", ...id.split("/"), keyDirName(key))

export const encodeJobRequest = (r: JobRequest): string => `${JSON.stringify(Schema.encodeSync(JobRequest)(r))}\n`
export const decodeJobResult = Schema.decodeUnknownEither(Schema.parseJson(JobResult))

const writeResult = (dir: string, outcome: BodyOutcome): Effect.Effect<void, WriteError> =>
  atomicWrite(
    path.join(dir, JOB_RESULT),
    `${JSON.stringify(Schema.encodeSync(JobResult)({ host: (process.env.SLURMD_NODENAME ?? process.env.HOSTNAME ?? "") || "localhost", pid: process.pid, outcome }))}\n`
  )

/** Runs the node and records how it ended; the exit code says it too (0 finished, 1 failed, 130 stopped). */
export const runJob = (runDir: string, id: string, key: string, backend: string, threads: number): Effect.Effect<number, WriteError> =>
  Effect.gen(function* () {
    const dir = jobDir(path.resolve(runDir), id, key)
    const failed = (message: string, hint: string) =>
      Effect.as(writeResult(dir, { _tag: "failed", fault: new NodeFailure({ message, hint }) }), 1)
    const requestText = yield* Effect.either(Effect.try(() => fs.readFileSync(path.join(dir, JOB_REQUEST), "utf8")))
    if (Either.isLeft(requestText)) return yield* failed(`${id}: ${path.join(dir, JOB_REQUEST)} cannot be read`, "the job must see the run directory at the same path as the driver")
    const request = Schema.decodeUnknownEither(Schema.parseJson(JobRequest))(requestText.right)
    if (Either.isLeft(request) || request.right.id !== id || request.right.key !== key) {
      return yield* failed(`${id}: ${path.join(dir, JOB_REQUEST)} is not this node's request`, "run `rstn resume` again: it submits the node anew")
    }
    const stop = yield* StopSignal.make
    const onSignal = (signal: "SIGINT" | "SIGTERM") => () => Effect.runSync(stop.request({ _tag: "signal", signal }))
    process.on("SIGINT", onSignal("SIGINT"))
    process.on("SIGTERM", onSignal("SIGTERM"))
    const host = yield* Effect.either(openHost(runDir, backend, threads))
    if (Either.isLeft(host)) return yield* failed(host.left.message, host.left.hint)
    const events = path.join(dir, JOB_EVENTS)
    // One write per event, appended: the driver reads whole lines only, so it never sees half of one.
    const publish = (event: RunEvent) => Effect.sync(() => fs.appendFileSync(events, `${encodeLine(event)}\n`))
    const result = yield* runRequested(host.right, request.right, stop, publish)
    yield* writeResult(dir, outcomeOf(result))
    return result._tag === "finished" ? 0 : result._tag === "stopped" ? 130 : 1
  })
