/**
 * The interactive screen driven like a terminal: events pushed through the provider, keys typed
 * on stdin, frames read back (Given a run, When a key is pressed, Then the frame shows ...).
 */
import { afterEach, describe, expect, it, vi } from "vitest"
import type { RunEvent } from "../../src/runtime/events.ts"
import { RunApp } from "../../tui/run-app.tsx"
import { RunProvider } from "../../tui/run-provider.tsx"
import { controlledSource } from "./controlled-source.ts"
import { recordedRun, T0, trainKey, upTo } from "./recorded-run.ts"
import { columnsOf, KEYS, renderAt, settle, stripAnsi } from "./terminal.ts"

const events = recordedRun()
const lastAt = (es: ReadonlyArray<RunEvent>) => es.at(-1)!.at

/** A finished run of `n` cases with two rounds each, to have something to scroll. */
const manyCases = (n: number): RunEvent[] => {
  const out: RunEvent[] = [
    {
      _tag: "run-started",
      at: T0,
      pipeline: "many",
      file: "many.yaml",
      runDir: "runs/many",
      backend: "cpu",
      backendReason: "",
      pid: 7,
      nodes: [],
      thresholds: [0.95],
      maxRounds: 8
    }
  ]
  for (let i = 1; i <= n; i++) {
    const caseId = `case_${String(i).padStart(2, "0")}`
    for (let r = 0; r <= 8; r++) {
      out.push({ _tag: "round-finished", at: T0 + i, caseId, fold: 0, round: r, dsc: 0.6 + r * 0.02 + i / 1000, interDsc: r === 0 ? null : 0.9 + r / 100, reached: r === 5 ? [0.95] : [], durationMs: 1 })
    }
    out.push({ _tag: "case-finished", at: T0 + i, caseId, fold: 0, rounds: 8, coarseDsc: 0.6 + i / 1000, finalDsc: 0.76 + i / 1000, reachedAt: [{ t: 0.95, round: 5 }] })
  }
  out.push({ _tag: "run-finished", at: T0 + n + 1, status: "done", summary: null, coarse: null, failedCases: [], resumeHint: null })
  return out
}

const mount = async (opts: { onQuit?: () => void; exitWhenFinished?: boolean; columns?: number; rows?: number } = {}) => {
  const src = controlledSource()
  const now = () => T0 + 60_000
  const ui = renderAt(
    <RunProvider source={src.source} throttleMs={0} now={now}>
      <RunApp {...(opts.onQuit ? { onQuit: opts.onQuit } : {})} exitWhenFinished={opts.exitWhenFinished ?? false} now={now} tickMs={60_000} />
    </RunProvider>,
    { columns: opts.columns ?? 80, rows: opts.rows ?? 24 }
  )
  await settle()
  const frame = () => stripAnsi(ui.lastFrame())
  /** Pushes events, then lets React commit (state updates from outside React are scheduled). */
  const push = async (...es: ReadonlyArray<RunEvent>) => {
    src.emit(...es)
    await settle()
  }
  const end = async (reason?: string) => {
    src.end(reason)
    await settle()
  }
  return { ...ui, src, push, end, frame, footer: () => frame().split("\n").at(-1) ?? "" }
}

let cleanup: Array<() => void> = []
afterEach(() => {
  for (const c of cleanup) c()
  cleanup = []
})
const mounted = async (opts: Parameters<typeof mount>[0] = {}) => {
  const m = await mount(opts)
  cleanup.push(m.unmount)
  return m
}

