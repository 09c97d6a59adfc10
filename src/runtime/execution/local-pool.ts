/**
 * The local executor with workers: `run.executor: { kind: local, workers: N }` keeps N child
 * processes (`rstn node-run RUN_DIR --serve`, worker.ts), each with its own tensor backend and
 * one node at a time, so every core computes. The driver keeps scheduling, manifests and the
 * event log; a worker only runs a node's body over the shared run directory and sends back its
 * events and result through its IPC channel.
 *
 * Workers start when first needed (a fully cached run starts none), write their output to
 * `<runDir>/logs/worker-wN.log`, and run in the driver's process group. A stop request is passed
 * on to every busy worker (each stops at its node's next safe point); interrupting a node (a
 * second Ctrl-C) kills its worker. When the run ends the IPC channels close and the workers exit;
 * if the driver dies first (kill -9), they notice the closed channel (or that their parent is
 * gone) and exit by themselves.
 */
import { Cause, Effect, Either, Option, Queue } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import type { BodyResult } from "./node-body.ts"
import { LOG_DIR } from "../artifact-store.ts"
import { NodeFailure, WorkerLost } from "./node-error.ts"
import type { MakeRunner, NodeJob } from "./runner.ts"
import { rstnCommand } from "./rstn-command.ts"
import { bodyResultOf, decodeFromWorker, encodeToWorker, type FromWorker, type ToWorker } from "./worker-protocol.ts"

export interface LocalPoolOptions {
  readonly workers: number
  readonly runDir: string
  /** The backend the driver chose: every worker loads the same one. */
  readonly backend: string
  /** wasm threads of each worker. */
  readonly threads: number
  /** The program and arguments that run rstn (default: this one, `rstn-command.ts`). */
  readonly command?: ReadonlyArray<string>
}

type Inbound = FromWorker | { readonly _tag: "exited"; readonly code: number | null; readonly signal: string | null }

interface Worker {
  readonly name: string
  readonly proc: ChildProcess
  readonly pid: number
  readonly log: string
  readonly inbox: Queue.Queue<Inbound>
  ready: boolean
  gone: boolean
}

export const workerLog = (runDir: string, name: string): string => path.join(runDir, LOG_DIR, `worker-${name}.log`)

const failedWith = (e: NodeFailure | WorkerLost): BodyResult => ({ _tag: "failed", cause: Cause.fail(e) })

const exitText = (code: number | null, signal: string | null): string =>
  signal !== null ? `was killed by ${signal}` : code === null ? "ended" : `exited with code ${code}`

