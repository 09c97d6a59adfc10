/**
 * Frames of the screen for recorded runs (Given a run's events, When drawn at a size, Then the
 * frame shows ...). Pure views are drawn with renderToString at exact sizes; ink-testing-library
 * draws the same view the way a terminal receives it.
 */
import { renderToString } from "ink"
import { render } from "ink-testing-library"
import { describe, expect, it } from "vitest"
import type { RunEvent } from "../../src/runtime/events.ts"
import type { FooterMode } from "../../tui/components/footer.tsx"
import type { Panel } from "../../tui/layout.ts"
import { renderSnapshot } from "../../tui/mount-run-ui.tsx"
import { reduceAll } from "../../tui/reduce.ts"
import { FOLLOW, RunView, type Scroll } from "../../tui/run-view.tsx"
import { columnsOf, stripAnsi } from "./terminal.ts"
import { recordedRun, T0, trainKey, upTo } from "./recorded-run.ts"

const events = recordedRun()
const atOf = (es: ReadonlyArray<RunEvent>) => es.at(-1)!.at
const midTraining = upTo(events, (e) => e._tag === "training-progress" && e.key === trainKey(1, "Y", "I") && e.iteration === 30)
const midTesting = upTo(events, (e) => e._tag === "round-finished" && e.caseId === "case_003" && e.round === 2)

const frame = (
  es: ReadonlyArray<RunEvent>,
  size: { columns: number; rows: number | null },
  opts: { panel?: Panel; scroll?: Scroll; roundOffset?: number; footer?: FooterMode } = {}
): string => {
  const state = reduceAll(es)
  return stripAnsi(
    renderToString(
      <RunView
        state={state}
        now={atOf(es)}
        columns={size.columns}
        rows={size.rows}
        panel={opts.panel ?? (state.cases.length > 0 ? "cases" : "training")}
        scroll={opts.scroll ?? FOLLOW}
        roundOffset={opts.roundOffset ?? 0}
        footer={opts.footer ?? { _tag: "keys", leave: "leave", ended: null }}
      />,
      { columns: size.columns }
    )
  )
}

/** The first line of the frame that starts with `needle` (after leading spaces: `mean`). */
const lineWith = (text: string, needle: string): string => {
  const line = text.split("\n").find((l) => l.trimStart().startsWith(needle.trimStart()))
  if (line === undefined) throw new Error(`no line starts with ${needle}:\n${text}`)
  return line
}
const lineContaining = (text: string, needle: string): string => {
  const line = text.split("\n").find((l) => l.includes(needle))
  if (line === undefined) throw new Error(`no line contains ${needle}:\n${text}`)
  return line
}

const expectFits = (text: string, columns: number, rows: number) => {
  const lines = text.split("\n")
  expect(lines.length).toBeLessThanOrEqual(rows - 1)
  for (const l of lines) expect(columnsOf(l)).toBeLessThanOrEqual(columns)
}

