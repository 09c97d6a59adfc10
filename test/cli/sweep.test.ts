/** The CLI around sweeps: `rstn run` refuses a sweep file, `rstn sweep` needs a sweep, `rstn plan` plans one. */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { runRstn } from "../runtime/pipeline/child-run.ts"
import { tinyPipelineYaml } from "../runtime/pipeline/tiny.ts"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rstn-sweep-cli-"))
const file = path.join(dir, "tiny.yaml")
fs.writeFileSync(file, tinyPipelineYaml(path.join(dir, "data"), path.join(dir, "runs", "tiny")))
const swept = path.join(dir, "swept.yaml")
fs.writeFileSync(swept, `extends: ./tiny.yaml\nrun: { dir: ${JSON.stringify(path.join(dir, "runs", "swept"))} }\nsweep:\n  grid:\n    test.stages[2].converge-until.max-rounds: [2, 3]\n`)

describe("rstn sweep, run and plan on sweeps", () => {
  it("rstn run refuses a sweep file and says what runs it", async () => {
    const r = await runRstn(["run", swept, "--no-tui"])
    expect(r.code).toBe(1)
    expect(r.output).toContain(`rstn: ${swept} is a sweep of 2 runs, not one pipeline\n  hint: rstn sweep ${swept} runs them; rstn plan ${swept} shows what they share`)
  })

  it("rstn sweep on a file without a sweep and no --grid is a located error; a bad --grid names the flag", async () => {
    const none = await runRstn(["sweep", file])
    expect([none.code, none.output.trim()]).toEqual([1, `${file}:1:1: ${file} has no sweep: section and no --grid was given: it is one run (rstn run FILE runs it; or add --grid PATH=[a,b])`])
    const bad = await runRstn(["sweep", file, "--grid", "seed=[1,1]"])
    expect([bad.code, bad.output.trim()]).toEqual([1, "--grid seed=[1,1]:1:16: sweep: grid seed lists 1 twice (each value is one run)"])
  })

  it("rstn plan shows a sweep's runs, before anything ran: every node to compute once, the second run's training shared with the first", async () => {
    const r = await runRstn(["plan", swept])
    expect(r.code).toBe(0)
    const lines = r.output.trim().split("\n")
    expect(lines[1]).toBe(`  the file's own run, ${path.join(dir, "runs", "swept")}: not run, nothing to share`)
    expect(lines).toContain("  training    3 not yet run")
    expect(lines).toContain(`  training    3 shared (computed by ${path.join(dir, "runs", "swept-max-rounds-2")})`)
    expect(lines.at(-1)).toMatch(/^the sweep: \d+ nodes in 2 runs; .* training: 3 of 6 nodes to train$/)
    const usage = await runRstn(["plan", swept, "--run-dir", dir])
    expect(usage.code).toBe(2)
  })
})
