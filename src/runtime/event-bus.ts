/**
 * The run's event bus: a `PubSub<RunEvent>` every part of a run publishes on (executor, nodes)
 * and every view of a run subscribes to (the `events.jsonl` appender, the plain-text logger, the
 * terminal UI). Unbounded, so a publisher never waits on a slow subscriber; subscribers drain
 * continuously, so memory stays flat.
 */
import { Context, Effect, Layer, PubSub, type Queue, type Scope, Stream } from "effect"
import type { RunEvent } from "./events.ts"

export interface EventBusService {
  readonly publish: (event: RunEvent) => Effect.Effect<void>
  /** Events published from now on, until the scope closes. Subscribe before the run starts. */
  readonly subscribe: Effect.Effect<Queue.Dequeue<RunEvent>, never, Scope.Scope>
  /**
   * The events from now on as a stream, through run-finished (included); it ends early when the
   * scope closes first (a run that failed before finishing). Subscribed when this is run, so
   * nothing published after that is missed, however late the stream is read.
   */
  readonly events: Effect.Effect<Stream.Stream<RunEvent>, never, Scope.Scope>
}

export const make: Effect.Effect<EventBusService> = Effect.map(PubSub.unbounded<RunEvent>(), (hub) => ({
  publish: (event) => Effect.asVoid(PubSub.publish(hub, event)),
  subscribe: PubSub.subscribe(hub),
  events: Effect.map(PubSub.subscribe(hub), (queue) =>
    Stream.fromQueue(queue).pipe(Stream.takeUntil((e) => e._tag === "run-finished"))
  )
}))

export class EventBus extends Context.Tag("rstn/EventBus")<EventBus, EventBusService>() {
  static readonly layer: Layer.Layer<EventBus> = Layer.effect(EventBus, make)
}