describe("the header and node groups", () => {
  it("name the pipeline, backend, run directory, elapsed time, ETA and what is running", () => {
    const f = frame(midTraining, { columns: 80, rows: 24 })
    const [first, second, groups, running] = f.split("\n")
    expect(first).toMatch(/^rstn {2}demo {2}· {2}wasm {2}· {2}runs\/demo +elapsed 34s {2}ETA ≥13s$/)
    expect(second).toContain("● running")
    // Counts by status, with the panels' glyphs when words do not fit 80 columns.
    expect(groups).toBe("training ✓13 ▶1 ·4 │ coarse ·12 │ rounds ·4 │ evaluation ·3")
    expect(running).toBe("running: train fold 1 view Y phase I (1s)")
  })

  it("show every running node and the worker it runs on, when several run at once", () => {
    // Given a run with two workers: a second training node starts on w2 while w1 trains.
    const until = midTraining.map((e) => (e._tag === "node-started" && e.key === trainKey(1, "Y", "I") ? { ...e, worker: "w1", pid: 11 } : e))
    const at = atOf(until)
    const parallel: RunEvent[] = [...until, { _tag: "node-started", at, key: trainKey(1, "Z", "S"), worker: "w2", pid: 12 }]
    // When drawn, Then the running line names both, each with its worker.
    const running = frame(parallel, { columns: 110, rows: 24 }).split("\n")[3]
    expect(running).toBe("running: train fold 1 view Y phase I on w1 (1s)  ·  train fold 1 view Z phase S on w2 (0s)")
  })

  it("keep the node counts in glyphs while the run goes on, so the line does not jump between forms", () => {
    // Spelled out, this line (101 columns) would fit 110 columns now, but not once more counts appear.
    expect(frame(midTesting, { columns: 110, rows: 24 }).split("\n")[2]).toBe("training ✓18 │ coarse ✓9 ·3 │ rounds ✓2 ▶1 ·1 │ evaluation ·3")
    expect(frame(events, { columns: 100, rows: 24 }).split("\n")[2]).toBe("training 18 done │ coarse 12 done │ rounds 4 done │ evaluation 3 done")
  })

  it("give no ETA while no pending work has been priced, rather than a lower bound of 0s", () => {
    expect(frame(events.slice(0, 1), { columns: 80, rows: 24 }).split("\n")[0]).toMatch(/elapsed 0s {2}ETA —$/)
  })

  it("name the backend that runs, not every backend tried before it", () => {
    const [start, ...rest] = events
    const tried = {
      ...(start as Extract<RunEvent, { _tag: "run-started" }>),
      backendReason: "@tensorflow/tfjs-node-gpu is not installed; @tensorflow/tfjs-node is not installed; using wasm (SIMD, 1 thread)"
    }
    const second = frame([tried, ...rest.slice(0, 3)], { columns: 100, rows: 24 }).split("\n")[1]
    expect(second).toBe("● running  pipelines/demo.yaml  backend: using wasm (SIMD, 1 thread)")
  })

  it("show the final DSC and freeze the clock once the run has finished", () => {
    const f = frame(events, { columns: 80, rows: 24 })
    expect(f.split("\n")[0]).toMatch(/elapsed 1m16s$/)
    expect(f).not.toContain("ETA")
    expect(f.split("\n")[1]).toContain("✓ done  final DSC 84.00 ± 2.39")
    expect(f).toContain("nothing running")
    expect(frame(events, { columns: 100, rows: 24 }).split("\n")[2]).toBe(
      "training 18 done │ coarse 12 done │ rounds 4 done │ evaluation 3 done"
    )
  })
})

describe("the training panel", () => {
  it("shows every fold × view × phase with its status, iteration, progress bar and losses", () => {
    const f = frame(midTraining, { columns: 80, rows: 24 })
    expect(lineWith(f, "✓ f0 X S")).toMatch(/^✓ f0 X S +20\/20 █{10} 100% 0\.\d{3} /)
    const running = lineWith(f, "▶ f1 Y I")
    expect(running).toMatch(/^▶ f1 Y I +30\/60 █{5}░{5} +50% /)
    // coarse, fine and joint losses, each followed by its sparkline
    const losses = running.match(/\d\.\d{3} [▁▂▃▄▅▆▇█ ]+/g)
    expect(losses).toHaveLength(3)
    expect(lineWith(f, "· f1 Y J")).toMatch(/^· f1 Y J +pending$/)
  })

  it("draws wider sparklines and the learning rate on wider terminals", () => {
    const spark = (columns: number) => {
      const line = lineWith(frame(events, { columns, rows: 50 }, { panel: "training" }), "✓ f0 X J")
      return Math.max(...(line.match(/[▁▂▃▄▅▆▇█]+/g) ?? []).map((s) => s.length))
    }
    expect(spark(160)).toBeGreaterThan(2 * spark(80))
    expect(lineWith(frame(events, { columns: 160, rows: 50 }, { panel: "training" }), "✓ f0 X J")).toContain("lr 5e-4")
  })

  it("shows cached training as reused", () => {
    // A cached node is announced as such by run-started and never started.
    const cached = { ...(events[0] as Extract<RunEvent, { _tag: "run-started" }>) }
    cached.nodes = cached.nodes.map((n) => (n.key === trainKey(0, "X", "S") ? { ...n, status: "cached" as const } : n))
    const f = frame([cached], { columns: 80, rows: 24 })
    expect(lineWith(f, "≡ f0 X S")).toMatch(/^≡ f0 X S +cached: trained weights reused/)
  })
})

