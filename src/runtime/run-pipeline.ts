/**
 * `rstn run` and `rstn resume` as one effect: check the backend before any work, list (and on
 * first use generate) the dataset, compile the graph, keep the resolved pipeline in the run
 * directory (so `rstn resume` runs exactly it), execute with the terminal UI or plain log lines,
 * then publish the report and predicted masks at the run directory's root.
 */
import { Effect, Either, type Layer, Option, Queue, Schema } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { Pipeline } from "../dsl/pipeline.ts"
import { ArtifactStore } from "./artifact-store.ts"
import { atomicWrite, WriteError } from "./atomic-write.ts"
import { checkBackend } from "./backend.ts"
import { coarseId, compilePipeline, REPORT_ID, testId } from "./compile.ts"
import { EventBus } from "./event-bus.ts"
import type { RunEvent } from "./events.ts"
import type { FailureConcern, NodeOutcome } from "./executor.ts"
import { FileSystem } from "./file-system.ts"
import type { Manifest } from "./manifest.ts"
import type { Publication } from "./nodes/evaluate.ts"
import { replayCase, type TestCaseResult } from "./nodes/test-case.ts"
import { type PipelineDataset, prepareDataset } from "./pipeline-dataset.ts"
import { displayDir, executeRun, exitCode } from "./run.ts"
import * as RunLock from "./run-lock.ts"
import type { StopSignal } from "./stop-signal.ts"

/** The resolved pipeline a run directory was started with: `rstn resume` runs it again. */
export const PIPELINE_FILE = "pipeline.json"

const RunRecord = Schema.Struct({
  /** The pipeline file as given to `rstn run`. */
  file: Schema.String,
  overrides: Schema.Array(Schema.String),
  pipeline: Pipeline
})
type RunRecord = typeof RunRecord.Type

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

export interface RunRequest {
  readonly file: string
  readonly overrides: ReadonlyArray<string>
  readonly pipeline: Pipeline
  /** Show the terminal UI (stdout is a TTY and --no-tui was not given). */
  readonly tui: boolean
  /**
   * Where plain log lines, dataset progress and the final summary go. Default: the summary and
   * log lines on stdout, dataset progress on stderr (so stdout stays the run's own account).
   */
  readonly out?: (line: string) => void
  /** The file system the run's store and event log use (tests inject faults); default the real one. */
  readonly fileSystem?: Layer.Layer<FileSystem>
}

const COARSE_PREFIX = coarseId("", "Z").split("/")[0]! + "/"
const TEST_PREFIX = testId("")

/** The case a test or coarse node works on, from its id (`test/CASE`, `coarse/CASE/V`; compile.ts). */
export const caseOfNode = (id: string): string | undefined => {
  if (id.startsWith(TEST_PREFIX)) return id.slice(TEST_PREFIX.length)
  if (id.startsWith(COARSE_PREFIX)) return id.slice(COARSE_PREFIX.length).split("/")[0]
  return undefined
}

/**
 * The case a failure concerns, for its error event: the one the error names, else the node's own
 * case, else the case whose image or label is the failing file (a training node reads many).
 */
export const caseOfFailure =
  (dataset: PipelineDataset) =>
  (id: string, concern: FailureConcern): string | undefined =>
    concern.caseId ??
    caseOfNode(id) ??
    (concern.file === undefined ? undefined : dataset.cases.find((c) => c.image === concern.file || c.label === concern.file)?.id)

/** The run's own summary for run-finished, taken from the report node. */
const summarize = (outcomes: ReadonlyMap<string, NodeOutcome>) => {
  const report = outcomes.get(REPORT_ID)
  if (report === undefined || (report._tag !== "done" && report._tag !== "cached")) {
    const failed = [...outcomes.entries()].filter(([id, o]) => id.startsWith("test/") && (o._tag === "failed" || o._tag === "skipped"))
    return { summary: null, coarse: null, failedCases: failed.map(([id]) => id.slice("test/".length)) }
  }
  const json = report.manifest.outputs.json as unknown as {
    final: { mean: number; std: number; max: number; min: number; count: number } | null
    coarse: { mean: number; std: number; max: number; min: number; count: number } | null
    failedCases: string[]
  }
  const stats = (s: typeof json.final) => (s === null || s.count === 0 ? null : s)
  return { summary: stats(json.final), coarse: stats(json.coarse), failedCases: json.failedCases }
}

/** Copies the report's files and the predicted masks to the run directory's root. */
const publish = (runDir: string, manifest: Manifest, outputDir: string) =>
  Effect.gen(function* () {
    const copies: Publication[] = [
      ...Object.values(manifest.outputs.files).map((f) => ({ from: path.join(outputDir, path.basename(f.path)), to: path.basename(f.path) })),
      ...((manifest.outputs.json.publish as unknown as Publication[] | undefined) ?? [])
    ]
    for (const c of copies) {
      const bytes = yield* Effect.try({
        try: () => fs.readFileSync(c.from),
        catch: () => new WriteError({ file: path.join(runDir, c.to), reason: `its source ${c.from} is gone`, hint: "run again to recompute it" })
      })
      yield* atomicWrite(path.join(runDir, c.to), bytes)
    }
  })

