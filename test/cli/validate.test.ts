import { spawnSync } from "node:child_process"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest"
import { parse, type ParsedArgs } from "../../src/cli/args.ts"
import { run as validate } from "../../src/cli/commands/validate.ts"
import { validateSpec } from "../../src/cli/specs.ts"

const root = path.resolve(import.meta.dirname, "../..")
let dir = ""
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "rstn-validate-"))
  fs.writeFileSync(path.join(dir, "good.yaml"), "name: good\ndataset:\n  source: { kind: phantom, dir: data }\n")
  fs.writeFileSync(path.join(dir, "bad.yaml"), "name: bad\ndataset:\n  source: { kind: phantom, dir: data }\ncrop: { margni: 3 }\ntest:\n  stages: [coarse, fuze]\n")
})
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))
afterEach(() => vi.restoreAllMocks())

const run = async (argv: ReadonlyArray<string>) => {
  const out: string[] = []
  const err: string[] = []
  vi.spyOn(process.stdout, "write").mockImplementation((s) => (out.push(String(s)), true))
  vi.spyOn(process.stderr, "write").mockImplementation((s) => (err.push(String(s)), true))
  const code = await Effect.runPromise(validate(parse(validateSpec, argv) as ParsedArgs))
  vi.restoreAllMocks()
  return { code, out: out.join(""), err: err.join("") }
}

describe("rstn validate", () => {
  it("exits 0 and says ok when every file is valid", async () => {
    const r = await run([path.join(dir, "good.yaml"), path.join(root, "pipelines/rstn-best.yaml")])
    expect(r).toEqual({ code: 0, out: `${path.join(dir, "good.yaml")}: ok\n${path.join(root, "pipelines/rstn-best.yaml")}: ok\n`, err: "" })
  })

  it("exits 1 and prints every problem of every file", async () => {
    const bad = path.join(dir, "bad.yaml")
    const r = await run([path.join(dir, "good.yaml"), bad])
    expect(r.code).toBe(1)
    expect(r.out).toBe(`${path.join(dir, "good.yaml")}: ok\n`)
    expect(r.err).toBe(`${bad}:4:9: unknown key 'margni' in crop (did you mean 'margin'?)\n${bad}:6:20: unknown stage 'fuze' (did you mean 'fuse'?)\n`)
  })

  it("applies --set to every file and names the flag in its errors", async () => {
    const r = await run([path.join(dir, "good.yaml"), "--set", "training.batch-size=x"])
    expect(r.code).toBe(1)
    expect(r.err).toBe('--set training.batch-size=x:1:27: training.batch-size: expected a positive integer, got "x"\n')
  })

  it("prints JSON with --json", async () => {
    const r = await run([path.join(dir, "bad.yaml"), "--json"])
    expect(r.code).toBe(1)
    const json = JSON.parse(r.out)
    expect(json).toHaveLength(1)
    expect(json[0].ok).toBe(false)
    expect(json[0].diagnostics.map((d: { code: string }) => d.code)).toEqual(["unknown-key", "unknown-stage"])
  })

  it("is a CI gate through the real CLI: exit codes 0 and 1", () => {
    const cli = (args: ReadonlyArray<string>) => spawnSync(process.execPath, [path.join(root, "bin/rstn.js"), "validate", ...args], { encoding: "utf8" })
    const good = cli([path.join(root, "pipelines/demo.yaml")])
    expect([good.status, good.stdout]).toEqual([0, `${path.join(root, "pipelines/demo.yaml")}: ok\n`])
    const bad = cli([path.join(dir, "bad.yaml")])
    expect(bad.status).toBe(1)
    expect(bad.stderr).toContain("unknown stage 'fuze'")
  })
})
