/**
 * Running one node's own code, wherever that happens (in the driver, in a local worker process,
 * in a Slurm job): build its `NodeContext` over the shared run directory, run it in its own fiber
 * and say how it ended — finished with its outputs, failed with a sorted cause, or stopped at a
 * safe point. Committing the manifest is the driver's job, never the body's, so a node becomes
 * done in one place whatever executor ran it.
 */
import { Cause, Effect, Either, Exit, Fiber, Option } from "effect"
import type { ArtifactStoreService } from "../artifact-store.ts"
import { normalize } from "../canonical-json.ts"
import type { RunEvent } from "../events.ts"
import type { GraphNode } from "../graph.ts"
import type { FileOutput } from "../manifest.ts"
import type { InputArtifact, NodeContext, NodeResult } from "../node.ts"
import type { StopSignal } from "../stop-signal.ts"
import { defectOf, type NodeError, sortCause } from "./node-error.ts"

export type BodyResult =
  | {
      readonly _tag: "finished"
      /** The node's JSON outputs, already checked to be JSON. */
      readonly json: NodeResult
      /** File outputs by name, as the store wrote them. */
      readonly files: Readonly<Record<string, FileOutput>>
    }
  | { readonly _tag: "failed"; readonly cause: Cause.Cause<NodeError> }
  /** Stopped at a safe point (its checkpoint, if any, is kept for the resumed run). */
  | { readonly _tag: "stopped" }

export interface BodyEnv {
  readonly store: ArtifactStoreService
  readonly stop: StopSignal
  readonly publish: (event: RunEvent) => Effect.Effect<void>
}

/** Yields to the Node event loop (not only to other fibers), so signal handlers and IPC messages get to run. */
export const yieldToEventLoop: Effect.Effect<void> = Effect.async<void>((resume) => {
  const handle = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(handle))
})

export const runBody = <E, R>(
  node: GraphNode<E, R>,
  inputs: ReadonlyArray<InputArtifact>,
  missingInputs: ReadonlyArray<string>,
  env: BodyEnv
): Effect.Effect<BodyResult, never, R> =>
  Effect.gen(function* () {
    const { store, stop } = env
    const written = new Map<string, FileOutput>()
    const byId = new Map(inputs.map((i) => [i.id, i]))
    const ctx: NodeContext = {
      id: node.id,
      key: node.key,
      kind: node.kind,
      label: node.label,
      config: node.configJson,
      inputs,
      missingInputs,
      input: (id) => {
        const found = byId.get(id)
        if (found === undefined) throw new Error(`node ${node.id} reads '${id}', which is not among its deps`)
        return found
      },
      writeFile: (name, data) =>
        store.writeOutput(node.id, node.key, name, data).pipe(
          Effect.tap((out) => Effect.sync(() => written.set(name, out))),
          Effect.catchTag("OutputNameError", (e) => Effect.die(e))
        ),
      safePoint: (beforeStop) =>
        Effect.zipRight(
          yieldToEventLoop,
          Effect.flatMap(stop.requested, (r) => (Option.isNone(r) ? Effect.void : Effect.zipRight(beforeStop ?? Effect.void, Effect.interrupt)))
        ),
      stopRequested: Effect.map(stop.requested, Option.isSome),
      saveCheckpoint: (data) => store.saveCheckpoint(node.id, node.key, data),
      loadCheckpoint: store.loadCheckpoint(node.id, node.key),
      publish: env.publish
    }
    // Its own fiber, so an interruption at a safe point ends this node only.
    const exit = yield* Fiber.await(yield* Effect.fork(Effect.suspend(() => node.run(ctx))))
    if (Exit.isFailure(exit)) {
      if (Cause.isInterruptedOnly(exit.cause)) return { _tag: "stopped" } as const
      return { _tag: "failed", cause: sortCause(exit.cause) } as const
    }
    const json = normalize(exit.value)
    if (Either.isLeft(json)) {
      const { path, reason } = json.left
      return { _tag: "failed", cause: Cause.die(defectOf(new Error(`node ${node.id} returned a value that is not JSON at ${path}: ${reason}`))) } as const
    }
    const files = Object.fromEntries([...written.entries()].sort(([a], [b]) => (a < b ? -1 : 1)))
    return { _tag: "finished", json: json.right as NodeResult, files } as const
  })