export const runPipeline = (req: RunRequest) =>
  Effect.gen(function* () {
    const p = req.pipeline
    const out = req.out ?? ((line: string) => void process.stdout.write(`${line}\n`))
    const backend = yield* checkBackend(p.run.backend, { source: "run.backend" })
    const runDir = path.resolve(p.run.dir)
    // Refuse early, before generating data or touching pipeline.json, when another run holds the directory.
    const held = yield* RunLock.readLock(runDir).pipe(Effect.provide(FileSystem.layer))
    if (Option.isSome(held) && !RunLock.isStale(held.value)) {
      return yield* new RunLock.RunLockedError({
        file: RunLock.lockFile(runDir),
        owner: held.value,
        hint: `wait for it to finish, or stop it (kill -INT ${held.value.pid}) and resume`
      })
    }
    const progress = req.out ?? ((line: string) => void process.stderr.write(`${line}\n`))
    const dataset = yield* prepareDataset(p, { generate: true, onProgress: progress })
    const graph = yield* Either.match(compilePipeline(p, dataset), { onLeft: Effect.fail, onRight: Effect.succeed })
    const record: RunRecord = { file: req.file, overrides: [...req.overrides], pipeline: { ...p, run: { ...p.run, dir: runDir } } }
    yield* atomicWrite(path.join(runDir, PIPELINE_FILE), `${JSON.stringify(Schema.encodeSync(RunRecord)(record), null, 2)}\n`)

    const converge = p.test.stages.find((s) => s.kind === "converge-until")
    const header = {
      pipeline: p.name,
      file: req.file,
      backend: backend.name,
      backendReason: backend.reason,
      thresholds: p.evaluation.thresholds,
      maxRounds: converge?.kind === "converge-until" ? converge.maxRounds : 0
    }
    let stop: StopSignal | undefined
    // q, y pressed while the run is still taking its lock (no stop signal yet): stop once it has one.
    let quitEarly = false
    const ui = req.tui ? yield* Effect.promise(() => import("../../tui/index.ts")) : undefined

    const result = yield* Effect.scoped(
      Effect.gen(function* () {
        const bus = yield* EventBus
        const store = yield* ArtifactStore
        let mounted: { done: Promise<void> } | undefined
        if (ui !== undefined) {
          const events = yield* bus.subscribe
          let emit: ((e: RunEvent) => void) | undefined
          let end: ((reason?: string) => void) | undefined
          const pending: RunEvent[] = []
          yield* Effect.forkScoped(
            Effect.forever(
              Effect.flatMap(Queue.take(events), (e) =>
                Effect.sync(() => {
                  if (emit) emit(e)
                  else pending.push(e)
                  if (e._tag === "run-finished") end?.()
                })
              )
            )
          )
          const shown = ui.mountRunUi({
            events: (e, finish) => {
              for (const x of pending.splice(0)) e(x)
              emit = e
              end = finish
              return () => {
                emit = undefined
              }
            },
            onQuit: () => {
              if (stop) Effect.runFork(stop.request({ _tag: "signal", signal: "SIGINT" }))
              else quitEarly = true
            }
          })
          mounted = shown
          // A run that fails before run-finished (its lock taken meanwhile, its log unwritable) must
          // not leave the screen mounted: the UI shows the stream ended and leaves, and the error
          // is printed below it. After run-finished this does nothing.
          yield* Effect.addFinalizer(() =>
            Effect.promise(async () => {
              end?.("the run ended without finishing")
              await Promise.race([shown.done, new Promise((resolve) => setTimeout(resolve, 1000).unref())])
              shown.unmount()
            })
          )
        }
        const r = yield* executeRun(graph, {
          concurrency: 1,
          onNodeError: p.run.onCaseError,
          caseOf: caseOfFailure(dataset),
          header,
          handleSignals: true,
          ...(ui === undefined ? { log: (line: string) => Effect.sync(() => out(line)) } : {}),
          summarize,
          onStopSignal: (s) => {
            stop = s
            if (quitEarly) Effect.runFork(s.request({ _tag: "signal", signal: "SIGINT" }))
          },
          onCached: (id, manifest) =>
            id.startsWith("test/")
              ? Effect.flatMap(Effect.clockWith((c) => c.currentTimeMillis), (at) =>
                  Effect.forEach(replayCase(at, manifest.outputs.json as unknown as TestCaseResult, p), bus.publish, { discard: true })
                )
              : Effect.void
        })
        if (mounted) yield* Effect.promise(() => mounted!.done)
        const report = r.outcomes.get(REPORT_ID)
        if (report && (report._tag === "done" || report._tag === "cached")) {
          yield* publish(runDir, report.manifest, store.outputDir(REPORT_ID, report.manifest.key))
        }
        return r
      })
    ).pipe(Effect.provide(ArtifactStore.layer(runDir)), Effect.provide(EventBus.layer), Effect.provide(req.fileSystem ?? FileSystem.layer))

    const summary = path.join(runDir, "summary.md")
    if (result.status === "done" && fs.existsSync(summary)) {
      out("")
      out(fs.readFileSync(summary, "utf8").trimEnd())
      out("")
      out(`run directory: ${displayDir(runDir)} (summary.md, summary.json, cases.csv, predictions/)`)
    } else if (result.resumeHint !== null && ui !== undefined) {
      // Without the UI the log's last line (run-finished) already said how to resume.
      out(`run ${result.status}; to resume: ${result.resumeHint}`)
    }
    return exitCode(result.status)
  })

/** `--backend` and `--run-dir` are pipeline keys given on the command line. */
export const flagOverrides = (flags: { readonly backend?: string | undefined; readonly runDir?: string | undefined }): string[] => [
  ...(flags.backend !== undefined ? [`run.backend=${flags.backend}`] : []),
  ...(flags.runDir !== undefined ? [`run.dir=${flags.runDir}`] : [])
]

