/**
 * The terminal UI attached to a run this process starts (`rstn run`, `rstn resume` on a
 * terminal): the run's event stream feeds the screen, q/y and Ctrl-C ask the run to stop. The
 * runtime offers the stream (runtime/run-pipeline.ts); mounting Ink happens here, at the edge.
 */
import { Effect, Stream } from "effect"
import type { RunObserver } from "../runtime/run-pipeline.ts"

/** Loads the UI (Ink and React take most of a second) and returns the observer that mounts it. */
export const terminalView: Effect.Effect<RunObserver> = Effect.map(
  Effect.promise(() => import("../../tui/index.ts")),
  (ui): RunObserver =>
    (session) =>
      Effect.map(
        Effect.acquireRelease(
          Effect.sync(() => ui.mountRunUi({ events: Stream.toAsyncIterable(session.events), onQuit: session.requestStop })),
          // A run that failed before run-finished ends the stream: the UI shows it ended and
          // leaves, and the error is printed below it. After run-finished it has left already.
          (shown) =>
            Effect.promise(async () => {
              await Promise.race([shown.done, new Promise((resolve) => setTimeout(resolve, 1000).unref())])
              shown.unmount()
            })
        ),
        (shown) => Effect.promise(() => shown.done)
      )
)
