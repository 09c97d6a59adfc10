/**
 * Runs a graph: every node after its inputs, as many at a time as the executor has slots (in this
 * process, in local worker processes, as Slurm jobs: execution/), skipping nodes whose manifest
 * already holds their key. Each node announces itself on the event bus when it starts wherever it
 * runs; its outputs become visible only when the driver commits its manifest, here. A failing node is
 * recorded and, per `onNodeError`, either its dependents are skipped while the rest goes on, or
 * the run stops. A stop request (signal or failure) lets running nodes reach a safe point and
 * starts nothing new.
 */
import { Cause, Clock, Effect, Either, Option, Queue } from "effect"
import { ArtifactStore, type ArtifactStoreService } from "./artifact-store.ts"
import { EventBus } from "./event-bus.ts"
import { inProcess } from "./execution/in-process.ts"
import { concernOf, describeFault, type FailureConcern, faultOf, type NodeError, type NodeFault, sortCause } from "./execution/node-error.ts"
import { readyOrder } from "./execution/priority.ts"
import type { MakeRunner, Placement } from "./execution/runner.ts"
import type { Graph, GraphNode } from "./graph.ts"
import type { Manifest } from "./manifest.ts"
import type { StopSignal } from "./stop-signal.ts"

export type { FailureConcern } from "./execution/node-error.ts"

export type OnNodeError = "skip" | "stop"

export interface ExecuteOptions<E = unknown, R = never> {
  /** Nodes running at once in this process, when no other executor is given (tests). */
  readonly concurrency: number
  /** Where nodes run (execution/); default: in this process, `concurrency` at a time. */
  readonly executor?: MakeRunner<E, R>
  /** `on-case-error`: skip a failed node's dependents and go on, or stop the run. */
  readonly onNodeError: OnNodeError
  /**
   * Called for each node found in cache, before its dependents start: a run re-announces what
   * cached nodes found (e.g. a test case's rounds), so every view of the run shows them.
   */
  readonly onCached?: (id: string, manifest: Manifest) => Effect.Effect<void>
  /**
   * The case a failed node concerns, for its error event: given the node id and what the
   * failure itself names (see `failureConcern`). The generic runtime knows no cases.
   */
  readonly caseOf?: (id: string, concern: FailureConcern) => string | undefined
}

/** The `caseId` and `file` a failure names (NiftiError.file, CaseDataError.caseId, ...). */
export const failureConcern = (cause: Cause.Cause<unknown>): FailureConcern => concernOf(faultOf(sortCause(cause)))

/**
 * A failure that is not the node's own (the disk is full or read-only): the run stops whatever
 * `on-case-error` says, since skipping would only fail every node after it the same way.
 */
export const stopsRun = (cause: Cause.Cause<unknown>): boolean => {
  const fault = faultOf(sortCause(cause))
  return fault._tag === "StorageFailure" && fault.stopsRun
}

export type NodeOutcome =
  | { readonly _tag: "done"; readonly manifest: Manifest }
  | { readonly _tag: "cached"; readonly manifest: Manifest }
  | { readonly _tag: "failed"; readonly message: string; readonly fault: NodeFault; readonly cause: Cause.Cause<NodeError> }
  /** An input failed (directly or further up); `because` is the failed node's id. */
  | { readonly _tag: "skipped"; readonly because: string }
  /** Stopped at a safe point; its checkpoint, if any, is kept for the resumed run. */
  | { readonly _tag: "stopped" }
  /** Never started because the run was stopping. */
  | { readonly _tag: "not-run" }

/** A readable message for a failure: the node error's message and hint, or the defect's. */
export const describeCause = (cause: Cause.Cause<unknown>): string => describeFault(faultOf(sortCause(cause)))

/** The node is cached when its manifest holds its key and every file output is intact. */
export const cachedManifest = (
  store: ArtifactStoreService,
  node: GraphNode<unknown, unknown>
): Effect.Effect<Option.Option<Manifest>, never, EventBus> =>
  Effect.gen(function* () {
    const read = yield* Effect.either(store.readManifest(node.id))
    if (Either.isLeft(read)) {
      const at = yield* Clock.currentTimeMillis
      yield* (yield* EventBus).publish({ _tag: "warning", at, key: node.key, message: `${read.left.message}: the node runs again` })
      return Option.none()
    }
    if (Option.isNone(read.right) || read.right.value.key !== node.key) return Option.none()
    if ((read.right.value.missingInputs ?? []).length > 0) return Option.none()
    const missing = yield* store.missingOutput(node.id, read.right.value)
    return Option.isNone(missing) ? read.right : Option.none()
  })

