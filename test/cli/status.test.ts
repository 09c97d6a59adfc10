import { Effect } from "effect"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { executeRunIn } from "../../src/runtime/run.ts"
import { diamond, testHeader } from "../runtime/fixtures/graphs.ts"
import { tempDir } from "../runtime/fixtures/temp.ts"

const rstn = (...args: string[]) => {
  const r = spawnSync(process.execPath, [path.resolve("bin/rstn.js"), ...args], { encoding: "utf8" })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

describe("rstn status", () => {
  it("prints the state of a finished run, and JSON with --json", async () => {
    const dir = tempDir()
    await Effect.runPromise(executeRunIn(dir, diamond(), { concurrency: 1, onNodeError: "skip", header: testHeader }))
    const text = rstn("status", dir)
    expect([text.code, text.stderr]).toEqual([0, ""])
    expect(text.stdout.split("\n")[0]).toBe(`run ${dir}: done`)
    expect(text.stdout.split("\n")[2]).toBe("training    5 done (of 5)")

    const json = rstn("status", dir, "--json")
    const report = JSON.parse(json.stdout)
    expect([report.state, report.lock, report.nodes.map((n: { id: string; state: string }) => `${n.id}:${n.state}`)]).toEqual([
      "done",
      null,
      ["a:done", "b:done", "c:done", "d:done", "e:done"]
    ])
  })

  it("fails with a message and a hint for a directory without a run", () => {
    const dir = tempDir()
    fs.mkdirSync(path.join(dir, "empty"))
    const r = rstn("status", path.join(dir, "empty"))
    expect(r.code).toBe(1)
    expect(r.stderr).toBe(
      `rstn: ${path.join(dir, "empty")} is not a run directory: it has no events.jsonl\n  hint: give the directory a run was started in (run.dir in the pipeline, or --run-dir)\n`
    )
  })
})
