/**
 * `rstn watch`: finding the events file, following it as it grows (partial lines, damaged lines,
 * a replaced file, a run whose process died), the printed summary, and the real CLI in a
 * pseudo-terminal (tmux). The run directory is only ever read.
 */
import { Effect, Exit } from "effect"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { followEvents, locateEventsFile, WatchError } from "../../src/cli/commands/watch.ts"
import { renderError } from "../../src/cli/render-error.ts"
import { atomicWriteSync } from "../../src/runtime/atomic-write.ts"
import { encodeLine, type RunEvent } from "../../src/runtime/events.ts"
import type { UiEvent } from "../../tui/ui-event.ts"
import { recordedRun } from "../tui/recorded-run.ts"
import { BIN, EXIT_MARK, requireTmux, TMUX, ROOT, startRstn } from "./tmux.ts"
import { toolRuns } from "../support/external-tool.ts"

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "rstn-watch-"))
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }))

let dirs = 0
const runDir = (events: ReadonlyArray<RunEvent>, tail = ""): string => {
  const dir = path.join(tmp, `run-${++dirs}`)
  atomicWriteSync(path.join(dir, "events.jsonl"), events.map((e) => encodeLine(e) + "\n").join("") + tail)
  return dir
}

/** Every file under `dir` with its size and modification time: proof nothing was written. */
const listing = (dir: string): string =>
  fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .map((d) => {
      const p = path.join(d.parentPath, d.name)
      const st = fs.statSync(p)
      return `${path.relative(dir, p)} ${st.size} ${st.mtimeMs}`
    })
    .sort()
    .join("\n")

const collect = async (it: AsyncIterable<UiEvent>, max = Infinity): Promise<UiEvent[]> => {
  const out: UiEvent[] = []
  for await (const e of it) {
    out.push(e)
    if (out.length >= max) break
  }
  return out
}

const events = recordedRun()

describe("locateEventsFile", () => {
  const fail = (target: string) => {
    const exit = Effect.runSyncExit(locateEventsFile(target))
    if (!Exit.isFailure(exit) || exit.cause._tag !== "Fail") throw new Error("expected a failure")
    return exit.cause.error
  }

  it("finds events.jsonl in a run directory, or takes an events file given directly", () => {
    const dir = runDir(events.slice(0, 3))
    expect(Effect.runSync(locateEventsFile(dir))).toBe(path.join(dir, "events.jsonl"))
    expect(Effect.runSync(locateEventsFile(path.join(dir, "events.jsonl")))).toBe(path.join(dir, "events.jsonl"))
  })

  it("says clearly when the directory or its events file is missing", () => {
    const missing = fail(path.join(tmp, "nope"))
    expect(missing).toBeInstanceOf(WatchError)
    expect(renderError(missing)).toBe(
      `rstn: ${path.join(tmp, "nope")}: no such run directory\n  hint: give the run directory that \`rstn run\` reported (the one holding events.jsonl)`
    )
    const empty = path.join(tmp, "empty")
    fs.mkdirSync(empty)
    expect(fail(empty)).toMatchObject({ file: empty, reason: "has no events.jsonl" })
    const file = path.join(tmp, "notes.txt")
    atomicWriteSync(file, "x")
    expect(fail(file)).toMatchObject({ reason: "is a file, not a run directory" })
  })
})

