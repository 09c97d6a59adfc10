/**
 * `rstn status RUN_DIR`: the state of a run and of each of its nodes, read from the run
 * directory alone — the plan and progress from `events.jsonl` (the latest run in it), whether a
 * process still owns the run from `run.lock`, and what is finished from the manifests. It never
 * writes to the directory, so it is safe while the run is going on.
 */
import { Data, Effect, Option } from "effect"
import * as path from "node:path"
import * as ArtifactStore from "./artifact-store.ts"
import { EVENTS_FILE, eventsFile, parseEventLog } from "./event-log.ts"
import { NodeGroup, type RunEvent } from "./events.ts"
import { FileSystem, type FileSystemError } from "./file-system.ts"
import * as RunLock from "./run-lock.ts"
import { formatDuration } from "./text-logger.ts"

export class NotARunError extends Data.TaggedError("NotARunError")<{
  readonly file: string
  readonly reason: string
  readonly hint: string
}> {
  override get message(): string {
    return `${this.file} is not a run directory: ${this.reason}`
  }
}

export type NodeState = "done" | "cached" | "running" | "pending" | "failed" | "skipped"

export interface NodeStatusEntry {
  readonly id: string | undefined
  readonly key: string
  readonly label: string
  readonly group: NodeGroup
  readonly state: NodeState
  /** The failure message, for failed nodes. */
  readonly message?: string
  /** The last training progress reported by the node. */
  readonly progress?: { readonly iteration: number; readonly iterations: number }
  readonly durationMs?: number
  /** A checkpoint exists: the node continues from it when resumed. */
  readonly resumable: boolean
  /** Where a running node runs (a local worker, a Slurm job), as its node-started said. */
  readonly worker?: string
  readonly pid?: number
  readonly jobId?: string
}

/** `died`: no run-finished was written and no process holds the run (kill -9, power cut). */
export type RunState = "running" | "done" | "failed" | "interrupted" | "died"

export interface RunStatusReport {
  readonly runDir: string
  readonly state: RunState
  readonly pipeline: string
  readonly file: string
  readonly backend: string
  /** Where nodes run (`run.executor`), when the run said. */
  readonly executor: string | undefined
  readonly startedAt: number
  readonly finishedAt: number | undefined
  readonly lock: Option.Option<RunLock.LockInfo>
  readonly nodes: ReadonlyArray<NodeStatusEntry>
  readonly resumeHint: string | null
  /** How many runs (starts and resumes) the directory has seen. */
  readonly runs: number
  /** events.jsonl lines that did not decode. */
  readonly invalidLines: ReadonlyArray<number>
}

export const runStatus = (
  runDir: string
): Effect.Effect<RunStatusReport, NotARunError | FileSystemError | RunLock.BadLockError, FileSystem> =>
  Effect.gen(function* () {
    const files = yield* FileSystem
    const file = eventsFile(runDir)
    if (!(yield* files.exists(file))) {
      return yield* new NotARunError({
        file: runDir,
        reason: `it has no ${EVENTS_FILE}`,
        hint: "give the directory a run was started in (run.dir in the pipeline, or --run-dir)"
      })
    }
    const log = parseEventLog(yield* files.readText(file))
    const starts = log.events.flatMap((e, i) => (e._tag === "run-started" ? [i] : []))
    const startIndex = starts.at(-1)
    if (startIndex === undefined) {
      return yield* new NotARunError({ file: runDir, reason: `${EVENTS_FILE} records no run start`, hint: "the run may still be starting: try again" })
    }
    const started = log.events[startIndex] as Extract<RunEvent, { _tag: "run-started" }>
    const segment = log.events.slice(startIndex + 1)

    const entries = new Map(
      started.nodes.map((n) => [
        n.key,
        {
          id: n.id,
          key: n.key,
          label: n.label,
          group: n.group,
          state: (n.status === "cached" ? "cached" : "pending") as NodeState,
          message: undefined as string | undefined,
          progress: undefined as { iteration: number; iterations: number } | undefined,
          durationMs: undefined as number | undefined,
          resumable: false,
          worker: undefined as string | undefined,
          pid: undefined as number | undefined,
          jobId: undefined as string | undefined
        }
      ])
    )
    let finished: Extract<RunEvent, { _tag: "run-finished" }> | undefined
    for (const e of segment) {
      switch (e._tag) {
        case "node-started": {
          const n = entries.get(e.key)
          if (n) {
            n.state = "running"
            n.worker = e.worker
            n.pid = e.pid
            n.jobId = e.jobId
          }
          break
        }
        case "node-finished": {
          const n = entries.get(e.key)
          if (n) {
            n.state = e.status
            n.durationMs = e.durationMs
          }
          break
        }
        case "training-progress": {
          const n = entries.get(e.key)
          if (n) n.progress = { iteration: e.iteration, iterations: e.iterations }
          break
        }
        case "error": {
          const n = e.key === undefined ? undefined : entries.get(e.key)
          if (n) n.message = `${e.message}${e.jobId !== undefined ? ` (Slurm job ${e.jobId}${e.log !== undefined ? `, log ${e.log}` : ""})` : e.log !== undefined ? ` (log ${e.log})` : ""}`
          break
        }
        case "run-finished":
          finished = e
          break
        default:
          break
      }
    }

    const lock = yield* RunLock.readLock(runDir)
    const owned = Option.isSome(lock) && lock.value.pid === started.pid && !RunLock.isStale(lock.value)
    const state: RunState = finished !== undefined ? finished.status : owned ? "running" : "died"

    const store = yield* ArtifactStore.make(runDir)
    for (const n of entries.values()) {
      if (n.id === undefined) continue
      // Manifests are the truth for what is finished, whatever the log missed.
      if (n.state !== "done" && n.state !== "cached") {
        const m = yield* Effect.orElseSucceed(store.readManifest(n.id), () => Option.none())
        if (Option.isSome(m) && m.value.key === n.key) n.state = "done"
      }
      if (n.state === "running" && state !== "running") n.state = "pending"
      if (n.state !== "running") {
        n.worker = undefined
        n.pid = undefined
        n.jobId = undefined
      }
      if (n.state === "pending" || n.state === "running") n.resumable = yield* store.hasCheckpoint(n.id, n.key)
    }
    const nodes = [...entries.values()].map((n) =>
      Object.fromEntries(Object.entries(n).filter(([, v]) => v !== undefined)) as unknown as NodeStatusEntry
    )
    return {
      runDir,
      state,
      pipeline: started.pipeline,
      file: started.file,
      backend: started.backend,
      executor: started.executor,
      startedAt: started.at,
      finishedAt: finished?.at,
      lock,
      nodes,
      resumeHint: finished !== undefined ? finished.resumeHint : state === "died" ? `rstn resume ${runDir}` : null,
      runs: starts.length,
      invalidLines: log.invalidLines
    } satisfies RunStatusReport
  })

