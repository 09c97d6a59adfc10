import { spawnSync } from "node:child_process"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest"
import { parse, type ParsedArgs } from "../../src/cli/args.ts"
import { renderResults, run as validate } from "../../src/cli/commands/validate.ts"
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

  it("prints GitHub Actions annotations with --format github", async () => {
    const bad = path.join(dir, "bad.yaml")
    const good = path.join(dir, "good.yaml")
    const r = await run([good, bad, "--format", "github"])
    expect(r).toEqual({
      code: 1,
      out:
        `${good}: ok\n` +
        `::error file=${bad},line=4,col=9,title=rstn validate::unknown key 'margni' in crop (did you mean 'margin'?)\n` +
        `::error file=${bad},line=6,col=20,title=rstn validate::unknown stage 'fuze' (did you mean 'fuse'?)\n`,
      err: ""
    })
    // A problem in a flag has no file to point at: a plain annotation that names the flag.
    const flag = await run([good, "--format", "github", "--set", "seed=x"])
    expect(flag.out).toBe('::error title=rstn validate::--set seed=x:1:12: seed: expected a non-negative integer, got "x"\n')
  })

  it("escapes what GitHub's workflow commands reserve", () => {
    const out = renderResults(
      [{ file: "a,b:c.yaml", ok: false, diagnostics: [{ file: "a,b:c.yaml", line: 2, col: 3, code: "type", message: "100% wrong\nreally", hint: "fix: it" }] }],
      "github"
    )
    expect(out).toEqual({ stdout: "::error file=a%2Cb%3Ac.yaml,line=2,col=3,title=rstn validate::100%25 wrong%0Areally (fix: it)\n", stderr: "" })
  })

  it("is a CI gate through the real CLI: exit codes 0 and 1", () => {
    const cli = (args: ReadonlyArray<string>) => spawnSync(process.execPath, [path.join(root, "bin/rstn.js"), "validate", ...args], { encoding: "utf8" })
    const good = cli([path.join(root, "pipelines/demo.yaml")])
    expect([good.status, good.stdout]).toEqual([0, `${path.join(root, "pipelines/demo.yaml")}: ok\n`])
    const bad = cli([path.join(dir, "bad.yaml")])
    expect(bad.status).toBe(1)
    expect(bad.stderr).toContain("unknown stage 'fuze'")
  })

  it("answers for a named pipe and /dev/zero at once, through the real CLI", () => {
    const fifo = path.join(dir, "pipe.yaml")
    spawnSync("mkfifo", [fifo])
    const started = performance.now()
    const r = spawnSync(process.execPath, [path.join(root, "bin/rstn.js"), "validate", fifo, "/dev/zero"], { encoding: "utf8", timeout: 10_000 })
    expect(r.status).toBe(1)
    expect(r.stderr).toBe(`${fifo}:1:1: cannot read ${fifo}: it is a named pipe (FIFO), not a regular file\n/dev/zero:1:1: cannot read /dev/zero: it is a device, not a regular file\n`)
    expect(performance.now() - started).toBeLessThan(5000)
  })
})