describe("followEvents", () => {
  it("decodes complete lines only: a last line still being written waits for its newline", async () => {
    const line = encodeLine(events[3]!)
    const dir = runDir(events.slice(0, 3), line.slice(0, 20))
    const file = path.join(dir, "events.jsonl")
    expect((await collect(followEvents(file, { follow: false, isAlive: () => true }))).map((e) => e._tag)).toEqual([
      "run-started",
      "node-started",
      "training-progress"
    ])

    const controller = new AbortController()
    const it = followEvents(file, { follow: true, pollMs: 5, signal: controller.signal, isAlive: () => true })[Symbol.asyncIterator]()
    for (let i = 0; i < 3; i++) await it.next()
    fs.appendFileSync(file, line.slice(20) + "\n" + encodeLine(events[4]!) + "\n")
    expect((await it.next()).value).toEqual(events[3])
    expect((await it.next()).value).toEqual(events[4])
    controller.abort()
    expect((await it.next()).done).toBe(true)
  })

  it("turns a line that does not decode into a warning with its line number and reads on", async () => {
    const dir = runDir([])
    const file = path.join(dir, "events.jsonl")
    fs.appendFileSync(file, encodeLine(events[0]!) + "\n" + '{"_tag":"node-sta\n' + encodeLine(events[1]!) + "\n")
    const got = await collect(followEvents(file, { follow: false, isAlive: () => true }))
    expect(got.map((e) => e._tag)).toEqual(["run-started", "warning", "node-started"])
    expect(got[1]).toMatchObject({ _tag: "warning", file, at: events[0]!.at })
    expect((got[1] as { message: string }).message).toMatch(/^line 2 is not a run event, skipped \(/)
  })

  it("reads a file that was truncated, or replaced by a new one, from its start", async () => {
    const dir = runDir(events.slice(0, 6))
    const file = path.join(dir, "events.jsonl")
    const controller = new AbortController()
    const it = followEvents(file, { follow: true, pollMs: 5, signal: controller.signal, isAlive: () => true })[Symbol.asyncIterator]()
    for (let i = 0; i < 6; i++) await it.next()
    fs.truncateSync(file, 0)
    fs.appendFileSync(file, encodeLine(events[0]!) + "\n")
    expect((await it.next()).value).toEqual(events[0])
    atomicWriteSync(file, encodeLine(events[1]!) + "\n" + encodeLine(events[2]!) + "\n") // a new inode
    expect((await it.next()).value).toEqual(events[1])
    expect((await it.next()).value).toEqual(events[2])
    controller.abort()
    expect((await it.next()).done).toBe(true)
  })

  it("ends with source-stopped when the run's process is gone without run-finished", async () => {
    const partial = events.slice(0, 30)
    const file = path.join(runDir(partial), "events.jsonl")
    const asked: number[] = []
    const got = await collect(followEvents(file, { follow: true, pollMs: 5, staleMs: 0, isAlive: (pid) => (asked.push(pid), false) }))
    expect(asked[0]).toBe(4242)
    expect(got.at(-1)).toEqual({
      _tag: "source-stopped",
      at: partial.at(-1)!.at,
      reason: "the run's process (pid 4242) is gone and the run did not finish",
      hint: "it was killed or crashed; `rstn run` with the same pipeline and run directory resumes it"
    })
  })

  it("does not ask about the process of a run that finished", async () => {
    const file = path.join(runDir(events), "events.jsonl")
    const isAlive = () => {
      throw new Error("asked")
    }
    const got = await collect(followEvents(file, { follow: false, isAlive }))
    expect(got).toHaveLength(events.length)
  })
})

describe("rstn watch (the CLI)", () => {
  const rstn = (args: string[]) =>
    spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: "utf8", env: { ...process.env, COLUMNS: "120" } })

  it("prints the final summary of a finished run with --once, or when stdout is not a terminal, and writes nothing", () => {
    const dir = runDir(events)
    const before = listing(dir)
    for (const args of [["watch", dir, "--once"], ["watch", dir]]) {
      const r = rstn(args)
      expect(r.stderr).toBe("")
      expect(r.status).toBe(0)
      expect(r.stdout).toContain("✓ done  final DSC 84.00 ± 2.39")
      expect(r.stdout).toMatch(/^✓ case_003 f1 +77\.9 +87\.7 │ +85\.6 \.932¹ +87\.0 \.970² +87\.5 \.984³ +87\.6 \.987 +87\.7 \.988/m)
      expect(r.stdout).toContain("t: ¹0.90 4/4 in 1.25  ²0.95 4/4 in 2.00  ³0.98 4/4 in 2.75  ⁴0.99 3/4 in 3.33")
    }
    expect(listing(dir)).toBe(before)
  })

  it("fails with the error and a hint when the run directory does not exist", () => {
    const r = rstn(["watch", path.join(tmp, "missing-run")])
    expect(r.status).toBe(1)
    expect(r.stdout).toBe("")
    expect(r.stderr).toContain(`rstn: ${path.join(tmp, "missing-run")}: no such run directory`)
    expect(r.stderr).toContain("hint: ")
  })
})

describe.runIf(toolRuns(TMUX))("rstn watch in a terminal (tmux)", () => {
  beforeAll(requireTmux)

  it("shows the finished run, waits for q, then exits 0 without writing to the run directory", async () => {
    const dir = runDir(events)
    const before = listing(dir)
    const term = startRstn(["watch", dir], { columns: 100, rows: 30 })
    try {
      const s = await term.waitFor("final DSC 84.00 ± 2.39   coarse", { ms: 45_000 })
      const lines = s.split("\n")
      expect(lines[0]).toMatch(/^rstn {2}demo {2}· {2}wasm {2}· {2}runs\/demo +elapsed 1m16s$/)
      expect(lines[1]).toMatch(/^✓ done {2}final DSC 84\.00 ± 2\.39/)
      expect(s).toContain("training 18 done │ coarse 12 done │ rounds 4 done │ evaluation 3 done")
      expect(s).toMatch(/^✓ case_002 f0 +68\.2 +82\.2 │ +79\.0 \.881 +81\.5 \.951¹² +82\.2 \.990³⁴/m)
      expect(s).toContain("final DSC 84.00 ± 2.39   coarse only 72.84 ± 3.85")
      expect(s).toContain("⚠ case_002 · labelsTr/case_002.nii.gz: the label has only 212 foreground voxels")
      expect(s).toMatch(/^run finished {2}q leave/m)
      expect(s).not.toContain(EXIT_MARK)
      term.keys("q")
      expect(await term.exitCode(45_000)).toBe(0)
      // The final frame stays on screen after leaving.
      expect(term.screen()).toContain("final DSC 84.00 ± 2.39   coarse")
    } finally {
      term.kill()
    }
    expect(listing(dir)).toBe(before)
  })
})
