/**
 * One run of a graph in a run directory, start to finish: take the directory's lock, start the
 * `events.jsonl` appender (and the plain-text logger when asked), announce the plan, execute,
 * and always end with `run-finished` — done, failed, or interrupted with the command that
 * resumes it — written out before the lock is released. Ctrl-C / SIGTERM stop at the next safe
 * point; a second one stops at once.
 */
import { Clock, Effect, Exit, Fiber, Option } from "effect"
import * as path from "node:path"
import { ArtifactStore } from "./artifact-store.ts"
import { EventBus } from "./event-bus.ts"
import { appendEvents, eventsFile } from "./event-log.ts"
import type { PlannedNode, RunEvent } from "./events.ts"
import { cachedManifest, execute, type ExecuteOptions, type NodeOutcome } from "./executor.ts"
import { FileSystem, type FileSystemError } from "./file-system.ts"
import type { Graph } from "./graph.ts"
import * as RunLock from "./run-lock.ts"
import * as StopSignal from "./stop-signal.ts"
import { logEvents, type TextLoggerOptions } from "./text-logger.ts"

/** What run-started announces besides the plan (the pipeline compiler knows these). */
export interface RunHeader {
  readonly pipeline: string
  readonly file: string
  readonly backend: string
  readonly backendReason: string
  readonly thresholds: ReadonlyArray<number>
  readonly maxRounds: number
  /** Where nodes run, in words (`describeExecutor`). */
  readonly executor?: string
}

type RunFinished = Extract<RunEvent, { _tag: "run-finished" }>

export interface RunOptions<E = unknown, R = never> extends ExecuteOptions<E, R> {
  readonly header: RunHeader
  /** Install SIGINT/SIGTERM handlers for the run (the CLI does; tests drive `stop` instead). */
  readonly handleSignals?: boolean
  /** Write plain-text log lines here (non-TTY output). */
  readonly log?: (line: string) => Effect.Effect<void>
  readonly logOptions?: TextLoggerOptions
  /** The command that picks the run up again (default `rstn resume <run dir>`). */
  readonly resumeCommand?: string
  /** Evaluation figures for run-finished; the generic runtime knows none. */
  readonly summarize?: (outcomes: ReadonlyMap<string, NodeOutcome>) => Pick<RunFinished, "summary" | "coarse" | "failedCases">
  /** Called with the stop signal once it exists, so a caller (a test, the TUI's quit) can request a stop. */
  readonly onStopSignal?: (stop: StopSignal.StopSignal) => void
}

export type RunStatus = "done" | "failed" | "interrupted"

export interface RunResult {
  readonly status: RunStatus
  readonly outcomes: ReadonlyMap<string, NodeOutcome>
  readonly resumeHint: string | null
  /** A stale lock that was taken over. */
  readonly tookOver: Option.Option<RunLock.LockInfo>
}

export const exitCode = (status: RunStatus): number => (status === "done" ? 0 : status === "interrupted" ? 130 : 1)

