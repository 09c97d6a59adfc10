/**
 * The one subscriber inside the React tree: it listens to the event source, folds every event
 * into the view state with the pure reducer at once, and publishes that state to React at most
 * once per `throttleMs` (first event of a burst immediately, the rest batched), so thousands of
 * events per second cost a reducer step each and ten renders a second. Unsubscribes on cleanup.
 */
import { createContext, type ReactNode, useContext, useEffect, useState } from "react"
import { listen, type EventSource } from "./event-source.ts"
import { reduce } from "./reduce.ts"
import { initialViewState, type ViewState } from "./view-state.ts"

const RunStateContext = createContext<ViewState>(initialViewState)

/** Render budget: at most ten React updates a second (task: "at most every ~100 ms"). */
export const DEFAULT_THROTTLE_MS = 100

export interface RunProviderProps {
  readonly source: EventSource
  /** 0 publishes every event (tests); the default keeps renders to ten a second. */
  readonly throttleMs?: number
  /** Clock for throttling and for the time a stream was seen to stop. */
  readonly now?: () => number
  readonly children: ReactNode
}

export const RunProvider = ({ source, throttleMs = DEFAULT_THROTTLE_MS, now = Date.now, children }: RunProviderProps) => {
  const [state, setState] = useState<ViewState>(initialViewState)
  useEffect(() => {
    let current = initialViewState
    let published = current
    let lastPublish = -Infinity
    let timer: ReturnType<typeof setTimeout> | undefined
    const publish = () => {
      timer = undefined
      lastPublish = now()
      if (published !== current) {
        published = current
        setState(current)
      }
    }
    const schedule = () => {
      if (throttleMs <= 0) return publish()
      if (timer !== undefined) return
      const wait = lastPublish + throttleMs - now()
      if (wait <= 0) publish()
      else timer = setTimeout(publish, wait)
    }
    const stop = listen(
      source,
      (e) => {
        current = reduce(current, e)
        schedule()
      },
      (reason) => {
        current = reduce(current, {
          _tag: "source-stopped",
          at: now(),
          reason: reason ?? "the event stream ended before the run finished"
        })
        if (timer !== undefined) clearTimeout(timer)
        publish()
      }
    )
    return () => {
      stop()
      if (timer !== undefined) clearTimeout(timer)
    }
  }, [source, throttleMs, now])
  return <RunStateContext.Provider value={state}>{children}</RunStateContext.Provider>
}

export const useRunState = (): ViewState => useContext(RunStateContext)
