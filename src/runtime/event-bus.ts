/**
 * The run's event bus: a `PubSub<RunEvent>` every part of a run publishes on (executor, nodes)
 * and every view of a run subscribes to (the `events.jsonl` appender, the plain-text logger, the
 * terminal UI). Unbounded, so a publisher never waits on a slow subscriber; subscribers drain
 * continuously, so memory stays flat.
 */
import { Context, Effect, Layer, PubSub, type Queue, type Scope } from "effect"
import type { RunEvent } from "./events.ts"

export interface EventBusService {
  readonly publish: (event: RunEvent) => Effect.Effect<void>
  /** Events published from now on, until the scope closes. Subscribe before the run starts. */
  readonly subscribe: Effect.Effect<Queue.Dequeue<RunEvent>, never, Scope.Scope>
}

export const make: Effect.Effect<EventBusService> = Effect.map(PubSub.unbounded<RunEvent>(), (hub) => ({
  publish: (event) => Effect.asVoid(PubSub.publish(hub, event)),
  subscribe: PubSub.subscribe(hub)
}))

export class EventBus extends Context.Tag("rstn/EventBus")<EventBus, EventBusService>() {
  static readonly layer: Layer.Layer<EventBus> = Layer.effect(EventBus, make)
}