export const localPool =
  <E, R>(options: LocalPoolOptions): MakeRunner<E, R> =>
  ({ store, bus, stop }) =>
    Effect.gen(function* () {
      const runDir = path.resolve(options.runDir)
      const command = options.command ?? rstnCommand()
      const idle: Worker[] = []
      const all = new Set<Worker>()
      const busy = new Set<Worker>()
      let spawned = 0
      // Once a worker could not set up (its backend or the run directory), the next would not either.
      let unusable: NodeFailure | undefined

      const send = (w: Worker, m: ToWorker) => {
        if (!w.gone && w.proc.connected) w.proc.send(encodeToWorker(m))
      }

      const start = Effect.sync((): Worker => {
        const name = `w${++spawned}`
        const log = workerLog(runDir, name)
        fs.mkdirSync(path.dirname(log), { recursive: true })
        const fd = fs.openSync(log, "a")
        fs.writeSync(fd, `--- worker ${name} started ${new Date().toISOString()} for driver ${process.pid} ---\n`)
        const proc = spawn(command[0]!, [...command.slice(1), "node-run", runDir, "--serve", "--backend", options.backend, "--threads", String(options.threads)], {
          stdio: ["ignore", fd, fd, "ipc"],
          env: { ...process.env, RSTN_WORKER: name }
        })
        fs.closeSync(fd)
        const inbox = Effect.runSync(Queue.unbounded<Inbound>())
        const w: Worker = { name, proc, pid: proc.pid ?? -1, log, inbox, ready: false, gone: false }
        proc.on("message", (raw) => {
          const m = decodeFromWorker(raw)
          if (Either.isRight(m)) Queue.unsafeOffer(inbox, m.right)
          else fs.appendFileSync(log, `driver: ignored a message it cannot read: ${JSON.stringify(raw).slice(0, 200)}\n`)
        })
        proc.on("exit", (code, signal) => {
          w.gone = true
          Queue.unsafeOffer(inbox, { _tag: "exited", code, signal })
        })
        proc.on("error", (e) => {
          fs.appendFileSync(log, `driver: cannot start the worker: ${e.message}\n`)
          if (proc.pid === undefined) {
            w.gone = true
            Queue.unsafeOffer(inbox, { _tag: "exited", code: null, signal: null })
          }
        })
        all.add(w)
        return w
      })

      const retire = (w: Worker) =>
        Effect.sync(() => {
          all.delete(w)
          busy.delete(w)
          if (!w.gone) w.proc.kill("SIGKILL")
        })

      const lost = (w: Worker, code: number | null, signal: string | null, job: NodeJob<E, R>) =>
        failedWith(
          new WorkerLost({
            message: `worker ${w.name} (pid ${w.pid}) ${exitText(code, signal)} while running ${job.node.label}`,
            hint: `its output is in ${w.log}; \`rstn resume\` runs the node again`,
            worker: w.name,
            pid: w.pid,
            log: w.log
          })
        )

      /** Waits until the worker is set up: null when ready, else how the node ends. */
      const awaitReady = (w: Worker, job: NodeJob<E, R>): Effect.Effect<BodyResult | null> =>
        Effect.gen(function* () {
          while (!w.ready) {
            const m = yield* Queue.take(w.inbox)
            if (m._tag === "ready") w.ready = true
            else if (m._tag === "unusable") {
              unusable = new NodeFailure({ message: m.message, hint: m.hint })
              yield* retire(w)
              return failedWith(unusable)
            } else if (m._tag === "exited") {
              yield* retire(w)
              return lost(w, m.code, m.signal, job)
            } else if (m._tag === "event") yield* bus.publish(m.event)
          }
          return null
        })

      const runOn = (w: Worker, job: NodeJob<E, R>): Effect.Effect<BodyResult> =>
        Effect.gen(function* () {
          const early = yield* awaitReady(w, job)
          if (early !== null) return early
          yield* store.beginAttempt(job.node.id, job.node.key)
          send(w, { _tag: "run", id: job.node.id, key: job.node.key, inputs: job.inputs, missingInputs: job.missingInputs })
          busy.add(w)
          yield* job.started({ worker: w.name, pid: w.pid, log: w.log })
          // A stop requested before the worker had the node: pass it on now.
          if (Option.isSome(yield* stop.requested)) send(w, { _tag: "stop" })
          for (;;) {
            const m = yield* Queue.take(w.inbox)
            if (m._tag === "event") yield* bus.publish(m.event)
            else if (m._tag === "result" && m.id === job.node.id) {
              busy.delete(w)
              idle.push(w)
              return bodyResultOf(m.outcome)
            } else if (m._tag === "exited") {
              yield* retire(w)
              return lost(w, m.code, m.signal, job)
            }
          }
        })

      // Stop requests (Ctrl-C, a failure under on-case-error: stop) reach every busy worker.
      yield* Effect.forkScoped(
        Effect.flatMap(stop.awaitRequest, () => Effect.sync(() => busy.forEach((w) => send(w, { _tag: "stop" }))))
      )
      // At the end of the run every worker goes: closing its channel makes it exit; one that does
      // not within a few seconds (stuck in native code) is killed.
      yield* Effect.addFinalizer(() =>
        Effect.promise(async () => {
          const left = [...all].filter((w) => !w.gone)
          for (const w of left) if (w.proc.connected) w.proc.disconnect()
          await Promise.all(
            left.map(
              (w) =>
                new Promise<void>((resolve) => {
                  if (w.gone) return resolve()
                  const timer = setTimeout(() => {
                    w.proc.kill("SIGKILL")
                    resolve()
                  }, 3000)
                  w.proc.once("exit", () => {
                    clearTimeout(timer)
                    resolve()
                  })
                })
            )
          )
        })
      )

      return {
        slots: options.workers,
        run: (job) =>
          Effect.gen(function* () {
            if (unusable !== undefined) return failedWith(unusable)
            // A worker that died while idle (killed from outside) is replaced, not blamed for this node.
            let w = idle.pop()
            while (w !== undefined && w.gone) {
              yield* retire(w)
              w = idle.pop()
            }
            if (w === undefined) w = yield* start
            // Interrupted (a second Ctrl-C, or the run torn down): the node stops now, with its worker.
            const worker = w
            return yield* runOn(worker, job).pipe(Effect.onInterrupt(() => retire(worker)))
          })
      }
    })