export const execute = <E, R>(
  graph: Graph<E, R>,
  options: ExecuteOptions<E, R>,
  stop: StopSignal
): Effect.Effect<ReadonlyMap<string, NodeOutcome>, never, R | ArtifactStore | EventBus> =>
  Effect.scoped(
    Effect.gen(function* () {
      const store = yield* ArtifactStore
      const bus = yield* EventBus
      const now = Clock.currentTimeMillis
      const runner = yield* (options.executor ?? inProcess<E, R>(options.concurrency))({ store, bus, stop })

      const finished = (node: GraphNode<E, R>, status: "done" | "cached" | "failed" | "skipped", durationMs: number) =>
        Effect.flatMap(now, (at) => bus.publish({ _tag: "node-finished", at, key: node.key, status, durationMs }))

      const runNode = (node: GraphNode<E, R>, inputs: ReadonlyArray<Manifest>, missingInputs: ReadonlyArray<string>): Effect.Effect<NodeOutcome, never, R> =>
        Effect.gen(function* () {
          let startedAt: number | undefined
          const started = (where: Placement | undefined) =>
            Effect.gen(function* () {
              if (startedAt !== undefined) return
              startedAt = yield* now
              yield* bus.publish({
                _tag: "node-started",
                at: startedAt,
                key: node.key,
                ...(where === undefined ? {} : { worker: where.worker }),
                ...(where?.pid !== undefined ? { pid: where.pid } : {}),
                ...(where?.jobId !== undefined ? { jobId: where.jobId } : {})
              })
            })
          const body = yield* runner.run({ node, inputs, missingInputs, started })
          if (body._tag === "stopped") {
            const at = yield* now
            yield* bus.publish({ _tag: "log", at, message: `stopped ${node.label} at a safe point; it resumes from its last checkpoint` })
            return { _tag: "stopped" } as const
          }
          const committed: Either.Either<Manifest, Cause.Cause<NodeError>> =
            body._tag === "failed"
              ? Either.left(body.cause)
              : yield* Effect.gen(function* () {
                  const finishedAt = yield* now
                  const manifest: Manifest = {
                    format: 1,
                    id: node.id,
                    key: node.key,
                    kind: node.kind,
                    label: node.label,
                    ...(node.engine !== undefined ? { engine: node.engine } : {}),
                    config: node.configJson,
                    deps: node.deps.map((id, i) => ({ id, key: node.depKeys[i]! })),
                    ...(missingInputs.length > 0 ? { missingInputs: [...missingInputs] } : {}),
                    outputs: { json: body.json, files: body.files },
                    finishedAt,
                    durationMs: finishedAt - (startedAt ?? finishedAt)
                  }
                  return yield* Effect.either(Effect.as(Effect.mapError(store.commit(manifest), (e) => sortCause(Cause.fail(e))), manifest))
                })
          if (Either.isRight(committed)) {
            yield* finished(node, "done", committed.right.durationMs)
            return { _tag: "done", manifest: committed.right } as const
          }
          const fault = faultOf(committed.left)
          const message = describeFault(fault)
          const at = yield* now
          const concern = concernOf(fault)
          const caseId = options.caseOf?.(node.id, concern) ?? concern.caseId
          yield* Effect.ignore(store.recordFailure(node.id, { key: node.key, message, at }))
          yield* bus.publish({
            _tag: "error",
            at,
            key: node.key,
            message,
            ...(caseId !== undefined ? { caseId } : {}),
            ...(concern.file !== undefined ? { file: concern.file } : {}),
            ...(fault._tag === "JobFailed" ? { jobId: fault.jobId, log: fault.log } : fault._tag === "WorkerLost" ? { log: fault.log } : {})
          })
          yield* finished(node, "failed", at - (startedAt ?? at))
          const fatal = fault._tag === "StorageFailure" && fault.stopsRun
          if (options.onNodeError === "stop" || fatal) yield* stop.request({ _tag: "node-failed", node: node.id })
          return { _tag: "failed", message, fault, cause: committed.left } as const
        })

      // The scheduler: a node is resolved once all its deps have settled (skipped, not run, cached,
      // or ready); ready nodes start as slots free up — in graph order with one slot, so a run
      // with one worker always executes in the same order; by longest remaining chain with more.
      const index = new Map(graph.nodes.map((n, i) => [n.id, i]))
      const order = readyOrder(graph, runner.slots)
      const outcomes = new Map<string, NodeOutcome>()
      const waiting = new Map(graph.nodes.map((n) => [n.id, n.deps.length]))
      const ready: number[] = []
      const completions = yield* Queue.unbounded<readonly [string, NodeOutcome]>()
      let running = 0

      const settle = (id: string, outcome: NodeOutcome): Effect.Effect<void> =>
        Effect.gen(function* () {
          outcomes.set(id, outcome)
          for (const next of graph.dependents.get(id) ?? []) {
            const left = waiting.get(next)! - 1
            waiting.set(next, left)
            if (left === 0) yield* resolve(graph.byId.get(next)!)
          }
        })

      const resolve = (node: GraphNode<E, R>): Effect.Effect<void> =>
        Effect.gen(function* () {
          const deps = node.deps.map((d) => outcomes.get(d)!)
          const blocked = deps.findIndex((o) => o._tag === "failed" || o._tag === "skipped")
          if (blocked >= 0 && node.partialInputs !== true) {
            const dep = deps[blocked]!
            yield* finished(node, "skipped", 0)
            return yield* settle(node.id, { _tag: "skipped", because: dep._tag === "skipped" ? dep.because : node.deps[blocked]! })
          }
          if (deps.some((o) => o._tag === "stopped" || o._tag === "not-run")) return yield* settle(node.id, { _tag: "not-run" })
          yield* store.sweep(node.id)
          const here = yield* Effect.provideService(cachedManifest(store, node as GraphNode<unknown, unknown>), EventBus, bus)
          // Not finished here: another run under the same runs root may have computed it (shared-store.ts).
          const cached = Option.isSome(here) ? here : yield* adopted(node)
          if (Option.isSome(cached)) {
            if (options.onCached) yield* options.onCached(node.id, cached.value)
            yield* finished(node, "cached", 0)
            return yield* settle(node.id, { _tag: "cached", manifest: cached.value })
          }
          const i = index.get(node.id)!
          const at = ready.findIndex((j) => order(j, i) > 0)
          ready.splice(at < 0 ? ready.length : at, 0, i)
        })

      const adopted = (node: GraphNode<E, R>): Effect.Effect<Option.Option<Manifest>> =>
        Effect.gen(function* () {
          const taken = yield* Effect.orElseSucceed(store.adopt(node.id, node.key, node.label), () => Option.none<Manifest>())
          if (Option.isSome(taken)) {
            yield* bus.publish({ _tag: "log", at: yield* now, message: `reused ${node.label} from the shared store (computed by ${taken.value.sharedFrom})` })
          }
          return taken
        })

      const hasOutputs = (o: NodeOutcome | undefined): o is Extract<NodeOutcome, { manifest: Manifest }> =>
        o !== undefined && (o._tag === "done" || o._tag === "cached")
      const inputsOf = (node: GraphNode<E, R>): ReadonlyArray<Manifest> =>
        node.deps.flatMap((d) => {
          const o = outcomes.get(d)
          return hasOutputs(o) ? [o.manifest] : []
        })
      const missingOf = (node: GraphNode<E, R>): ReadonlyArray<string> => node.deps.filter((d) => !hasOutputs(outcomes.get(d)))

      for (const node of graph.nodes) if (node.deps.length === 0) yield* resolve(node)
      while (outcomes.size < graph.nodes.length) {
        if (Option.isSome(yield* stop.requested)) {
          for (const i of ready.splice(0)) yield* settle(graph.nodes[i]!.id, { _tag: "not-run" })
        }
        while (running < runner.slots && ready.length > 0) {
          const node = graph.nodes[ready.shift()!]!
          running++
          yield* Effect.fork(Effect.flatMap(runNode(node, inputsOf(node), missingOf(node)), (o) => Queue.offer(completions, [node.id, o] as const)))
        }
        if (running === 0) break // everything left was settled above
        const [id, outcome] = yield* Queue.take(completions)
        running--
        yield* settle(id, outcome)
      }
      return new Map(graph.nodes.map((n) => [n.id, outcomes.get(n.id) ?? ({ _tag: "not-run" } as const)]))
    })
  )