/** `w2, pid 4242`, `slurm, job 1234`. */
export const placementText = (n: { readonly worker?: string | undefined; readonly pid?: number | undefined; readonly jobId?: string | undefined }): string =>
  `${n.worker}${n.jobId !== undefined ? `, job ${n.jobId}` : n.pid !== undefined ? `, pid ${n.pid}` : ""}`

const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z")

const STATES: ReadonlyArray<NodeState> = ["done", "cached", "running", "pending", "failed", "skipped"]

/** The report as text: the run, counts per group, then the nodes worth attention. */
export const formatStatus = (r: RunStatusReport, options: { readonly all?: boolean; readonly now?: number } = {}): string => {
  const lines: string[] = []
  const owner = Option.match(r.lock, { onNone: () => "", onSome: (l) => ` (process ${l.pid} on ${l.hostname})` })
  const state =
    r.state === "running"
      ? `running${owner}`
      : r.state === "died"
        ? "stopped without finishing (the process is gone)"
        : r.state === "interrupted"
          ? "interrupted: stopped before finishing (Ctrl-C or SIGTERM)"
          : r.state
  lines.push(`run ${r.runDir}: ${state}`)
  // Only a run that completed "finished": a stopped or failed one ended without doing all its work.
  const ended = r.state === "done" ? "finished" : r.state === "failed" ? "ended" : "stopped"
  const elapsed =
    r.finishedAt !== undefined
      ? `, ${ended} ${iso(r.finishedAt)} after ${formatDuration(r.finishedAt - r.startedAt)}`
      : options.now !== undefined && r.state === "running"
        ? `, running for ${formatDuration(options.now - r.startedAt)}`
        : ""
  lines.push(`pipeline ${r.pipeline} (${r.file}), backend ${r.backend}, started ${iso(r.startedAt)}${elapsed}${r.runs > 1 ? `, run ${r.runs} in this directory` : ""}`)
  if (r.executor !== undefined) lines.push(`executor ${r.executor}`)
  const width = Math.max(...NodeGroup.literals.map((g) => g.length)) + 2
  for (const group of NodeGroup.literals) {
    const inGroup = r.nodes.filter((n) => n.group === group)
    if (inGroup.length === 0) continue
    const counts = STATES.map((s) => [s, inGroup.filter((n) => n.state === s).length] as const)
      .filter(([, c]) => c > 0)
      .map(([s, c]) => `${c} ${s}`)
    lines.push(`${group.padEnd(width)}${counts.join(", ")} (of ${inGroup.length})`)
  }
  const shown = r.nodes.filter((n) => options.all === true || n.state === "running" || n.state === "failed" || n.state === "skipped" || n.resumable)
  for (const n of shown) {
    const extra = [
      n.state === "running" && n.worker !== undefined ? `on ${placementText(n)}` : "",
      n.progress !== undefined && n.state === "running" ? `iteration ${n.progress.iteration}/${n.progress.iterations}` : "",
      n.resumable ? "resumes from its checkpoint" : "",
      n.durationMs !== undefined && n.state === "done" ? formatDuration(n.durationMs) : ""
    ].filter(Boolean)
    const message = n.state === "failed" && n.message !== undefined ? `: ${n.message}` : ""
    lines.push(`  ${n.state.padEnd(9)}${n.label}${extra.length > 0 ? ` (${extra.join(", ")})` : ""}${message}`)
  }
  if (r.invalidLines.length > 0) lines.push(`warning: ${r.invalidLines.length} line(s) of ${path.join(r.runDir, EVENTS_FILE)} could not be read`)
  if (r.resumeHint !== null && r.state !== "running") lines.push(`to resume: ${r.resumeHint}`)
  return lines.join("\n")
}
