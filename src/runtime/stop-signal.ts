/**
 * A request to stop the run at the next safe point. It comes from SIGINT/SIGTERM (Ctrl-C, a
 * scheduler's kill) or from a failing node under `on-case-error: stop`. Nodes see it at their
 * safe points; the executor starts no new node once it is set. A second signal stops at once:
 * every write is atomic, so even then no partial file is left.
 */
import { Deferred, Effect, Option, Ref, type Scope } from "effect"

export type StopReason =
  | { readonly _tag: "signal"; readonly signal: "SIGINT" | "SIGTERM" }
  | { readonly _tag: "node-failed"; readonly node: string }

export interface StopSignal {
  /** The first request wins; later ones are ignored. */
  readonly request: (reason: StopReason) => Effect.Effect<void>
  readonly requested: Effect.Effect<Option.Option<StopReason>>
  /** Waits for the first request (an executor passes it on to the processes running its nodes). */
  readonly awaitRequest: Effect.Effect<StopReason>
}

export const make: Effect.Effect<StopSignal> = Effect.gen(function* () {
  const ref = yield* Ref.make(Option.none<StopReason>())
  const first = yield* Deferred.make<StopReason>()
  return {
    request: (reason) =>
      Effect.flatMap(
        Ref.modify(ref, (r) => (Option.isSome(r) ? [false, r] : [true, Option.some(reason)])),
        (isFirst) => (isFirst ? Deferred.succeed(first, reason) : Effect.void)
      ).pipe(Effect.asVoid),
    requested: Ref.get(ref),
    awaitRequest: Deferred.await(first)
  }
})

/**
 * Handles SIGINT and SIGTERM for the scope's lifetime (the default handlers, which exit at once,
 * are back afterwards). `onSignal` gets the signal and how many have arrived (1, 2, ...).
 */
export const onProcessSignals = (
  onSignal: (signal: "SIGINT" | "SIGTERM", count: number) => Effect.Effect<void>
): Effect.Effect<void, never, Scope.Scope> => {
  let count = 0
  const handlers = {
    SIGINT: () => void Effect.runFork(onSignal("SIGINT", ++count)),
    SIGTERM: () => void Effect.runFork(onSignal("SIGTERM", ++count))
  }
  return Effect.acquireRelease(
    Effect.sync(() => {
      process.on("SIGINT", handlers.SIGINT)
      process.on("SIGTERM", handlers.SIGTERM)
    }),
    () =>
      Effect.sync(() => {
        process.off("SIGINT", handlers.SIGINT)
        process.off("SIGTERM", handlers.SIGTERM)
      })
  )
}
