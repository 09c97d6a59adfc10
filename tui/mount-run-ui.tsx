/**
 * Entry points for the rest of rstn: `mountRunUi` puts the live screen on a terminal, fed from
 * the runtime's PubSub or from a followed `events.jsonl`; `renderSnapshot` prints the state as
 * text once (a finished run's summary, `watch --once`, output that is not a terminal).
 */
import { render, renderToString } from "ink"
import type { EventSource } from "./event-source.ts"
import { RunApp } from "./run-app.tsx"
import { RunProvider } from "./run-provider.tsx"
import { FOLLOW, RunView } from "./run-view.tsx"
import { autoPanel } from "./layout.ts"
import type { ViewState } from "./view-state.ts"

export interface MountRunUiOptions {
  /** The run's events: an async iterable or a subscribe function (see `event-source.ts`). */
  readonly events: EventSource
  /**
   * Given when this UI owns the run (`rstn run`): q asks "interrupt the run? y/n" and calls it on
   * y; Ctrl-C calls it at once. Called at most once. Without it (`rstn watch`) q just leaves.
   */
  readonly onQuit?: () => void
  /** Unmount by itself once the run has finished; default: true when `onQuit` is given. */
  readonly exitWhenFinished?: boolean
  readonly stdout?: NodeJS.WriteStream
  readonly stdin?: NodeJS.ReadStream
  /** Minimum time between React renders; default 100 ms. */
  readonly throttleMs?: number
  readonly now?: () => number
  /**
   * Route stray console output (tfjs prints notices) above the UI instead of through it; on by
   * default. Off only where console is not Node's own (test runners replace it).
   */
  readonly patchConsole?: boolean
}

export interface RunUi {
  /** Settles when the UI has left the screen (user left, or the run finished). */
  readonly done: Promise<void>
  /** Takes the UI down now, leaving its last frame on screen. */
  readonly unmount: () => void
}

export const mountRunUi = (opts: MountRunUiOptions): RunUi => {
  const instance = render(
    <RunProvider source={opts.events} {...(opts.throttleMs !== undefined ? { throttleMs: opts.throttleMs } : {})} {...(opts.now ? { now: opts.now } : {})}>
      <RunApp
        {...(opts.onQuit ? { onQuit: opts.onQuit } : {})}
        exitWhenFinished={opts.exitWhenFinished ?? opts.onQuit !== undefined}
        {...(opts.now ? { now: opts.now } : {})}
      />
    </RunProvider>,
    {
      stdout: opts.stdout ?? process.stdout,
      stdin: opts.stdin ?? process.stdin,
      // Ctrl-C is a key like any other here: it must reach onQuit, not just unmount the UI.
      exitOnCtrlC: false,
      // Not `incrementalRendering`: with Ink 6.8 it leaves stale lines behind when the frame's
      // height changes (seen in tmux); whole-frame redraws are wrapped in synchronized output.
      patchConsole: opts.patchConsole ?? true
    }
  )
  return {
    done: instance.waitUntilExit().then(() => undefined),
    unmount: () => instance.unmount()
  }
}

export interface SnapshotOptions {
  readonly columns: number
  /** The time elapsed is measured to, for a run still going. */
  readonly now: number
}

/** The whole state as text, every panel in full, no key help: what `watch --once` prints. */
export const renderSnapshot = (state: ViewState, { columns, now }: SnapshotOptions): string =>
  renderToString(
    <RunView
      state={state}
      now={now}
      columns={columns}
      rows={null}
      panel={autoPanel(state)}
      scroll={FOLLOW}
      roundOffset={0}
      footer={{ _tag: "snapshot" }}
    />,
    { columns }
  )