describe("following a run", () => {
  it("shows training first, then the case table once testing begins", async () => {
    const ui = await mounted()
    expect(ui.frame()).toContain("waiting for the run to start")
    await ui.push(...upTo(events, (e) => e._tag === "training-progress" && e.key === trainKey(0, "Z", "I") && e.iteration === 40))
    expect(ui.frame()).toMatch(/^▶ f0 Z I +40\/60 /m)
    await ui.push(...events.slice(upTo(events, (e) => e._tag === "training-progress" && e.key === trainKey(0, "Z", "I") && e.iteration === 40).length))
    expect(ui.frame()).toMatch(/^✓ case_001 f0 +75\.1 +84\.5 │/m)
    expect(ui.footer()).toMatch(/^run finished {2}q leave/)
  })

  it("redraws for the new size when the terminal is resized", async () => {
    const ui = await mounted()
    await ui.push(...events)
    expect(ui.frame()).toContain("rounds 1–4 of 5")
    ui.stdout.resize(140, 40)
    await settle()
    expect(ui.frame()).toMatch(/^✓ case_003 .*87\.7 \.988/m)
    expect(Math.max(...ui.frame().split("\n").map(columnsOf))).toBeGreaterThan(80)
  })

  it("unsubscribes from the events when it goes away", async () => {
    const ui = await mount()
    expect(ui.src.subscriptions()).toBe(1)
    ui.unmount()
    await ui.exit
    expect(ui.src.unsubscriptions()).toBe(1)
  })

  it("says so when the stream ends before the run finished", async () => {
    const ui = await mounted()
    await ui.push(...events.slice(0, 10))
    await ui.end()
    expect(ui.frame().split("\n")[1]).toContain("■ stopped  the event stream ended before the run finished")
    expect(ui.footer()).toMatch(/^run stopped/)
  })
})

describe("keys", () => {
  it("tab switches between the cases, messages and training panels", async () => {
    const ui = await mounted({ columns: 120 })
    await ui.push(...events)
    expect(ui.frame()).toContain("final DSC 84.00 ± 2.39")
    await ui.press(KEYS.tab)
    expect(ui.frame()).toMatch(/⚠ case_002 · labelsTr\/case_002\.nii\.gz: the label has only 212 foreground voxels/)
    expect(ui.frame()).not.toContain("final DSC 84.00 ± 2.39   coarse")
    await ui.press(KEYS.tab)
    expect(ui.frame()).toMatch(/^✓ f0 X S /m)
    await ui.press(KEYS.tab)
    expect(ui.frame()).toContain("final DSC 84.00 ± 2.39   coarse")
  })

  it("arrows, PgUp/PgDn, Home and End scroll the case table", async () => {
    const ui = await mounted()
    await ui.push(...manyCases(30))
    const firstRow = () => ui.frame().split("\n").find((l) => l.startsWith("✓ case_"))!.slice(2, 9)
    expect(ui.frame()).toContain("1–13 of 30")
    expect(firstRow()).toBe("case_01")
    await ui.press(KEYS.down)
    expect(firstRow()).toBe("case_02")
    await ui.press(KEYS.pageDown)
    expect(firstRow()).toBe("case_14")
    await ui.press(KEYS.pageDown)
    expect(ui.frame()).toContain("18–30 of 30") // the last page ends at the last case
    expect(ui.frame()).toMatch(/^✓ case_30 /m)
    await ui.press(KEYS.pageUp)
    expect(firstRow()).toBe("case_06")
    await ui.press(KEYS.home)
    await ui.press(KEYS.up)
    expect(firstRow()).toBe("case_01")
    expect(ui.frame().split("\n").length).toBeLessThanOrEqual(23)
  })

  it("left and right move through the rounds that do not fit", async () => {
    const ui = await mounted()
    await ui.push(...manyCases(3))
    const header = () => ui.frame().split("\n").find((l) => l.includes("│") && l.includes(" r"))!
    expect(header()).toMatch(/│ +r1 inter +r2 +r3 +r4 *$/)
    await ui.press(KEYS.right)
    await ui.press(KEYS.right)
    expect(header()).toMatch(/│ +r3 inter +r4 +r5 +r6 *$/)
    for (let i = 0; i < 10; i++) await ui.press(KEYS.right)
    expect(header()).toMatch(/│ +r5 inter +r6 +r7 +r8 *$/)
    await ui.press(KEYS.left)
    expect(header()).toMatch(/│ +r4 inter/)
  })

  it("q leaves a watched run at once, without asking", async () => {
    const ui = await mount()
    await ui.push(...events.slice(0, 50))
    await ui.press("q")
    await ui.exit
    expect(ui.hasExited()).toBe(true)
  })

  it("q in a run it owns asks first; n keeps going, y interrupts", async () => {
    const onQuit = vi.fn()
    const ui = await mount({ onQuit, exitWhenFinished: true })
    const partial = events.slice(0, 50)
    await ui.push(...partial)
    expect(ui.footer()).toMatch(/^q interrupt/)
    await ui.press("q")
    expect(ui.footer()).toBe("interrupt the run? y/n")
    await ui.press("n")
    expect(ui.footer()).toMatch(/^q interrupt/)
    expect(onQuit).not.toHaveBeenCalled()
    await ui.press("q")
    await ui.press("y")
    expect(onQuit).toHaveBeenCalledTimes(1)
    expect(ui.footer()).toMatch(/^interrupting: the run stops at its next safe point/)
    expect(ui.hasExited()).toBe(false)
    await ui.push({ _tag: "run-finished", at: lastAt(partial) + 1, status: "interrupted", summary: null, coarse: null, failedCases: [], resumeHint: "rstn run pipelines/demo.yaml resumes it" })
    await ui.exit
    expect(ui.frame().split("\n")[1]).toMatch(/^■ interrupted {2}rstn run pipelines\/demo\.yaml resumes it/)
    // The frame left on screen offers no keys: nothing listens to them any more.
    expect(ui.footer()).toBe("run interrupted")
    expect(onQuit).toHaveBeenCalledTimes(1)
  })

  it("Ctrl-C in a run it owns interrupts without asking", async () => {
    const onQuit = vi.fn()
    const ui = await mounted({ onQuit, exitWhenFinished: true })
    await ui.push(...events.slice(0, 50))
    await ui.press(KEYS.ctrlC)
    expect(onQuit).toHaveBeenCalledTimes(1)
    expect(ui.footer()).toMatch(/^interrupting/)
  })

  it("a run it owns that finishes takes the UI down by itself, leaving the final frame", async () => {
    const onQuit = vi.fn()
    const ui = await mount({ onQuit, exitWhenFinished: true })
    await ui.push(...events)
    await ui.exit
    expect(ui.frame()).toContain("final DSC 84.00 ± 2.39")
    expect(ui.footer()).toBe("run finished")
    expect(onQuit).not.toHaveBeenCalled()
  })
})

