/**
 * The Slurm executor: `run.executor: { kind: slurm, partition, time, cpus-per-task, mem, gres,
 * sbatch-args, per-kind }`. Each ready node becomes one batch job running
 * `rstn node-run RUN_DIR NODE_ID --key KEY` (node-job.ts) on the run directory, which every
 * machine of the cluster must see at the same path. The driver stays the only writer of
 * manifests and of events.jsonl: it follows its jobs' states with one `squeue` per poll, their
 * events through the job files, and commits each node when its job leaves its result.
 *
 * Jobs carry a comment naming the run directory and the node's key, so a resumed driver finds
 * the jobs of a driver that died (kill -9, a lost login session) still queued or running, and
 * follows them instead of submitting the nodes again; a job that finished meanwhile left its
 * result, which is committed as it is. The first Ctrl-C cancels the run's jobs (`scancel`: a
 * running node gets SIGTERM and stops at its next safe point with a checkpoint; a queued one is
 * dropped); interrupting kills them.
 */
import { Clock, Effect, Either, Option, Ref } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import type { SlurmExecutor, SlurmResources } from "../../dsl/pipeline.ts"
import { JOB_FILE, LOG_DIR } from "../artifact-store.ts"
import { atomicWrite } from "../atomic-write.ts"
import { decodeLine } from "../events.ts"
import type { BodyResult } from "./node-body.ts"
import { JobFailed, NodeFailure } from "./node-error.ts"
import { decodeJobResult, encodeJobRequest, JOB_EVENTS, JOB_REQUEST, JOB_RESULT, jobDir } from "./node-job.ts"
import type { MakeRunner, NodeJob } from "./runner.ts"
import { rstnCommand } from "./rstn-command.ts"
import type { QueuedJob, SlurmService } from "./slurm-client.ts"
import { bodyResultOf } from "./worker-protocol.ts"

export interface SlurmOptions {
  readonly runDir: string
  /** The backend choice every job makes for itself (`run.backend`: a job may land on a GPU node the driver lacks). */
  readonly backend: string
  readonly executor: SlurmExecutor
  readonly slurm: SlurmService
  /** wasm threads of a node kind's jobs. */
  readonly threads: (kind: string) => number
  /** How often job states are read; default 1 s. */
  readonly pollMs?: number
  /** The program and arguments that run rstn on the cluster's machines (default: this one). */
  readonly command?: ReadonlyArray<string>
}


/** The executor's resources with a node kind's own ones over them. */
export const resourcesFor = (e: SlurmExecutor, kind: string): SlurmResources => {
  const own = (e.perKind as Record<string, SlurmResources | undefined> | undefined)?.[kind] ?? {}
  const pick = <K extends keyof SlurmResources>(k: K) => (own[k] !== undefined ? { [k]: own[k] } : e[k] !== undefined ? { [k]: e[k] } : {})
  return {
    ...pick("partition"),
    ...pick("time"),
    ...pick("cpusPerTask"),
    ...pick("mem"),
    ...pick("gres"),
    sbatchArgs: [...(e.sbatchArgs ?? []), ...(own.sbatchArgs ?? [])]
  }
}

export const sbatchResourceArgs = (r: SlurmResources): string[] => [
  ...(r.partition !== undefined ? [`--partition=${r.partition}`] : []),
  ...(r.time !== undefined ? [`--time=${r.time}`] : []),
  ...(r.cpusPerTask !== undefined ? [`--cpus-per-task=${r.cpusPerTask}`] : []),
  ...(r.mem !== undefined ? [`--mem=${r.mem}`] : []),
  ...(r.gres !== undefined ? [`--gres=${r.gres}`] : []),
  ...(r.sbatchArgs ?? [])
]

const readJobFile = (dir: string): { readonly jobId: string; readonly log: string } | undefined => {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, JOB_FILE), "utf8")) as { jobId: string; log: string }
  } catch {
    return undefined
  }
}

/** The result a job left in the node's key directory, if any. */
const readJobResult = (dir: string) =>
  Effect.sync(() => {
    try {
      return Option.fromNullable(Either.getOrUndefined(decodeJobResult(fs.readFileSync(path.join(dir, JOB_RESULT), "utf8"))))
    } catch {
      return Option.none()
    }
  })

