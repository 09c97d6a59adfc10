/**
 * Runs a graph: every node after its inputs, at most `concurrency` at a time, skipping nodes whose
 * manifest already holds their key. Each node runs in its own fiber and announces itself on the
 * event bus; its outputs become visible only when its manifest is committed. A failing node is
 * recorded and, per `onNodeError`, either its dependents are skipped while the rest goes on, or
 * the run stops. A stop request (signal or failure) lets running nodes reach a safe point and
 * starts nothing new.
 */
import { Cause, Clock, Effect, Either, Exit, Fiber, Option, Queue } from "effect"
import { ArtifactStore, type ArtifactStoreService } from "./artifact-store.ts"
import { normalize } from "./canonical-json.ts"
import { EventBus } from "./event-bus.ts"
import type { Graph, GraphNode } from "./graph.ts"
import type { FileOutput, Manifest } from "./manifest.ts"
import type { InputArtifact, NodeContext, NodeResult } from "./node.ts"
import type { StopSignal } from "./stop-signal.ts"

export type OnNodeError = "skip" | "stop"

export interface ExecuteOptions {
  /** Nodes running at once (run.concurrency). */
  readonly concurrency: number
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

/** What a failure is about, as far as its error says: the case and the file at fault. */
export interface FailureConcern {
  readonly caseId?: string
  readonly file?: string
}

/** The `caseId` and `file` fields of the failing tagged error (NiftiError.file, CaseDataError.caseId, ...). */
export const failureConcern = (cause: Cause.Cause<unknown>): FailureConcern => {
  const failure = Cause.failureOption(cause)
  if (Option.isNone(failure) || typeof failure.value !== "object" || failure.value === null) return {}
  const e = failure.value as { caseId?: unknown; file?: unknown }
  return {
    ...(typeof e.caseId === "string" ? { caseId: e.caseId } : {}),
    ...(typeof e.file === "string" ? { file: e.file } : {})
  }
}

/** errno codes after which every later write fails as well: no node can succeed until the user acts. */
const RUN_FATAL = new Set(["ENOSPC", "EDQUOT", "EROFS"])

/**
 * A failure that is not the node's own (the disk is full or read-only): the run stops whatever
 * `on-case-error` says, since skipping would only fail every node after it the same way.
 */
export const stopsRun = (cause: Cause.Cause<unknown>): boolean => {
  const failure = Cause.failureOption(cause)
  if (Option.isNone(failure) || typeof failure.value !== "object" || failure.value === null) return false
  const e = failure.value as { _tag?: unknown; reason?: unknown }
  return (e._tag === "FileSystemError" || e._tag === "WriteError") && typeof e.reason === "string" && RUN_FATAL.has(e.reason)
}

export type NodeOutcome =
  | { readonly _tag: "done"; readonly manifest: Manifest }
  | { readonly _tag: "cached"; readonly manifest: Manifest }
  | { readonly _tag: "failed"; readonly message: string; readonly cause: Cause.Cause<unknown> }
  /** An input failed (directly or further up); `because` is the failed node's id. */
  | { readonly _tag: "skipped"; readonly because: string }
  /** Stopped at a safe point; its checkpoint, if any, is kept for the resumed run. */
  | { readonly _tag: "stopped" }
  /** Never started because the run was stopping. */
  | { readonly _tag: "not-run" }

/** A readable message for a failure: the tagged error's message and hint, or the defect's. */
export const describeCause = (cause: Cause.Cause<unknown>): string => {
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure)) {
    const e = failure.value as { message?: unknown; hint?: unknown; _tag?: unknown }
    const message = typeof e?.message === "string" && e.message !== "" ? e.message : typeof e?._tag === "string" ? e._tag : String(e)
    return typeof e?.hint === "string" ? `${message} (hint: ${e.hint})` : message
  }
  const defect = Cause.squash(cause)
  return `internal error: ${defect instanceof Error ? defect.message : String(defect)}`
}