describe("render throttling", () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it("folds every event into the state but renders at most once per 100 ms, the last state always", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"], now: 0 })
    const { useRunState } = await import("../../tui/run-provider.tsx")
    const seen: number[] = []
    const Probe = () => {
      seen.push(useRunState().eventCount)
      return null
    }
    const src = controlledSource()
    const ui = renderAt(
      <RunProvider source={src.source} now={() => Date.now()}>
        <Probe />
      </RunProvider>,
      { columns: 80, rows: 24 }
    )
    cleanup.push(ui.unmount)
    await settle()
    const run = recordedRun({ progressEvery: 1 })
    expect(run.length).toBeGreaterThan(1010)
    const burst = run.slice(0, 1000)
    src.emit(...burst) // a thousand events in one tick
    await settle()
    expect(seen).toEqual([0, 1]) // the first is drawn at once, the rest wait
    vi.advanceTimersByTime(99)
    await settle()
    expect(seen).toEqual([0, 1])
    vi.advanceTimersByTime(1)
    await settle()
    expect(seen).toEqual([0, 1, 1000])
    vi.advanceTimersByTime(50)
    src.emit(...run.slice(1000, 1010))
    vi.advanceTimersByTime(49)
    await settle()
    expect(seen).toEqual([0, 1, 1000])
    vi.advanceTimersByTime(1)
    await settle()
    expect(seen).toEqual([0, 1, 1000, 1010])
    src.end()
    await settle()
    expect(seen.at(-1)).toBe(1011) // the end of the stream is shown at once
  })
})
