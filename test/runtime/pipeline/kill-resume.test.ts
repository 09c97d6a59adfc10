/**
 * The "Done when": `rstn run` killed with SIGKILL in the middle of training or of a test
 * case, or stopped with Ctrl-C, is picked up by `rstn resume` — finished nodes are not run again,
 * the interrupted node continues from its checkpoint — and ends with the same summary.json and
 * cases.json, to the bit (wall times aside), as a run that was never interrupted.
 */
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { decodeCheckpoint } from "../../../src/ops/train/checkpoint.ts"
import type { RunEvent } from "../../../src/runtime/events.ts"
import { decodeCheckpointHeader } from "../../../src/runtime/nodes/test-case.ts"
import {
  checkpointOf,
  filesMatching,
  finishedKeys,
  keyOf,
  manifestOf,
  readIfThere,
  resultText,
  runRstn,
  runSegments,
  startedKeys,
  startRstn,
  waitFor
} from "./child-run.ts"
import { J_ITERATIONS, longTiny } from "./long-tiny.ts"

const TRAIN_J = "train/fold-0/Z/J"
const root = fs.mkdtempSync(path.join(os.tmpdir(), "rstn-kill-"))
const dataDir = path.join(root, "phantom")
const pipeline = longTiny(dataDir)
const reference = path.join(root, "reference")
const runDir = (name: string) => path.join(root, name)

/** A checkpoint's training iteration. */
const checkpointIteration = (file: string): number =>
  Effect.runSync(decodeCheckpoint(new Uint8Array(fs.readFileSync(file)), file)).iteration

/** The rounds a test node's round checkpoint holds. */
const checkpointRounds = (file: string): number => {
  const header = decodeCheckpointHeader(new Uint8Array(fs.readFileSync(file)))
  if (header === null) throw new Error(`${file} is not a round checkpoint`)
  return header.records.length
}

/** Phase J has passed a checkpoint at iteration 4 or later and is still running. */
const jPastCheckpoint = (dir: string) => (): string | undefined => {
  const segment = runSegments(dir).at(-1)
  if (segment === undefined) return undefined
  const progressed = segment.some((e) => e._tag === "training-progress" && e.phase === "J" && e.iteration >= 4)
  if (!progressed) return undefined
  const file = checkpointOf(dir, TRAIN_J, keyOf(segment, TRAIN_J))
  return file !== undefined && (readIfThere(file, checkpointIteration) ?? 0) >= 4 ? file : undefined
}

const expectSameResults = (dir: string) => {
  for (const name of ["summary.json", "cases.json"]) expect(resultText(dir, name), name).toBe(resultText(reference, name))
}

/** Nodes that had finished when the first run ended, and the nodes the resumed run started. */
const restartedFinishedNodes = (first: ReadonlyArray<RunEvent>, second: ReadonlyArray<RunEvent>): string[] => {
  const finished = finishedKeys(first)
  return [...startedKeys(second)].filter((k) => finished.has(k))
}