describe("the case table", () => {
  const finished = frame(events, { columns: 80, rows: 24 })

  it("has one row per case with coarse-only DSC beside the final DSC, then DSC and inter-DSC per round", () => {
    expect(lineWith(finished, "✓ case_001")).toBe("✓ case_001 f0  75.1  84.5 │  82.0 .912¹   83.9 .965²   84.3 .986³   84.5 .993⁴")
    expect(lineWith(finished, "✓ case_004")).toBe("✓ case_004 f1  70.2  81.7 │  79.5 .905¹   81.2 .981²³  81.7 .992⁴")
  })

  it("marks the round where each t was reached, several at once when they coincide", () => {
    const row = lineWith(finished, "✓ case_002")
    expect(row).toContain("79.0 .881  ") // round 1 met no threshold
    expect(row).toContain("81.5 .951¹²") // t = 0.90 and 0.95 at round 2
    expect(row).toContain("82.2 .990³⁴") // t = 0.98 and 0.99 at round 3
    expect(lineWith(finished, "t: ")).toBe("t: ¹0.90 4/4 in 1.25  ²0.95 4/4 in 2.00  ³0.98 4/4 in 2.75  ⁴0.99 3/4 in 3.33")
  })

  it("shows per-round means and mean ± std of the final and the coarse-only DSC", () => {
    expect(lineWith(finished, "mean ")).toBe("  mean         72.8  84.0 │  81.5 .907    83.4 .967    83.9 .988    84.0 .990")
    expect(lineWith(finished, "final DSC")).toBe("final DSC 84.00 ± 2.39   coarse only 72.84 ± 3.85   4 cases, min 81.66 max 87.71")
  })

  it("keeps a running mean ± std while cases are still being tested", () => {
    const f = frame(midTesting, { columns: 80, rows: 24 })
    expect(lineWith(f, "final DSC")).toMatch(/^final DSC 83\.32 ± 1\.15 so far {3}coarse only 71\.66 ± 3\.46 {3}2 cases/)
    expect(lineWith(f, "▶ case_003")).toBe("▶ case_003 f1  77.9     … │  85.6 .932¹   87.0 .970²")
    expect(f).toContain("running: test case_003")
    // Done of all the cases the run will test, case_004 not yet begun included.
    expect(lineContaining(f, " Cases ")).toMatch(/ Cases 2\/4 /)
  })

  it("keeps its column titles whole for short training and rounds that met no t", () => {
    const short = recordedRun().map((e): RunEvent => {
      if (e._tag === "training-progress") return { ...e, iteration: Math.ceil(e.iteration / 10), iterations: e.iterations / 10 }
      if (e._tag === "round-finished") return { ...e, reached: [] }
      return e
    })
    const training = frame(upTo(short, (e) => e._tag === "training-progress" && e.iteration === 2), { columns: 80, rows: 24 })
    expect(lineWith(training, "run ")).toMatch(/^ {2}run +iter progress/)
    expect(lineWith(training, "▶ f0 X S")).toMatch(/^▶ f0 X S +2\/2 /)
    expect(lineWith(frame(short, { columns: 80, rows: 24 }), "case ")).toMatch(/│ +r1 inter +r2 /)
  })

  it("marks the cases a stopped run was testing, with nothing left running", () => {
    const stopped: RunEvent[] = [
      ...midTesting,
      { _tag: "run-finished", at: atOf(midTesting) + 1, status: "interrupted", summary: null, coarse: null, failedCases: [], resumeHint: "rstn resume runs/demo" }
    ]
    const f = frame(stopped, { columns: 80, rows: 24 })
    expect(lineWith(f, "■ case_003")).toBe("■ case_003 f1  77.9     … │  85.6 .932¹   87.0 .970²")
    expect(f).toContain("nothing running")
    expect(f.split("\n")[1]).toMatch(/^■ interrupted {2}rstn resume runs\/demo/)
  })

  it("fits 80 columns by showing some rounds, and more on wider terminals", () => {
    expect(lineContaining(finished, " Cases ")).toContain("rounds 1–4 of 5 (←→)")
    expect(lineWith(finished, "✓ case_003")).not.toContain("87.7 .988")
    const scrolled = frame(events, { columns: 80, rows: 24 }, { roundOffset: 1 })
    expect(lineWith(scrolled, "✓ case_003")).toContain("87.7 .988")
    expect(lineWith(scrolled, "  case ")).toMatch(/│ +r2 inter/)
    const wide = frame(events, { columns: 120, rows: 24 })
    expect(lineWith(wide, "✓ case_003")).toBe("✓ case_003 f1  77.9  87.7 │  85.6 .932¹   87.0 .970²   87.5 .984³   87.6 .987    87.7 .988")
  })
})

