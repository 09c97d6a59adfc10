/**
 * `rstn run` and `rstn resume` as one effect: check the backend before any work, list (and on
 * first use generate) the dataset, compile the graph, keep the resolved pipeline in the run
 * directory (so `rstn resume` runs exactly it), execute it where `run.executor` says, then
 * publish the report and predicted masks at the run directory's root, and draw report.html.
 *
 * What the run looks like to its user is not decided here: the run's events are offered as a
 * stream to an observer the caller passes (the CLI mounts the terminal UI on it), and without
 * one the run prints plain log lines.
 */
import { Effect, Either, type Layer, Option, type Scope, type Stream } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import type { Pipeline } from "../dsl/pipeline.ts"
import { ArtifactStore } from "./artifact-store.ts"
import { checkBackend } from "./backend.ts"
import { compilePipeline, REPORT_ID } from "./compile.ts"
import { EventBus } from "./event-bus.ts"
import type { RunEvent } from "./events.ts"
import { describeExecutor, driverThreads, executorFor, nodeThreads } from "./execution/choose.ts"
import { Slurm } from "./execution/slurm-client.ts"
import { caseOfFailure } from "./failure-case.ts"
import { FileSystem } from "./file-system.ts"
import { replayCase, type TestCaseResult } from "./nodes/test-case.ts"
import { sharedStoreDir } from "./shared-store.ts"
import { prepareDataset } from "./pipeline-dataset.ts"
import { displayDir, executeRun, exitCode } from "./run.ts"
import * as RunLock from "./run-lock.ts"
import { type RunRecord, writeRunRecord } from "./run-record.ts"
import { failuresMarkdown, publish, summarize } from "./run-report.ts"
import type { StopSignal } from "./stop-signal.ts"

export { flagOverrides, PIPELINE_FILE, readRunRecord, ResumeError } from "./run-record.ts"

/** A view of a run its caller attaches (the terminal UI): the run's events, and a way to stop it. */
export interface RunSession {
  /** Every event of the run, from run-started through run-finished; it ends early if the run fails before finishing. */
  readonly events: Stream.Stream<RunEvent>
  /** Asks the run to stop at its next safe point (the UI's q, y). */
  readonly requestStop: () => void
}

/**
 * Attaches a view to a run for the scope's lifetime; the effect it returns waits until the view
 * is done (the UI left its screen), which the run awaits before printing its summary.
 */
export type RunObserver = (session: RunSession) => Effect.Effect<Effect.Effect<void>, never, Scope.Scope>

export interface RunRequest {
  readonly file: string
  readonly overrides: ReadonlyArray<string>
  readonly pipeline: Pipeline
  /** A view of the run (the terminal UI); without one the run prints plain log lines to `out`. */
  readonly observe?: RunObserver
  /**
   * Where plain log lines, dataset progress and the final summary go. Default: the summary and
   * log lines on stdout, dataset progress on stderr (so stdout stays the run's own account).
   */
  readonly out?: (line: string) => void
  /** The file system the run's store and event log use (tests inject faults); default the real one. */
  readonly fileSystem?: Layer.Layer<FileSystem>
  /** The Slurm commands of `run.executor.kind: slurm` (tests pass `Slurm.Test`); default the real ones. */
  readonly slurm?: Layer.Layer<Slurm>
  /** Print summary.md at the end (default); a sweep prints one comparison of its runs instead. */
  readonly printSummary?: boolean
}

