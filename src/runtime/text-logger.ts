/**
 * The plain-text view of a run, for logs and terminals that are not a TTY: one readable line per
 * notable event. Cached nodes are summed up in the first line rather than listed; training
 * progress is rate-limited (every `progressEvery` iterations or `progressSeconds` seconds of run
 * time, plus the first and last iteration) so a long training does not flood the log.
 */
import { Effect, type Fiber, type Scope } from "effect"
import { EventBus } from "./event-bus.ts"
import { drainUntilFinished } from "./event-log.ts"
import type { RunEvent } from "./events.ts"

export interface TextLoggerOptions {
  /** Log training progress at least this many iterations apart (default 100). */
  readonly progressEvery?: number
  /** ... or when this many seconds of event time have passed since the last line (default 30). */
  readonly progressSeconds?: number
}

export const formatDuration = (ms: number): string => {
  if (ms < 1000) return `${Math.round(ms)} ms`
  const s = ms / 1000
  if (s < 60) return `${s.toFixed(1)} s`
  const total = Math.round(s)
  const h = Math.floor(total / 3600)
  const m = Math.floor((total % 3600) / 60)
  const sec = total % 60
  return h > 0 ? `${h} h ${String(m).padStart(2, "0")} min` : `${m} min ${String(sec).padStart(2, "0")} s`
}

const dsc = (d: number | null): string => (d === null ? "n/a" : d.toFixed(4))
const lossText = (l: number | null): string => (l === null ? "-" : l.toFixed(4))

const concern = (e: { caseId?: string | undefined; file?: string | undefined; key?: string | undefined }, labels: ReadonlyMap<string, string>): string => {
  const parts = [
    e.caseId !== undefined ? `case ${e.caseId}` : undefined,
    e.key !== undefined ? (labels.get(e.key) ?? e.key) : undefined,
    e.file !== undefined ? `file ${e.file}` : undefined
  ].filter((p) => p !== undefined)
  return parts.length > 0 ? ` [${parts.join(", ")}]` : ""
}

/** A stateful formatter: feed it every event in order; it returns the line to print, if any. */
export const makeFormatter = (options: TextLoggerOptions = {}): ((event: RunEvent) => string | undefined) => {
  const every = options.progressEvery ?? 100
  const seconds = options.progressSeconds ?? 30
  const labels = new Map<string, string>()
  const lastProgress = new Map<string, { iteration: number; at: number }>()
  const label = (key: string) => labels.get(key) ?? key.slice(0, 12)
  return (e) => {
    switch (e._tag) {
      case "run-started": {
        for (const n of e.nodes) labels.set(n.key, n.label)
        const cached = e.nodes.filter((n) => n.status === "cached").length
        return `run ${e.pipeline}: ${e.nodes.length} nodes, ${cached} cached, ${e.nodes.length - cached} to run; backend ${e.backend} (${e.backendReason});${e.executor !== undefined ? ` executor ${e.executor};` : ""} run directory ${e.runDir}`
      }
      case "node-started":
        return `start    ${label(e.key)}${e.worker === undefined ? "" : ` on ${e.worker}${e.jobId !== undefined ? ` (job ${e.jobId})` : e.pid !== undefined ? ` (pid ${e.pid})` : ""}`}`
      case "node-finished":
        switch (e.status) {
          case "done":
            return `done     ${label(e.key)} in ${formatDuration(e.durationMs)}`
          case "failed":
            return `failed   ${label(e.key)} after ${formatDuration(e.durationMs)}`
          case "skipped":
            return `skipped  ${label(e.key)} (an input failed)`
          case "cached":
            return undefined
        }
      case "training-progress": {
        const last = lastProgress.get(e.key)
        const due =
          last === undefined ||
          e.iteration >= e.iterations ||
          e.iteration - last.iteration >= every ||
          e.at - last.at >= seconds * 1000
        if (!due) return undefined
        lastProgress.set(e.key, { iteration: e.iteration, at: e.at })
        const l = labels.get(e.key) ?? `train fold ${e.fold} view ${e.view} phase ${e.phase}`
        return `${l}: iteration ${e.iteration}/${e.iterations}, loss ${e.losses.joint.toFixed(4)} (coarse ${lossText(e.losses.coarse)}, fine ${lossText(e.losses.fine)}), lr ${e.learningRate.toExponential(1)}`
      }
      case "round-finished": {
        const name = e.round === 0 ? "coarse" : `round ${e.round}`
        const inter = e.interDsc === null ? "" : `, inter-DSC ${dsc(e.interDsc)}`
        const reached = e.reached.length > 0 ? `, reached t = ${e.reached.join(", ")}` : ""
        return `${e.caseId} ${name}: DSC ${dsc(e.dsc)}${inter}${reached}`
      }
      case "case-finished":
        return `${e.caseId} finished after ${e.rounds} round${e.rounds === 1 ? "" : "s"}: DSC ${dsc(e.coarseDsc)} (coarse) → ${dsc(e.finalDsc)}`
      case "warning":
        return `warning: ${e.message}${concern(e, labels)}`
      case "error":
        return `error: ${e.message}${concern(e, labels)}${e.jobId !== undefined ? ` (Slurm job ${e.jobId}${e.log !== undefined ? `, log ${e.log}` : ""})` : e.log !== undefined ? ` (log ${e.log})` : ""}`
      case "log":
        return e.message
      case "run-finished": {
        const stats = e.summary === null ? "" : `: mean DSC ${e.summary.mean.toFixed(4)} ± ${e.summary.std.toFixed(4)} over ${e.summary.count} cases`
        const coarse = e.coarse === null ? "" : ` (coarse ${e.coarse.mean.toFixed(4)})`
        const failed = e.failedCases.length > 0 ? `; failed cases: ${e.failedCases.join(", ")}` : ""
        const hint = e.resumeHint === null ? "" : `\nto resume: ${e.resumeHint}`
        return `run ${e.status}${stats}${coarse}${failed}${hint}`
      }
    }
  }
}

/** Subscribes now and forks a logger that writes a line per notable event until run-finished. */
export const logEvents = (
  write: (line: string) => Effect.Effect<void>,
  options: TextLoggerOptions = {}
): Effect.Effect<Fiber.RuntimeFiber<void>, never, EventBus | Scope.Scope> =>
  Effect.gen(function* () {
    const queue = yield* (yield* EventBus).subscribe
    const format = makeFormatter(options)
    return yield* Effect.forkScoped(
      drainUntilFinished(queue, (batch) => {
        const lines = batch.map(format).filter((l) => l !== undefined)
        return lines.length === 0 ? Effect.void : write(lines.join("\n"))
      })
    )
  })
