import { Effect } from "effect"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, describe, expect, it } from "vitest"
import { UsageError } from "../../src/cli/args.ts"
import { runPhantom } from "../../src/cli/commands/phantom.ts"
import { renderError } from "../../src/cli/render-error.ts"

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "rstn-phantom-cli-"))
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }))
const bin = path.join(path.dirname(fileURLToPath(import.meta.url)), "../../bin/rstn.js")

describe("rstn phantom", () => {
  it("writes the dataset, one line per case and a summary, and keeps the cases on a rerun", async () => {
    const out = path.join(tmp, "ds")
    const lines: string[] = []
    const code = await Effect.runPromise(runPhantom({ out, cases: 2, seed: 9, size: "small" }, (l) => lines.push(l)))
    expect(code).toBe(0)
    expect(lines.slice(0, 2)).toEqual(["case_000  written", "case_001  written"])
    expect(lines[2]).toMatch(/dataset\.json: 2 cases \(2 written, 0 kept\)/)
    const again: string[] = []
    await Effect.runPromise(runPhantom({ out, cases: 2, seed: 9, size: "small" }, (l) => again.push(l)))
    expect(again.slice(0, 2)).toEqual(["case_000  kept", "case_001  kept"])
  })

  it("rejects an unknown size with a did-you-mean", async () => {
    const e = await Effect.runPromise(Effect.flip(runPhantom({ out: path.join(tmp, "x"), cases: 1, seed: 0, size: "meduim" }, () => {})))
    expect(e).toBeInstanceOf(UsageError)
    expect(renderError(e)).toContain("did you mean --size medium?")
    expect(fs.existsSync(path.join(tmp, "x"))).toBe(false)
  })

  it("runs from the command line: a usage error exits 2, a foreign directory exits 1 with a hint", () => {
    const usage = spawnSync(process.execPath, [bin, "phantom", path.join(tmp, "y"), "--cases", "1", "--sise", "small"], { encoding: "utf8" })
    expect(usage.status).toBe(2)
    expect(usage.stderr).toContain("did you mean --size?")
    const foreign = path.join(tmp, "foreign")
    fs.mkdirSync(foreign)
    fs.writeFileSync(path.join(foreign, "scan.nii.gz"), "not ours")
    const refused = spawnSync(process.execPath, [bin, "phantom", foreign, "--cases", "1"], { encoding: "utf8" })
    expect(refused.status).toBe(1)
    expect(refused.stderr).toContain("is not empty and was not written by rstn phantom")
    expect(refused.stderr).toContain("hint:")
  })
})
