/** `mountRunUi` as the runtime calls it: an async iterable of events, a terminal, onQuit. */
import { describe, expect, it, vi } from "vitest"
import type { RunEvent } from "../../src/runtime/events.ts"
import { mountRunUi } from "../../tui/mount-run-ui.tsx"
import type { UiEvent } from "../../tui/ui-event.ts"
import { recordedRun } from "./recorded-run.ts"
import { FakeStdin, FakeStdout, settle, stripAnsi } from "./terminal.ts"

/** An async iterable that yields `first`, then whatever `push` adds, until `close`. */
const liveStream = (first: ReadonlyArray<RunEvent>) => {
  const queue: UiEvent[] = [...first]
  let wake: (() => void) | undefined
  let closed = false
  async function* stream(): AsyncGenerator<UiEvent> {
    for (;;) {
      while (queue.length > 0) yield queue.shift()!
      if (closed) return
      await new Promise<void>((resolve) => (wake = resolve))
    }
  }
  return {
    events: stream(),
    push: (e: UiEvent) => {
      queue.push(e)
      wake?.()
    },
    close: () => {
      closed = true
      wake?.()
    }
  }
}

const terminal = () => ({ stdout: new FakeStdout(80, 24), stdin: new FakeStdin() })
const io = (t: ReturnType<typeof terminal>) => ({
  stdout: t.stdout as unknown as NodeJS.WriteStream,
  stdin: t.stdin as unknown as NodeJS.ReadStream,
  patchConsole: false
})

describe("mountRunUi", () => {
  const events = recordedRun()

  it("draws a live stream and settles `done` when the user leaves with q", async () => {
    const t = terminal()
    const live = liveStream(events.slice(0, 40))
    const ui = mountRunUi({ events: live.events, ...io(t), throttleMs: 0 })
    await settle()
    // In a CI environment Ink draws only the final frame, so the frame is checked after leaving.
    t.stdin.write("q")
    await ui.done
    expect(stripAnsi(t.stdout.frames.join(""))).toContain("rstn  demo")
    live.close()
  })

  it("asks before interrupting a run it owns, calls onQuit once, and leaves when the run has stopped", async () => {
    const t = terminal()
    const live = liveStream(events.slice(0, 40))
    const onQuit = vi.fn()
    const ui = mountRunUi({ events: live.events, onQuit, ...io(t), throttleMs: 0 })
    await settle()
    t.stdin.write("q")
    await settle()
    expect(onQuit).not.toHaveBeenCalled()
    t.stdin.write("y")
    await settle()
    expect(onQuit).toHaveBeenCalledTimes(1)
    let done = false
    void ui.done.then(() => (done = true))
    await settle()
    expect(done).toBe(false) // still showing the run until it has actually stopped
    live.push({ _tag: "run-finished", at: events[40]!.at, status: "interrupted", summary: null, coarse: null, failedCases: [], resumeHint: null })
    await ui.done
    expect(onQuit).toHaveBeenCalledTimes(1)
  })

  it("can be taken down by its caller", async () => {
    const t = terminal()
    const live = liveStream([])
    const ui = mountRunUi({ events: live.events, ...io(t) })
    await settle()
    ui.unmount()
    await ui.done
    live.close()
  })
})