/** Yields to the Node event loop (not only to other fibers), so signal handlers can run. */
const yieldToEventLoop: Effect.Effect<void> = Effect.async<void>((resume) => {
  const handle = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(handle))
})

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
  options: ExecuteOptions,
  stop: StopSignal
): Effect.Effect<ReadonlyMap<string, NodeOutcome>, never, R | ArtifactStore | EventBus> =>
  Effect.gen(function* () {
    const store = yield* ArtifactStore
    const bus = yield* EventBus
    const now = Clock.currentTimeMillis

    const finished = (node: GraphNode<E, R>, status: "done" | "cached" | "failed" | "skipped", durationMs: number) =>
      Effect.flatMap(now, (at) => bus.publish({ _tag: "node-finished", at, key: node.key, status, durationMs }))

    const runNode = (
      node: GraphNode<E, R>,
      inputs: ReadonlyArray<InputArtifact>,
      missingInputs: ReadonlyArray<string>
    ): Effect.Effect<NodeOutcome, never, R> =>
      Effect.gen(function* () {
        const startedAt = yield* now
        yield* bus.publish({ _tag: "node-started", at: startedAt, key: node.key })
        yield* store.beginAttempt(node.id, node.key)
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
              Effect.flatMap(stop.requested, (r) =>
                Option.isNone(r) ? Effect.void : Effect.zipRight(beforeStop ?? Effect.void, Effect.interrupt)
              )
            ),
          stopRequested: Effect.map(stop.requested, Option.isSome),
          saveCheckpoint: (data) => store.saveCheckpoint(node.id, node.key, data),
          loadCheckpoint: store.loadCheckpoint(node.id, node.key),
          publish: bus.publish
        }
        // Its own fiber, so an interruption at a safe point ends this node only.
        const exit = yield* Fiber.await(yield* Effect.fork(Effect.suspend(() => node.run(ctx))))
        const result: Either.Either<NodeResult, Cause.Cause<unknown>> = Exit.isSuccess(exit)
          ? Either.right(exit.value)
          : Either.left(exit.cause)
        if (Either.isLeft(result) && Cause.isInterruptedOnly(result.left)) {
          const at = yield* now
          yield* bus.publish({ _tag: "log", at, message: `stopped ${node.label} at a safe point; it resumes from its last checkpoint` })
          return { _tag: "stopped" } as const
        }
        const committed = yield* Either.match(result, {
          onLeft: (cause) => Effect.fail(cause),
          onRight: (json) =>
            Effect.gen(function* () {
              const outputs = normalize(json)
              if (Either.isLeft(outputs)) {
                const { path, reason } = outputs.left
                return yield* Effect.fail(Cause.die(new Error(`node ${node.id} returned a value that is not JSON at ${path}: ${reason}`)))
              }
              const finishedAt = yield* now
              const manifest: Manifest = {
                format: 1,
                id: node.id,
                key: node.key,
                kind: node.kind,
                label: node.label,
                config: node.configJson,
                deps: node.deps.map((id, i) => ({ id, key: node.depKeys[i]! })),
                ...(missingInputs.length > 0 ? { missingInputs: [...missingInputs] } : {}),
                outputs: {
                  json: outputs.right as NodeResult,
                  files: Object.fromEntries([...written.entries()].sort(([a], [b]) => (a < b ? -1 : 1)))
                },
                finishedAt,
                durationMs: finishedAt - startedAt
              }
              yield* Effect.mapError(store.commit(manifest), Cause.fail)
              return manifest
            })
        }).pipe(Effect.either)
        if (Either.isRight(committed)) {
          yield* finished(node, "done", committed.right.durationMs)
          return { _tag: "done", manifest: committed.right } as const
        }
        const message = describeCause(committed.left)
        const at = yield* now
        const concern = failureConcern(committed.left)
        const caseId = options.caseOf?.(node.id, concern) ?? concern.caseId
        yield* Effect.ignore(store.recordFailure(node.id, { key: node.key, message, at }))
        yield* bus.publish({
          _tag: "error",
          at,
          key: node.key,
          message,
          ...(caseId !== undefined ? { caseId } : {}),
          ...(concern.file !== undefined ? { file: concern.file } : {})
        })
        yield* finished(node, "failed", at - startedAt)
        if (options.onNodeError === "stop" || stopsRun(committed.left)) yield* stop.request({ _tag: "node-failed", node: node.id })
        return { _tag: "failed", message, cause: committed.left } as const
      })

    // The scheduler: a node is resolved once all its deps have settled (skipped, not run, cached,
    // or ready); ready nodes start in topological order as slots free up, so a run with
    // concurrency 1 always executes in the same order.
    const index = new Map(graph.nodes.map((n, i) => [n.id, i]))
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
        const cached = yield* Effect.provideService(cachedManifest(store, node as GraphNode<unknown, unknown>), EventBus, bus)
        if (Option.isSome(cached)) {
          if (options.onCached) yield* options.onCached(node.id, cached.value)
          yield* finished(node, "cached", 0)
          return yield* settle(node.id, { _tag: "cached", manifest: cached.value })
        }
        const i = index.get(node.id)!
        const at = ready.findIndex((j) => j > i)
        ready.splice(at < 0 ? ready.length : at, 0, i)
      })

    const hasOutputs = (o: NodeOutcome | undefined): o is Extract<NodeOutcome, { manifest: Manifest }> =>
      o !== undefined && (o._tag === "done" || o._tag === "cached")
    const inputsOf = (node: GraphNode<E, R>): ReadonlyArray<InputArtifact> =>
      node.deps.flatMap((d) => {
        const o = outcomes.get(d)
        return hasOutputs(o) ? [store.input(o.manifest)] : []
      })
    const missingOf = (node: GraphNode<E, R>): ReadonlyArray<string> => node.deps.filter((d) => !hasOutputs(outcomes.get(d)))

    for (const node of graph.nodes) if (node.deps.length === 0) yield* resolve(node)
    while (outcomes.size < graph.nodes.length) {
      if (Option.isSome(yield* stop.requested)) {
        for (const i of ready.splice(0)) yield* settle(graph.nodes[i]!.id, { _tag: "not-run" })
      }
      const bound = Math.max(1, Math.floor(options.concurrency))
      while (running < bound && ready.length > 0) {
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
