/** An event source a test pushes events into, recording whether the UI unsubscribed. */
import type { Subscribe } from "../../tui/event-source.ts"
import type { UiEvent } from "../../tui/ui-event.ts"

export const controlledSource = () => {
  let emit: ((e: UiEvent) => void) | undefined
  let end: ((reason?: string) => void) | undefined
  let subscriptions = 0
  let unsubscriptions = 0
  const source: Subscribe = (em, en) => {
    subscriptions++
    emit = em
    end = en
    return () => {
      unsubscriptions++
    }
  }
  return {
    source,
    emit: (...events: ReadonlyArray<UiEvent>) => {
      if (emit === undefined) throw new Error("the UI has not subscribed yet")
      for (const e of events) emit(e)
    },
    end: (reason?: string) => end?.(reason),
    subscriptions: () => subscriptions,
    unsubscriptions: () => unsubscriptions
  }
}
