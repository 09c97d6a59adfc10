/**
 * What the terminal UI consumes: the run's own events plus one event the UI's side produces
 * itself, `source-stopped`, when the stream it reads ends before the run said it finished (the
 * run's process died, or a live stream closed). It never goes to `events.jsonl`.
 */
import type { RunEvent } from "../src/runtime/events.ts"

export interface SourceStopped {
  readonly _tag: "source-stopped"
  readonly at: number
  /** Why the UI will receive no more events, e.g. `the run's process (pid 4242) is gone`. */
  readonly reason: string
  readonly hint?: string
}

export type UiEvent = RunEvent | SourceStopped