describe("warnings and errors", () => {
  it("name the case and file they concern", () => {
    const f = frame(events, { columns: 100, rows: 24 })
    expect(lineWith(f, "⚠ 1 ✗ 0")).toBe("⚠ 1 ✗ 0 │ ⚠ case_002 · labelsTr/case_002.nii.gz: the label has only 212 foreground voxels")
    const panel = frame(events, { columns: 100, rows: 24 }, { panel: "messages" })
    expect(lineWith(panel, "57s")).toBe("   57s ⚠ case_002 · labelsTr/case_002.nii.gz: the label has only 212 foreground voxels")
  })

  it("show a failed run's failed case, its error and how to resume", () => {
    const failing: RunEvent[] = [
      ...midTesting,
      { _tag: "node-finished", at: atOf(midTesting) + 5, key: "round/case_003/2", status: "failed", durationMs: 5 },
      { _tag: "error", at: atOf(midTesting) + 5, message: "NIfTI header: dim[0] = 9", caseId: "case_003", file: "imagesTr/case_003.nii.gz" },
      { _tag: "run-finished", at: atOf(midTesting) + 6, status: "failed", summary: null, coarse: null, failedCases: ["case_003"], resumeHint: "resume: rstn run pipelines/demo.yaml" }
    ]
    const f = frame(failing, { columns: 100, rows: 24 }, { footer: { _tag: "keys", leave: "leave", ended: "failed" } })
    expect(f.split("\n")[1]).toMatch(/^✗ failed {2}resume: rstn run pipelines\/demo\.yaml/)
    expect(lineWith(f, "✗ case_003")).toMatch(/^✗ case_003 f1 +77\.9 +fail │/)
    expect(lineWith(f, "⚠ 1 ✗ 1")).toContain("✗ case_003 · imagesTr/case_003.nii.gz: NIfTI header: dim[0] = 9")
    expect(f.split("\n").at(-1)).toMatch(/^run failed {2}q leave/)
  })
})

describe("the frame", () => {
  it("fits 80x24 in every phase of a run", () => {
    for (const es of [events.slice(0, 1), midTraining, midTesting, events]) {
      for (const panel of ["training", "cases", "messages"] as const) expectFits(frame(es, { columns: 80, rows: 24 }, { panel }), 80, 24)
    }
  })

  it("is drawn the same through Ink's terminal renderer (ink-testing-library)", () => {
    const state = reduceAll(events)
    const { lastFrame, unmount } = render(
      <RunView state={state} now={T0} columns={100} rows={24} panel="cases" scroll={FOLLOW} roundOffset={0} footer={{ _tag: "keys", leave: "leave", ended: "done" }} />
    )
    const f = stripAnsi(lastFrame() ?? "")
    expect(f).toContain("✓ case_001 f0  75.1  84.5 │  82.0 .912¹")
    expect(f).toContain("final DSC 84.00 ± 2.39")
    expect(f.split("\n").at(-1)).toMatch(/^run finished {2}q leave/)
    unmount()
  })

  it("prints every panel in full as the --once summary", () => {
    const text = stripAnsi(renderSnapshot(reduceAll(events), { columns: 160, now: T0 }))
    expect(text).toContain("training 18 done │ coarse testing 12 done │ coarse-to-fine rounds 4 done │ evaluation 3 done")
    expect(text.match(/^[✓▶·] f\d [XYZ] [SIJ] /gm)).toHaveLength(18)
    expect(lineWith(text, "✓ case_003")).toContain("87.7 .988")
    expect(text).toContain("final DSC 84.00 ± 2.39")
    expect(text).toContain("the label has only 212 foreground voxels")
    expect(text).not.toContain("q leave")
  })
})
