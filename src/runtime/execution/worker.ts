/**
 * The worker side of the local executor: `rstn node-run RUN_DIR --serve --backend NAME`, started
 * by the driver with an IPC channel. It sets up once (node-host.ts), says it is ready, then runs
 * the nodes the driver sends, one at a time, forwarding their events and reporting each result.
 *
 * It stops a node at its next safe point when the driver says so, or on SIGINT/SIGTERM (a
 * terminal's Ctrl-C reaches the whole process group; the driver decides what happens next). It
 * never outlives its driver: when the IPC channel closes (the driver exited or was killed with
 * kill -9) it exits at once — every file it writes is atomic, so nothing partial is left, and the
 * resumed run continues from the node's last checkpoint.
 */
import { Cause, Effect, Either, Queue } from "effect"
import { Worker } from "node:worker_threads"
import type { BodyResult } from "./node-body.ts"
import { openHost, runRequested } from "./node-host.ts"
import * as StopSignal from "../stop-signal.ts"
import { decodeToWorker, encodeFromWorker, type FromWorker, outcomeOf, type ToWorker } from "./worker-protocol.ts"

/**
 * The closed IPC channel is noticed only when the event loop turns, i.e. at the node's next safe
 * point; a long stretch of synchronous tensor work (a coarse pass over a large volume) has none. A
 * thread of its own, with its own event loop, checks every second that the driver is still this
 * process's parent and ends the process if not: every file is written atomically, so nothing
 * partial is left.
 */
const watchParent = (): void => {
  const watchdog = new Worker(
    `const { workerData } = require("node:worker_threads")
     setInterval(() => { if (process.ppid !== workerData.parent) process.kill(workerData.self, "SIGKILL") }, 1000)`,
    { eval: true, workerData: { parent: process.ppid, self: process.pid } }
  )
  // It must never keep the process alive by itself.
  watchdog.unref()
}

/** Serves nodes over this process's IPC channel until the driver goes away. Returns the exit code. */
export const serveWorker = (runDir: string, backend: string, threads: number): Effect.Effect<number> =>
  Effect.gen(function* () {
    if (process.send === undefined) {
      process.stderr.write("rstn node-run --serve: no IPC channel; this mode is started by `rstn run` with run.executor.workers > 1\n")
      return 2
    }
    const send = (m: FromWorker) => Effect.sync(() => void process.send!(encodeFromWorker(m)))
    const requests = yield* Queue.unbounded<Extract<ToWorker, { _tag: "run" }>>()
    let current: StopSignal.StopSignal | undefined
    let busy = false
    // A stop that arrives before its node has started (it may overtake the node in the queue) waits for it.
    let pendingStop: "SIGINT" | "SIGTERM" | undefined
    const stopCurrent = (signal: "SIGINT" | "SIGTERM") => {
      if (current !== undefined) Effect.runSync(current.request({ _tag: "signal", signal }))
      else pendingStop = signal
    }
    // Handled as they arrive, not queued behind the node that is running: a stop must reach it.
    process.on("message", (raw) => {
      const m = decodeToWorker(raw)
      if (Either.isLeft(m)) {
        process.stderr.write(`rstn worker: ignored a message it cannot read: ${JSON.stringify(raw).slice(0, 200)}\n`)
        return
      }
      if (m.right._tag === "stop") stopCurrent("SIGINT")
      else Queue.unsafeOffer(requests, m.right)
    })
    // The driver is gone (it exited, or was killed with kill -9): so is the reason to go on.
    process.on("disconnect", () => process.exit(0))
    watchParent()
    // A signal stops the node at its next safe point; an idle worker has nothing to save and goes.
    const onSignal = (signal: "SIGINT" | "SIGTERM") => () => (busy ? stopCurrent(signal) : process.exit(130))
    process.on("SIGINT", onSignal("SIGINT"))
    process.on("SIGTERM", onSignal("SIGTERM"))

    const host = yield* Effect.either(openHost(runDir, backend, threads))
    if (Either.isLeft(host)) {
      yield* send({ _tag: "unusable", ...host.left })
      // The driver reads the message, then disconnects: wait for that rather than racing it.
      return yield* Effect.never
    }
    yield* send({ _tag: "ready", pid: process.pid, backend: host.right.backend.name })
    for (;;) {
      const request = yield* Queue.take(requests)
      busy = true
      const stop = yield* StopSignal.make
      current = stop
      if (pendingStop !== undefined) yield* stop.request({ _tag: "signal", signal: pendingStop })
      pendingStop = undefined
      // A defect in the hosting code itself still ends as the node's failure, never as a silent worker.
      const result = yield* Effect.catchAllCause(
        runRequested(host.right, request, stop, (event) => send({ _tag: "event", event })),
        (cause) => Effect.succeed<BodyResult>({ _tag: "failed", cause: Cause.die(Cause.squash(cause)) })
      )
      current = undefined
      yield* send({ _tag: "result", id: request.id, outcome: outcomeOf(result) })
      busy = false
    }
  })