export const runPipeline = (req: RunRequest) =>
  Effect.gen(function* () {
    const p = req.pipeline
    const out = req.out ?? ((line: string) => void process.stdout.write(`${line}\n`))
    const backend = yield* checkBackend(p.run.backend, { source: "run.backend", threads: driverThreads(p.run) })
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
    const shared = sharedStoreDir(p.run.store, runDir)
    // Absolute, as run.dir: `rstn resume` from another directory shares the same store.
    const record: RunRecord = { file: req.file, overrides: [...req.overrides], pipeline: { ...p, run: { ...p.run, dir: runDir, store: shared ?? "none" } } }
    yield* writeRunRecord(runDir, record)

    const converge = p.test.stages.find((s) => s.kind === "converge-until")
    const header = {
      pipeline: p.name,
      file: req.file,
      backend: backend.name,
      backendReason: backend.reason,
      thresholds: p.evaluation.thresholds,
      maxRounds: converge?.kind === "converge-until" ? converge.maxRounds : 0,
      executor: describeExecutor(p.run.executor)
    }
    let stop: StopSignal | undefined
    // A stop asked for while the run is still taking its lock (no stop signal yet): made once it has one.
    let stopEarly = false
    const requestStop = () => {
      if (stop) Effect.runFork(stop.request({ _tag: "signal", signal: "SIGINT" }))
      else stopEarly = true
    }

    const result = yield* Effect.scoped(
      Effect.gen(function* () {
        const bus = yield* EventBus
        const store = yield* ArtifactStore
        const slurm = yield* Slurm
        const viewDone = req.observe === undefined ? Effect.void : yield* req.observe({ events: yield* bus.events, requestStop })
        const r = yield* executeRun(graph, {
          concurrency: 1,
          executor: executorFor(p.run.executor, { runDir, backend: backend.name, backendChoice: p.run.backend, slurm, threads: (kind) => nodeThreads(p.run, kind) }),
          onNodeError: p.run.onCaseError,
          caseOf: caseOfFailure(dataset),
          header,
          handleSignals: true,
          ...(req.observe === undefined ? { log: (line: string) => Effect.sync(() => out(line)) } : {}),
          summarize,
          onStopSignal: (s) => {
            stop = s
            if (stopEarly) Effect.runFork(s.request({ _tag: "signal", signal: "SIGINT" }))
          },
          onCached: (id, manifest) =>
            id.startsWith("test/")
              ? Effect.flatMap(Effect.clockWith((c) => c.currentTimeMillis), (at) =>
                  Effect.forEach(replayCase(at, manifest.outputs.json as unknown as TestCaseResult, p), bus.publish, { discard: true })
                )
              : Effect.void
        })
        yield* viewDone
        const report = r.outcomes.get(REPORT_ID)
        if (report && (report._tag === "done" || report._tag === "cached")) {
          const failures = failuresMarkdown(r.outcomes, (id) => graph.byId.get(id)?.label ?? id)
          yield* publish(runDir, report.manifest, store.outputDir(REPORT_ID, report.manifest.key), failures)
          // The page is a view of the published results; a failure to draw it loses no result, so
          // it is reported and the run keeps its status (`rstn report` makes it again).
          const { ensureReport } = yield* Effect.promise(() => import("./html-report.ts"))
          const written = yield* Effect.either(ensureReport(runDir))
          if (Either.isLeft(written)) out(`warning: report.html was not written: ${written.left.message}${"hint" in written.left ? ` (${written.left.hint})` : ""}`)
        }
        return r
      })
    ).pipe(
      Effect.provide(ArtifactStore.layer(runDir, { shared })),
      Effect.provide(EventBus.layer),
      Effect.provide(req.fileSystem ?? FileSystem.layer),
      Effect.provide(req.slurm ?? Slurm.layer)
    )

    const summary = path.join(runDir, "summary.md")
    if (result.status === "done" && req.printSummary === false) {
      out(`run directory: ${displayDir(runDir)} (summary.md, summary.json, cases.csv, predictions/)`)
    } else if (result.status === "done" && fs.existsSync(summary)) {
      out("")
      out(fs.readFileSync(summary, "utf8").trimEnd())
      out("")
      out(`run directory: ${displayDir(runDir)} (summary.md, summary.json, cases.csv, report.html, predictions/)`)
    } else if (result.resumeHint !== null && req.observe !== undefined) {
      // Without a view the log's last line (run-finished) already said how to resume.
      out(`run ${result.status}; to resume: ${result.resumeHint}`)
    }
    return exitCode(result.status)
  })