const shellQuote = (s: string): string => (/^[A-Za-z0-9_./:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`)

/** What marks a job as this run's job for this node (its `--comment`). */
export const jobComment = (runDir: string, key: string): string => `rstn|${key}|${runDir}`

/** States in which a job still holds, or will hold, a machine. */
const LIVE = new Set(["PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "REQUEUED", "RESIZING", "STAGE_OUT", "SIGNALING"])
const STARTED = new Set(["RUNNING", "COMPLETING", "SUSPENDED", "STAGE_OUT", "SIGNALING"])

interface Snapshot {
  /** When the squeue call that produced `jobs` began: a job submitted later may be missing from it. */
  readonly at: number
  readonly jobs: ReadonlyMap<string, QueuedJob>
}

export const slurmExecutor =
  <E, R>(options: SlurmOptions): MakeRunner<E, R> =>
  ({ store, bus, stop }) =>
    Effect.gen(function* () {
      const runDir = path.resolve(options.runDir)
      const pollMs = options.pollMs ?? 1000
      const command = options.command ?? rstnCommand()
      const slurm = options.slurm
      const now = Clock.currentTimeMillis
      const followed = new Set<string>()
      // Jobs of this run that a driver before us left queued or running, by their comment.
      const queriedAt = yield* now
      const inQueue = Either.getOrElse(yield* Effect.either(slurm.queue), () => [] as ReadonlyArray<QueuedJob>)
      const leftOver = new Map(inQueue.filter((j) => LIVE.has(j.state)).map((j) => [j.comment, j] as const))
      const snapshot = yield* Ref.make<Snapshot>({ at: queriedAt, jobs: new Map(inQueue.map((j) => [j.id, j])) })

      // One squeue per poll for all the jobs followed. A failed call keeps the last snapshot (a
      // busy controller is no reason to declare jobs gone).
      yield* Effect.forkScoped(
        Effect.forever(
          Effect.gen(function* () {
            if (followed.size > 0) {
              const at = yield* now
              const q = yield* Effect.either(slurm.queue)
              if (Either.isRight(q)) yield* Ref.set(snapshot, { at, jobs: new Map(q.right.map((j) => [j.id, j])) })
            }
            yield* Effect.sleep(pollMs)
          })
        )
      )
      // The first stop request cancels every job of the run: running nodes stop at a safe point.
      yield* Effect.forkScoped(Effect.flatMap(stop.awaitRequest, () => Effect.ignore(slurm.cancel([...followed]))))

      const logPattern = (id: string) => path.join(runDir, LOG_DIR, `slurm-${id.replace(/\//g, "_")}-%j.log`)

      const submit = (job: NodeJob<E, R>) =>
        Effect.gen(function* () {
          const { node } = job
          const dir = jobDir(runDir, node.id, node.key)
          yield* store.beginAttempt(node.id, node.key)
          yield* atomicWrite(
            path.join(dir, JOB_REQUEST),
            encodeJobRequest({ id: node.id, key: node.key, inputs: job.inputs, missingInputs: job.missingInputs })
          )
          fs.mkdirSync(path.join(runDir, LOG_DIR), { recursive: true })
          const wrap = ["exec", ...command, "node-run", runDir, node.id, "--key", node.key, "--backend", options.backend, "--threads", String(options.threads(node.kind))].map(shellQuote).join(" ")
          const id = yield* slurm.submit([
            `--job-name=rstn:${node.id}`,
            `--comment=${jobComment(runDir, node.key)}`,
            `--output=${logPattern(node.id)}`,
            `--chdir=${runDir}`,
            ...sbatchResourceArgs(resourcesFor(options.executor, node.kind)),
            `--wrap=${wrap}`
          ])
          const log = logPattern(node.id).replace(/%j/g, id)
          yield* atomicWrite(path.join(dir, JOB_FILE), `${JSON.stringify({ jobId: id, log, submittedAt: yield* now })}\n`)
          return { id, log }
        })

      /** Follows a job to its end; its events are published as they appear in its events file. */
      const follow = (job: NodeJob<E, R>, jobId: string, log: string, since: number): Effect.Effect<BodyResult> =>
        Effect.gen(function* () {
          const dir = jobDir(runDir, job.node.id, job.node.key)
          const eventsFile = path.join(dir, JOB_EVENTS)
          let offset = 0
          let started = false
          const start = () => (started ? Effect.void : Effect.zipRight(Effect.sync(() => void (started = true)), job.started({ worker: "slurm", jobId, log })))
          // Whole lines only: a line still being appended is read on the next poll.
          const drain = Effect.gen(function* () {
            let text = ""
            try {
              const fd = fs.openSync(eventsFile, "r")
              try {
                const size = fs.fstatSync(fd).size
                if (size <= offset) return
                const buf = Buffer.alloc(size - offset)
                fs.readSync(fd, buf, 0, buf.length, offset)
                text = buf.toString("utf8")
              } finally {
                fs.closeSync(fd)
              }
            } catch {
              return
            }
            const end = text.lastIndexOf("\n")
            if (end < 0) return
            offset += Buffer.byteLength(text.slice(0, end + 1))
            for (const line of text.slice(0, end).split("\n")) {
              const e = decodeLine(line)
              if (Either.isRight(e)) {
                if (e.right._tag !== "log" && e.right._tag !== "warning") yield* start()
                yield* bus.publish(e.right)
              }
            }
          })
          const readResult = readJobResult(dir)
          // The job ended without finishing the node: it died (no result), or it was cancelled
          // from outside the run (scancel by a user or an admin) and stopped at a safe point.
          const jobEnded = (what: string) =>
            Effect.gen(function* () {
              const end = yield* slurm.ended(jobId)
              const state = Option.match(end, { onNone: () => "unknown", onSome: (e) => e.state })
              const exit = Option.match(end, { onNone: () => "", onSome: (e) => `, exit code ${e.exitCode}` })
              yield* start()
              return {
                _tag: "failed",
                cause: yield* Effect.cause(
                  Effect.fail(
                    new JobFailed({
                      message: `Slurm job ${jobId} ended (${state}${exit}) ${what}`,
                      hint: `see its log ${log}; a TIMEOUT or OUT_OF_MEMORY asks for more time or mem in run.executor (per-kind: { ${job.node.kind}: ... }); \`rstn resume\` submits it again`,
                      jobId,
                      state,
                      log
                    })
                  )
                )
              } as const
            })
          for (;;) {
            yield* Effect.sleep(pollMs)
            yield* drain
            const snap = yield* Ref.get(snapshot)
            const queued = snap.jobs.get(jobId)
            if (queued !== undefined && STARTED.has(queued.state)) yield* start()
            const gone = queued === undefined ? snap.at > since : !LIVE.has(queued.state)
            if (!gone) continue
            // The result file may trail the job's end on a shared file system: look a few times.
            for (let i = 0; i < 3; i++) {
              const result = yield* readResult
              if (Option.isSome(result)) {
                yield* drain
                yield* start()
                const { outcome } = result.value
                // Stopped although this driver asked nothing: the job was cancelled from outside.
                if (outcome._tag === "stopped" && Option.isNone(yield* stop.requested)) {
                  return yield* jobEnded(`and stopped ${job.node.label} at a safe point, its checkpoint kept`)
                }
                return bodyResultOf(outcome)
              }
              yield* Effect.sleep(Math.min(pollMs, 1000))
            }
            yield* drain
            if (Option.isSome(yield* stop.requested)) return { _tag: "stopped" } as const
            return yield* jobEnded(`before ${job.node.label} finished`)
          }
        })

      return {
        // The cluster queues what it cannot run yet: every ready node is submitted at once.
        slots: Number.MAX_SAFE_INTEGER,
        run: (job) =>
          Effect.gen(function* () {
            const comment = jobComment(runDir, job.node.key)
            const adopted = leftOver.get(comment)
            const dir = jobDir(runDir, job.node.id, job.node.key)
            let jobId: string
            let log: string
            let since: number
            if (adopted !== undefined) {
              leftOver.delete(comment)
              jobId = adopted.id
              log = readJobFile(dir)?.log ?? logPattern(job.node.id).replace(/%j/g, jobId)
              since = 0
              yield* bus.publish({ _tag: "log", at: yield* now, message: `following Slurm job ${jobId} of a previous driver for ${job.node.label}` })
            } else {
              // A job of a driver that died finished meanwhile: its result stands, the node is not run again.
              const left = yield* readJobResult(dir)
              if (Option.isSome(left) && left.value.outcome._tag === "finished") {
                const info = readJobFile(dir)
                yield* bus.publish({
                  _tag: "log",
                  at: yield* now,
                  message: `${job.node.label}: taking the result of Slurm job ${info?.jobId ?? "?"}, which finished while no driver followed it`
                })
                yield* job.started({ worker: "slurm", ...(info !== undefined ? { jobId: info.jobId, log: info.log } : {}) })
                return bodyResultOf(left.value.outcome)
              }
              const submitted = yield* Effect.either(submit(job))
              if (Either.isLeft(submitted)) {
                const e = submitted.left
                return {
                  _tag: "failed",
                  cause: yield* Effect.cause(
                    Effect.fail(
                      new NodeFailure({
                        message: `cannot submit ${job.node.label} to Slurm: ${e.message}`,
                        hint: "hint" in e && typeof e.hint === "string" ? e.hint : "check the cluster and the run directory"
                      })
                    )
                  )
                } as const
              }
              jobId = submitted.right.id
              log = submitted.right.log
              since = yield* now
            }
            followed.add(jobId)
            return yield* follow(job, jobId, log, since).pipe(
              Effect.onInterrupt(() => Effect.ignore(slurm.cancel([jobId], "KILL"))),
              Effect.ensuring(Effect.sync(() => followed.delete(jobId)))
            )
          })
      }
    })