const shellQuote = (s: string): string => (/^[A-Za-z0-9_./:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`)

/** The run directory as the user would type it: relative to the working directory when inside it. */
export const displayDir = (dir: string): string => {
  const rel = path.relative(process.cwd(), dir)
  return rel !== "" && !rel.startsWith("..") && !path.isAbsolute(rel) ? rel : dir
}

/** Each node as run-started announces it: cached when its outputs exist under its key. */
export const plannedNodes = <E, R>(graph: Graph<E, R>): Effect.Effect<ReadonlyArray<PlannedNode>, never, ArtifactStore | EventBus> =>
  Effect.gen(function* () {
    const store = yield* ArtifactStore
    return yield* Effect.forEach(graph.nodes, (n) =>
      Effect.gen(function* () {
        const here = Option.isSome(yield* cachedManifest(store, n as never))
        // A node the shared store holds is taken from it when its turn comes: cached as well.
        const shared = !here && store.shared !== undefined && Option.isSome(yield* store.shared.holder(n.key))
        return { key: n.key, id: n.id, group: n.group, label: n.label, status: here || shared ? ("cached" as const) : ("pending" as const) }
      })
    )
  })

export const executeRun = <E, R>(
  graph: Graph<E, R>,
  options: RunOptions<E, R>
): Effect.Effect<RunResult, RunLock.RunLockedError | RunLock.BadLockError | FileSystemError, R | ArtifactStore | EventBus | FileSystem> =>
  Effect.scoped(
    // Uninterruptible except while waiting for the nodes: an interruption from outside (the
    // caller's fiber) stops the nodes and still ends the log with run-finished.
    Effect.uninterruptibleMask((restore) =>
      Effect.gen(function* () {
        const store = yield* ArtifactStore
        const bus = yield* EventBus
        const runDir = store.runDir
        const startedAt = yield* Clock.currentTimeMillis
        const lock = yield* restore(RunLock.acquire(runDir, startedAt))
        // Signals are ours from the moment we hold the lock, so Ctrl-C never leaves it behind.
        const stop = yield* StopSignal.make
        options.onStopSignal?.(stop)
        let work: Fiber.RuntimeFiber<ReadonlyMap<string, NodeOutcome>> | undefined
        let forced = false
        if (options.handleSignals === true) {
          yield* StopSignal.onProcessSignals((signal, count) =>
            count === 1
              ? Effect.zipRight(
                  stop.request({ _tag: "signal", signal }),
                  Effect.flatMap(Clock.currentTimeMillis, (now) =>
                    bus.publish({
                      _tag: "log",
                      at: now,
                      message: `${signal}: stopping at the next safe point (send it again to stop at once)`
                    })
                  )
                )
              : Effect.suspend(() => {
                  forced = true
                  return work === undefined ? Effect.void : Fiber.interrupt(work)
                })
          )
        }
        const appender = yield* restore(appendEvents(eventsFile(runDir)))
        const logger = options.log === undefined ? undefined : yield* restore(logEvents(options.log, options.logOptions))
        const at = Clock.currentTimeMillis

        yield* bus.publish({
          _tag: "run-started",
          at: startedAt,
          ...options.header,
          runDir: displayDir(runDir),
          pid: process.pid,
          nodes: yield* plannedNodes(graph),
          thresholds: [...options.header.thresholds]
        })
        if (Option.isSome(lock.tookOver)) {
          const old = lock.tookOver.value
          yield* bus.publish({
            _tag: "warning",
            at: yield* at,
            file: RunLock.lockFile(runDir),
            message: `took over the lock of process ${old.pid} on ${old.hostname}, which is no longer running (started ${new Date(old.startedAt).toISOString()})`
          })
        }

        work = yield* Effect.fork(restore(execute(graph, options, stop)))
        const waited = yield* Effect.exit(restore(Fiber.await(work)))
        if (Exit.isFailure(waited)) {
          forced = true
          yield* Fiber.interrupt(work)
        }
        const exit = Exit.isSuccess(waited) ? waited.value : undefined
        const outcomes: ReadonlyMap<string, NodeOutcome> = exit !== undefined && Exit.isSuccess(exit) ? exit.value : new Map()
        if (exit !== undefined && Exit.isFailure(exit)) forced = true
        const reason = yield* stop.requested
        const anyFailed = [...outcomes.values()].some((o) => o._tag === "failed")
        // A node can stop without this run asking (a worker or job signalled from outside): the
        // run is then unfinished, never "done".
        const anyStopped = [...outcomes.values()].some((o) => o._tag === "stopped" || o._tag === "not-run")
        const status: RunStatus =
          forced || (Option.isSome(reason) && reason.value._tag === "signal") ? "interrupted" : anyFailed ? "failed" : anyStopped ? "interrupted" : "done"
        const resumeHint = status === "done" ? null : (options.resumeCommand ?? `rstn resume ${shellQuote(displayDir(runDir))}`)
        const summary = options.summarize?.(outcomes) ?? { summary: null, coarse: null, failedCases: [] }
        yield* bus.publish({ _tag: "run-finished", at: yield* at, status, ...summary, resumeHint })
        if (logger !== undefined) yield* Fiber.join(logger)
        yield* Fiber.join(appender)
        return { status, outcomes, resumeHint, tookOver: lock.tookOver } satisfies RunResult
      })
    )
  )

/** The services a run needs besides the nodes' own: the store of `runDir`, a bus, the real file system. */
export const executeRunIn = <E, R>(
  runDir: string,
  graph: Graph<E, R>,
  options: RunOptions<E, R>
): Effect.Effect<RunResult, RunLock.RunLockedError | RunLock.BadLockError | FileSystemError, R> =>
  executeRun(graph, options).pipe(
    Effect.provide(ArtifactStore.layer(runDir)),
    Effect.provide(EventBus.layer),
    Effect.provide(FileSystem.layer)
  )
