/**
 * The in-process executor: nodes run as fibers of the driver itself, sharing its tensor backend
 * (`run.executor: { kind: local, workers: 1 }`, and every test that runs a graph directly). With
 * one slot it is the original executor, node after node in graph order.
 */
import { Effect } from "effect"
import { runBody } from "./node-body.ts"
import type { MakeRunner } from "./runner.ts"

export const inProcess =
  <E, R>(slots: number): MakeRunner<E, R> =>
  ({ store, bus, stop }) =>
    Effect.succeed({
      slots: Math.max(1, Math.floor(slots)),
      run: (job) =>
        Effect.gen(function* () {
          yield* store.beginAttempt(job.node.id, job.node.key)
          yield* job.started(undefined)
          return yield* runBody(job.node, job.inputs.map(store.input), job.missingInputs, { store, stop, publish: bus.publish })
        })
    })
