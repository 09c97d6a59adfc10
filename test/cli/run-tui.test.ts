/**
 * `rstn run` with its terminal UI on a real run, in a pseudo-terminal (tmux, 100x30): the live
 * screen while it trains; the final screen, whose figures must be the ones the run wrote
 * (cases.json, cases.csv, summary.json) as the UI formats them, with the summary printed below
 * it; `rstn watch` on the finished run showing the same case table; and q, y interrupting a run
 * at a safe point (exit code 130, resume hint).
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { eventsFile, parseEventLog } from "../../src/runtime/event-log.ts"
import type { RunEvent } from "../../src/runtime/events.ts"
import { dscPct, interDsc, meanStd, threshold } from "../../tui/format.ts"
import { MARKS } from "../../tui/layout.ts"
import { tinyPipeline } from "../runtime/pipeline/tiny.ts"
import { requireTmux, TMUX, startRstn, type Tmux } from "./tmux.ts"
import { toolRuns } from "../support/external-tool.ts"

const SIZE = { columns: 100, rows: 30 }
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "rstn-run-tui-"))
const dataDir = path.join(tmp, "phantom")
const made: string[] = []
afterAll(() => {
  for (const d of [tmp, ...made]) fs.rmSync(d, { recursive: true, force: true })
})

/**
 * The tiny pipeline trained a little longer, so its DSCs are not all 0 and rounds differ, and
 * reported at thresholds t its inter-iteration DSCs (about 0.2-0.8 after so little training) meet
 * at different rounds, so the table carries t marks.
 */
const LONGER = [
  ...["--set", "training.phases[0].iterations=40", "--set", "training.phases[1].iterations=40", "--set", "training.phases[2].iterations=60"],
  ...["--set", "evaluation.thresholds=[0.6,0.75,0.99]"]
]

const freshTiny = () => {
  const t = tinyPipeline(dataDir)
  made.push(t.dir)
  return t
}

/** The UI's last frame in the terminal's text: from its title line to its footer. */
const lastFrame = (text: string, pipeline: string): string[] => {
  const lines = text.split("\n")
  const start = lines.findLastIndex((l) => l.startsWith(`rstn  ${pipeline}  ·`))
  const end = lines.findIndex((l, i) => i > start && /^run (finished|failed|interrupted|stopped)/.test(l))
  if (start < 0 || end < 0) throw new Error(`no finished frame of ${pipeline} on screen:\n${text}`)
  return lines.slice(start, end + 1)
}

/** The case table: its column titles through the t legend. */
const caseTable = (frame: ReadonlyArray<string>): string[] => {
  const start = frame.findIndex((l) => l.startsWith("  case "))
  const end = frame.findIndex((l) => l.startsWith("t: "))
  if (start < 0 || end < start) throw new Error(`no case table in:\n${frame.join("\n")}`)
  return frame.slice(start, end + 1)
}

const lineStarting = (frame: ReadonlyArray<string>, prefix: string): string => {
  const line = frame.find((l) => l.startsWith(prefix))
  if (line === undefined) throw new Error(`no line starts with ${JSON.stringify(prefix)} in:\n${frame.join("\n")}`)
  return line
}

/** Round cells of a table row, right of `│`: [DSC %, inter-iteration DSC, t marks] each. */
const cells = (row: string): string[][] =>
  [...row.slice(row.indexOf("│") + 1).matchAll(/(—|\d+\.\d) (—|1\.00|\.\d{3})([¹²³⁴⁵⁶⁷⁸⁹]*)/gu)].map((m) => [m[1]!, m[2]!, m[3]!])

interface CaseRecord {
  readonly caseId: string
  readonly fold: number
  readonly coarseDsc: number | null
  readonly rounds: ReadonlyArray<{ readonly round: number; readonly dsc: number | null; readonly interDsc: number | null }>
}
interface Stats {
  readonly mean: number
  readonly std: number
  readonly min: number
  readonly max: number
  readonly count: number
}
interface Summary {
  readonly final: Stats
  readonly coarse: Stats
  readonly thresholds: ReadonlyArray<{ readonly t: number; readonly converged: number; readonly meanRounds: number | null }>
  readonly perRound: ReadonlyArray<{ readonly round: number; readonly dsc: number }>
  readonly interAfter: ReadonlyArray<{ readonly round: number; readonly interDsc: number }>
}

const readJson = <T>(file: string): T => JSON.parse(fs.readFileSync(file, "utf8")) as T

