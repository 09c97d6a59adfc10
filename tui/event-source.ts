/**
 * Where the UI's events come from: either an async iterable (a stream over the runtime's PubSub,
 * or `events.jsonl` followed as it grows) or a subscribe function (emit callback in,
 * unsubscribe out). `listen` gives both the same shape for the provider.
 */
import type { UiEvent } from "./ui-event.ts"

/** Calls `emit` per event and `end` when no more will come; returns the unsubscribe function. */
export type Subscribe = (emit: (event: UiEvent) => void, end: (reason?: string) => void) => () => void

export type EventSource = AsyncIterable<UiEvent> | Subscribe

/**
 * Starts delivering `source`'s events to `onEvent`; `onEnd` is called once if the source ends
 * (with a reason when it failed). The returned function stops delivery; nothing is delivered
 * after it returns.
 */
export const listen = (
  source: EventSource,
  onEvent: (event: UiEvent) => void,
  onEnd: (reason?: string) => void
): (() => void) => {
  let stopped = false
  let ended = false
  const end = (reason?: string) => {
    if (stopped || ended) return
    ended = true
    onEnd(reason)
  }
  if (typeof source === "function") {
    const unsubscribe = source((e) => {
      if (!stopped && !ended) onEvent(e)
    }, end)
    return () => {
      stopped = true
      unsubscribe()
    }
  }
  const iterator = source[Symbol.asyncIterator]()
  void (async () => {
    try {
      for (;;) {
        const r = await iterator.next()
        if (stopped) return
        if (r.done) return end()
        onEvent(r.value)
      }
    } catch (e) {
      end(`the event stream failed: ${e instanceof Error ? e.message : String(e)}`)
    }
  })()
  return () => {
    stopped = true
    // Not awaited: a generator parked in `await` settles its return() only after that await.
    void Promise.resolve(iterator.return?.()).catch(() => undefined)
  }
}
