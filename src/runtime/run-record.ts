/**
 * `<runDir>/pipeline.json`: the resolved pipeline a run directory was started with, with the file
 * and the `--set` flags it came from. `rstn resume` runs it again, and every process that runs
 * nodes for the run (local workers, Slurm jobs) compiles the same graph from it.
 */
import { Effect, Schema } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { Pipeline } from "../dsl/pipeline.ts"
import { atomicWrite, type WriteError } from "./atomic-write.ts"

export const PIPELINE_FILE = "pipeline.json"

export const RunRecord = Schema.Struct({
  /** The pipeline file as given to `rstn run`. */
  file: Schema.String,
  overrides: Schema.Array(Schema.String),
  pipeline: Pipeline
})
export type RunRecord = typeof RunRecord.Type

export class ResumeError extends Schema.TaggedError<ResumeError>()("ResumeError", {
  file: Schema.String,
  reason: Schema.String,
  hint: Schema.String
}) {
  override get message(): string {
    return `${this.file}: ${this.reason}`
  }
}

export const readRunRecord = (runDir: string): Effect.Effect<RunRecord, ResumeError> =>
  Effect.gen(function* () {
    const file = path.join(runDir, PIPELINE_FILE)
    const text = yield* Effect.try({
      try: () => fs.readFileSync(file, "utf8"),
      catch: () =>
        new ResumeError({
          file,
          reason: "not found: this is not a run directory, or its run never started",
          hint: "give the run directory that `rstn run` printed, or start the run with `rstn run FILE`"
        })
    })
    return yield* Schema.decodeUnknown(Schema.parseJson(RunRecord))(text).pipe(
      Effect.mapError(
        (e) => new ResumeError({ file, reason: `cannot be read: ${e.message.split("\n")[0]}`, hint: "start the run again with `rstn run FILE`" })
      )
    )
  })

export const writeRunRecord = (runDir: string, record: RunRecord): Effect.Effect<void, WriteError> =>
  atomicWrite(path.join(runDir, PIPELINE_FILE), `${JSON.stringify(Schema.encodeSync(RunRecord)(record), null, 2)}\n`)

/** `--backend` and `--run-dir` are pipeline keys given on the command line. */
export const flagOverrides = (flags: { readonly backend?: string | undefined; readonly runDir?: string | undefined }): string[] => [
  ...(flags.backend !== undefined ? [`run.backend=${flags.backend}`] : []),
  ...(flags.runDir !== undefined ? [`run.dir=${flags.runDir}`] : [])
]