/** cases.csv as one record per case, keyed by column title. */
const readCsv = (file: string): Array<Record<string, string>> => {
  const [head, ...rows] = fs.readFileSync(file, "utf8").trim().split("\n")
  const titles = head!.split(",")
  return rows.map((r) => Object.fromEntries(r.split(",").map((v, i) => [titles[i]!, v])))
}

const runEvents = (runDir: string): ReadonlyArray<RunEvent> => parseEventLog(fs.readFileSync(eventsFile(runDir), "utf8")).events

describe.runIf(toolRuns(TMUX))("rstn run in a terminal (tmux)", () => {
  beforeAll(requireTmux)

  describe("a tiny pipeline run to the end", () => {
    let tiny: ReturnType<typeof tinyPipeline>
    let term: Tmux
    let live: string
    let code: number
    let text: string
    let frame: string[]

    beforeAll(async () => {
      tiny = freshTiny()
      term = startRstn(["run", tiny.file, ...LONGER], SIZE)
      live = await term.waitFor((s) => /^▶ f0 Z [SIJ] +\d+\/\d+ /m.test(s), { ms: 180_000 })
      code = await term.exitCode()
      text = term.history()
      frame = lastFrame(text, "tiny")
    }, 300_000)
    afterAll(() => term?.kill())

    it("shows the run live while it trains: header with ETA, node groups, what runs, losses with sparklines", () => {
      const lines = live.split("\n")
      const title = lines.findIndex((l) => l.startsWith("rstn  tiny  ·"))
      expect(lines[title]).toMatch(/^rstn {2}tiny {2}· {2}\S+ {2}· {2}\S+ +elapsed \d+s {2}ETA (—|≥?\d+s)$/)
      expect(lines[title + 1]).toMatch(/^● running {2}\S+tiny\.yaml {2}backend: /)
      expect(lines[title + 2]).toMatch(/^training .*│ coarse .*│ rounds .*│ evaluation /)
      expect(lines[title + 3]).toMatch(/^running: train fold 0 view Z phase [SIJ] \(\d+s\)$/)
      const row = lines.find((l) => /^▶ f0 Z [SIJ] /.test(l))!
      // iteration, progress bar, percentage, then coarse, fine and joint losses with their curves
      expect(row).toMatch(/^▶ f0 Z [SIJ] +\d+\/(40|60) [█▉▊▋▌▍▎▏░]+ +\d+% (\d\.\d{3} [▁▂▃▄▅▆▇█ ]+){3}$/u)
      expect(lines.at(-1)).toMatch(/^q interrupt {2}tab panel/)
    })

    it("exits by itself when the run has finished, leaving its final frame above the printed summary", () => {
      expect(code).toBe(0)
      expect(frame.at(-1)).toBe("run finished")
      const after = text.split("\n").slice(text.split("\n").lastIndexOf(frame.at(-1)!) + 1).join("\n")
      expect(after).toContain("# tiny: coarse-to-fine test")
      // the terminal is 100 columns wide: the line may wrap, depending on the temp directory's name
      expect(after.replace(/\n/g, "")).toContain("(summary.md, summary.json, cases.csv, report.html, predictions/)")
    })

    it("names the pipeline, backend and run directory, and freezes the clock at the end", () => {
      const started = runEvents(tiny.runDir).find((e) => e._tag === "run-started")!
      if (started._tag !== "run-started") throw new Error("no run-started")
      expect(frame[0]).toMatch(new RegExp(`^rstn {2}tiny {2}· {2}${started.backend} {2}· {2}${started.runDir.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")} +elapsed \\d+s$`))
      const summary = readJson<Summary>(path.join(tiny.runDir, "summary.json"))
      expect(frame[1]).toMatch(new RegExp(`^✓ done {2}final DSC ${meanStd(summary.final.mean, summary.final.std).replace(/\./g, "\\.")} `))
      expect(frame[2]).toBe("training 3 done │ coarse 2 done │ rounds 2 done │ evaluation 2 done")
      expect(frame[3]).toBe("nothing running")
    })

    it("shows every case's coarse and final DSC and, per round, the DSC, inter-iteration DSC and t marks the run wrote", () => {
      const cases = readJson<CaseRecord[]>(path.join(tiny.runDir, "cases.json"))
      const csv = new Map(readCsv(path.join(tiny.runDir, "cases.csv")).map((r) => [r.case!, r]))
      const thresholds = readJson<Summary>(path.join(tiny.runDir, "summary.json")).thresholds.map((x) => x.t).sort((a, b) => a - b)
      expect(cases).toHaveLength(2)
      for (const c of cases) {
        const row = lineStarting(frame, `✓ ${c.caseId} `)
        const finalDsc = Number(csv.get(c.caseId)!.final_dsc)
        expect(row).toMatch(new RegExp(`^✓ ${c.caseId} +f${c.fold} +${dscPct(c.coarseDsc).replace(".", "\\.")} +${dscPct(finalDsc).replace(".", "\\.")} │`))
        const expected = c.rounds
          .filter((r) => r.round >= 1)
          .map((r) => [
            dscPct(r.dsc),
            interDsc(r.interDsc),
            thresholds.map((t, i) => (csv.get(c.caseId)![`round_t${t}`] === String(r.round) ? MARKS[i] : "")).join("")
          ])
        expect(cells(row)).toEqual(expected)
      }
      const last = Math.max(...cases.map((c) => c.rounds.length - 1))
      expect(lineStarting(frame, "  case ")).toMatch(new RegExp(`│ +r1 inter${Array.from({ length: last - 1 }, (_, i) => ` +r${i + 2}`).join("")}$`))
    })

    it("shows mean ± std of the final and the coarse-only DSC, per-round means and convergence as the summary has them", () => {
      const s = readJson<Summary>(path.join(tiny.runDir, "summary.json"))
      expect(lineStarting(frame, "final DSC ")).toBe(
        `final DSC ${meanStd(s.final.mean, s.final.std)}   coarse only ${meanStd(s.coarse.mean, s.coarse.std)}   ` +
          `${s.final.count} cases, min ${dscPct(s.final.min, 2)} max ${dscPct(s.final.max, 2)}`
      )
      const mean = lineStarting(frame, "  mean ")
      expect(mean).toMatch(new RegExp(`^ {2}mean +${dscPct(s.coarse.mean).replace(".", "\\.")} +${dscPct(s.final.mean).replace(".", "\\.")} │`))
      const means = cells(mean)
      for (const r of s.perRound.filter((x) => x.round >= 1)) expect(means[r.round - 1]![0]).toBe(dscPct(r.dsc))
      for (const r of s.interAfter) expect(means[r.round - 1]![1]).toBe(interDsc(r.interDsc))
      const legend = [...s.thresholds]
        .sort((a, b) => a.t - b.t)
        .map((x, i) => `${MARKS[i]}${threshold(x.t)} ${x.converged}/${s.final.count}${x.meanRounds !== null && x.converged > 0 ? ` in ${x.meanRounds.toFixed(2)}` : ""}`)
      expect(lineStarting(frame, "t: ")).toBe(`t: ${legend.join("  ")}`)
    })

    it("shows the same case table through `rstn watch` on the finished run, which leaves on q", async () => {
      const watch = startRstn(["watch", tiny.runDir], SIZE)
      try {
        const screen = await watch.waitFor((s) => /^run finished {2}q leave/m.test(s))
        expect(caseTable(lastFrame(screen, "tiny"))).toEqual(caseTable(frame))
        watch.keys("q")
        expect(await watch.exitCode(30_000)).toBe(0)
      } finally {
        watch.kill()
      }
    })
  })

  it("asks on q before interrupting; n goes on, y stops at a safe point with exit code 130 and the resume hint", async () => {
    const tiny = freshTiny()
    const term = startRstn(["run", tiny.file, "--set", "training.phases[0].iterations=5000"], SIZE)
    try {
      await term.waitFor((s) => /^▶ f0 Z S +\d+\/5000 /m.test(s), { ms: 180_000 })
      term.keys("q")
      await term.waitFor((s) => s.split("\n").at(-1) === "interrupt the run? y/n")
      term.keys("n")
      await term.waitFor((s) => /^q interrupt/.test(s.split("\n").at(-1)!))
      term.keys("q")
      await term.waitFor((s) => s.split("\n").at(-1) === "interrupt the run? y/n")
      term.keys("y")
      expect(await term.exitCode(120_000)).toBe(130)
      const text = term.history()
      const frame = lastFrame(text, "tiny")
      expect(frame[1]).toMatch(/^■ interrupted {2}rstn resume \S+/)
      expect(frame.at(-1)).toBe("run interrupted")
      // The training node it stopped is pending again (it resumes from its checkpoint), nothing runs.
      expect(frame[2]).toMatch(/^training 3 pending │/)
      expect(frame[3]).toBe("nothing running")
      expect(text).toContain(`run interrupted; to resume: rstn resume ${tiny.runDir}`)
      const last = runEvents(tiny.runDir).at(-1)!
      expect(last).toMatchObject({ _tag: "run-finished", status: "interrupted", resumeHint: `rstn resume ${tiny.runDir}` })
    } finally {
      term.kill()
    }
  }, 300_000)
})
