/**
 * A fake terminal for driving Ink apps in tests at a chosen size: stdout records every frame
 * (Ink in debug mode writes each frame whole), stdin takes key sequences. Like
 * ink-testing-library, whose stdout is fixed at 100 columns, but sized and with waitUntilExit.
 */
import { render } from "ink"
import { EventEmitter } from "node:events"
import type { ReactElement } from "react"
import type { UiEvent } from "../../tui/ui-event.ts"

export class FakeStdout extends EventEmitter {
  readonly frames: string[] = []
  readonly isTTY = true
  constructor(
    public columns: number,
    public rows: number
  ) {
    super()
  }
  write = (frame: string): boolean => {
    this.frames.push(frame)
    return true
  }
  /**
   * The last frame drawn. Writes without text are skipped: on exit Ink shows the cursor again,
   * and in CI mode it writes a bare newline.
   */
  lastFrame = (): string => this.frames.findLast((f) => stripAnsi(f).trim() !== "") ?? ""
  resize(columns: number, rows: number): void {
    this.columns = columns
    this.rows = rows
    this.emit("resize")
  }
}

export class FakeStdin extends EventEmitter {
  readonly isTTY = true
  private data: string | null = null
  write = (data: string): void => {
    this.data = data
    this.emit("readable")
    this.emit("data", data)
  }
  read = (): string | null => {
    const d = this.data
    this.data = null
    return d
  }
  setEncoding(): void {}
  setRawMode(): void {}
  resume(): void {}
  pause(): void {}
  ref(): void {}
  unref(): void {}
}

/**
 * Lets pending work run: Ink's input parsing, React's scheduled render and its passive effects
 * (which re-register the key handler). A few turns of the event loop, not a timed wait.
 */
export const settle = async (): Promise<void> => {
  for (let i = 0; i < 8; i++) await new Promise<void>((resolve) => setImmediate(resolve))
}

export const KEYS = {
  up: "\u001B[A",
  down: "\u001B[B",
  right: "\u001B[C",
  left: "\u001B[D",
  pageUp: "\u001B[5~",
  pageDown: "\u001B[6~",
  home: "\u001B[H",
  end: "\u001B[F",
  tab: "\t",
  ctrlC: "\u0003"
} as const

export const renderAt = (node: ReactElement, size: { columns: number; rows: number }) => {
  const stdout = new FakeStdout(size.columns, size.rows)
  const stdin = new FakeStdin()
  const instance = render(node, {
    stdout: stdout as unknown as NodeJS.WriteStream,
    stdin: stdin as unknown as NodeJS.ReadStream,
    debug: true,
    exitOnCtrlC: false,
    patchConsole: false
  })
  let exited = false
  const exit = instance.waitUntilExit().then(() => {
    exited = true
  })
  return {
    stdout,
    stdin,
    lastFrame: stdout.lastFrame,
    unmount: instance.unmount,
    exit,
    hasExited: () => exited,
    press: async (keys: string) => {
      stdin.write(keys)
      await settle()
    }
  }
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001B\[[0-9;?]*[ -/]*[@-~]/g
export const stripAnsi = (s: string): string => s.replace(ANSI, "")

/** Display columns of a line of the UI (its glyphs are all one column wide). */
export const columnsOf = (line: string): number => [...stripAnsi(line)].length

/**
 * The run UI mounted as `rstn run` mounts it, on a fake 100x30 terminal, fed by pushing events
 * one by one (the UI benchmarks); it leaves by itself at run-finished.
 */
export const mountPushedRunUi = async () => {
  const { mountRunUi } = await import("../../tui/mount-run-ui.tsx")
  const stdout = new FakeStdout(100, 30)
  let emit: ((e: UiEvent) => void) | undefined
  const ui = mountRunUi({
    events: (em) => {
      emit = em
      return () => undefined
    },
    stdout: stdout as unknown as NodeJS.WriteStream,
    stdin: new FakeStdin() as unknown as NodeJS.ReadStream,
    exitWhenFinished: true,
    patchConsole: false
  })
  return { stdout, ui, emit: (e: UiEvent) => emit!(e) }
}