describe("kill -9 and Ctrl-C, then rstn resume", () => {
  beforeAll(async () => {
    // The uninterrupted run every interrupted one must match (it also generates the phantoms).
    const r = await runRstn(["run", pipeline.file, "--no-tui", "--run-dir", reference])
    expect(r.code, r.output).toBe(0)
  }, 120_000)

  afterAll(() => {
    for (const dir of [root, pipeline.dir]) fs.rmSync(dir, { recursive: true, force: true })
  })

  it("continues training from its checkpoint after kill -9 and ends identical", async () => {
    const dir = runDir("kill-train")
    const child = startRstn(["run", pipeline.file, "--no-tui", "--run-dir", dir])
    const checkpoint = await waitFor("phase J's checkpoint at iteration >= 4", jPastCheckpoint(dir), { child })
    child.process.kill("SIGKILL")
    expect((await child.exited).signal).toBe("SIGKILL")
    expect(manifestOf(dir, TRAIN_J), "phase J must not have finished before the kill").toBeUndefined()
    const savedAt = checkpointIteration(checkpoint)

    const resumed = await runRstn(["resume", dir, "--no-tui"])
    expect(resumed.code, resumed.output).toBe(0)
    const [first, second] = runSegments(dir)
    expect(restartedFinishedNodes(first!, second!)).toEqual([])
    expect(startedKeys(second!)).toContain(keyOf(second!, TRAIN_J))
    const j = manifestOf(dir, TRAIN_J)!.outputs.json
    expect(j.resumedFrom).toBe(savedAt)
    expect(j.resumedFrom).toBeGreaterThan(0)
    expect(j.ranIterations).toBe(J_ITERATIONS - savedAt)
    // The killed process's lock was taken over, with a warning naming it.
    expect(second!.some((e) => e._tag === "warning" && e.message.includes("took over the lock"))).toBe(true)
    expectSameResults(dir)
  }, 120_000)

  it("continues a test case from its last round after kill -9 and ends identical", async () => {
    const dir = runDir("kill-test")
    // Training is not what this test kills: start from the reference's finished training nodes.
    fs.cpSync(path.join(reference, "nodes", "train"), path.join(dir, "nodes", "train"), { recursive: true })
    const child = startRstn(["run", pipeline.file, "--no-tui", "--run-dir", dir])
    const target = await waitFor(
      "a test case's round checkpoint after round 1",
      () => {
        const segment = runSegments(dir).at(-1)
        for (const e of segment ?? []) {
          if (e._tag !== "round-finished" || e.round < 1) continue
          const id = `test/${e.caseId}`
          const file = checkpointOf(dir, id, keyOf(segment!, id))
          if (file !== undefined && (readIfThere(file, checkpointRounds) ?? 0) >= 2) return { id, file }
        }
        return undefined
      },
      { child }
    )
    child.process.kill("SIGKILL")
    await child.exited
    expect(manifestOf(dir, target.id), `${target.id} must not have finished before the kill`).toBeUndefined()
    const lastRound = checkpointRounds(target.file) - 1

    const resumed = await runRstn(["resume", dir, "--no-tui"])
    expect(resumed.code, resumed.output).toBe(0)
    const [first, second] = runSegments(dir)
    // Training was found finished, not run again, in either segment.
    expect(first!.some((e) => e._tag === "node-started" && e.key === keyOf(first!, TRAIN_J))).toBe(false)
    expect(restartedFinishedNodes(first!, second!)).toEqual([])
    // The test node ran again, but took rounds 1..lastRound from its checkpoint.
    expect(startedKeys(second!)).toContain(keyOf(second!, target.id))
    expect(manifestOf(dir, target.id)!.outputs.json.resumedAfterRound).toBe(lastRound)
    expect(second!.some((e) => e._tag === "log" && e.message.endsWith(`resumed after round ${lastRound} from its checkpoint`))).toBe(true)
    expectSameResults(dir)
  }, 120_000)

  it("stops at a safe point on Ctrl-C (exit 130, how to resume, no temporary file) and resumes identically", async () => {
    const dir = runDir("sigint")
    const child = startRstn(["run", pipeline.file, "--no-tui", "--run-dir", dir])
    await waitFor("phase J's checkpoint at iteration >= 4", jPastCheckpoint(dir), { child })
    child.process.kill("SIGINT")
    const { code } = await child.exited
    expect(code, child.output()).toBe(130)
    expect(child.output()).toMatch(new RegExp(`to resume: rstn resume ${dir.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`))
    // Once: the log's last line says it; the command adds nothing after it.
    expect(child.output().match(/to resume: /g)).toHaveLength(1)
    const status = await runRstn(["status", dir])
    expect(status.output).toMatch(/: interrupted: stopped before finishing/)
    expect(status.output).not.toMatch(/finished \d{4}-/)
    expect(filesMatching(dir, /\.tmp$/)).toEqual([])
    expect(fs.existsSync(path.join(dir, "run.lock"))).toBe(false)
    const [first] = runSegments(dir)
    const end = first!.at(-1)!
    expect(end._tag === "run-finished" && end.status).toBe("interrupted")
    // Phase J saved a checkpoint as it stopped: the resumed phase starts there.
    const checkpoint = checkpointOf(dir, TRAIN_J, keyOf(first!, TRAIN_J))
    expect(checkpoint).toBeDefined()
    const savedAt = checkpointIteration(checkpoint!)

    const resumed = await runRstn(["resume", dir, "--no-tui"])
    expect(resumed.code, resumed.output).toBe(0)
    const [, second] = runSegments(dir)
    expect(restartedFinishedNodes(first!, second!)).toEqual([])
    expect(manifestOf(dir, TRAIN_J)!.outputs.json.resumedFrom).toBe(savedAt)
    expect(savedAt).toBeGreaterThan(0)
    expectSameResults(dir)
  }, 120_000)
})
