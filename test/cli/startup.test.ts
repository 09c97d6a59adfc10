/**
 * The installed command as CI and editors meet it: `--version`, help for each command, the same
 * exit codes from every command, and start-up that loads only what the command needs.
 */
import { spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest"
import { commands } from "../../src/cli/commands/index.ts"
import { EXIT, main } from "../../src/cli/main.ts"

const root = path.resolve(import.meta.dirname, "../..")
const bin = path.join(root, "bin/rstn.js")
const trace = path.join(root, "test/support/module-trace.mjs")
const version = (JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as { version: string }).version

let dir = ""
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "rstn-startup-"))
  fs.writeFileSync(path.join(dir, "good.yaml"), "name: good\ndataset:\n  source: { kind: phantom, dir: data }\n")
  fs.writeFileSync(path.join(dir, "bad.yaml"), "name: bad\ndataset:\n  source: { kind: phantom, dir: data }\ncrop: { margni: 3 }\n")
})
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))
afterEach(() => vi.restoreAllMocks())

/** `rstn ARGS` in this process: exit code, stdout, stderr. */
const rstn = async (...args: string[]) => {
  let out = ""
  let err = ""
  vi.spyOn(process.stdout, "write").mockImplementation((s) => ((out += String(s)), true))
  vi.spyOn(process.stderr, "write").mockImplementation((s) => ((err += String(s)), true))
  try {
    return { code: await main(args), out, err }
  } finally {
    vi.restoreAllMocks()
  }
}

/** `rstn ARGS` as installed: the compiled code through bin/rstn.js, from another directory. */
const cli = (args: ReadonlyArray<string>, options: { readonly env?: NodeJS.ProcessEnv; readonly preload?: string } = {}) =>
  spawnSync(process.execPath, [...(options.preload ? ["--import", options.preload] : []), bin, ...args], {
    cwd: dir,
    encoding: "utf8",
    env: { ...process.env, ...options.env }
  })

describe("rstn --version and help", () => {
  it("prints the package's version", () => {
    const r = cli(["--version"])
    expect([r.status, r.stdout, r.stderr]).toEqual([0, `rstn ${version}\n`, ""])
  })

  it("prints a command's own help for `rstn help CMD` and `CMD --help`, and exits 0", async () => {
    for (const { spec } of commands) {
      const viaHelp = await rstn("help", spec.name)
      const viaFlag = await rstn(spec.name, "--help")
      expect(viaHelp).toEqual(viaFlag)
      expect(viaHelp.code).toBe(EXIT.ok)
      expect(viaHelp.out.startsWith(`usage: rstn ${spec.name}`)).toBe(true)
    }
  })

  it("lists every command at the top level", async () => {
    const r = await rstn("--help")
    expect(r.code).toBe(EXIT.ok)
    for (const { spec } of commands) expect(r.out).toContain(`  ${spec.name} `)
  })
})

describe("exit codes: the same for every command", () => {
  it.each([
    ["no command", [], EXIT.usage, /^usage: rstn COMMAND/],
    ["an unknown command, with a did-you-mean", ["valdate"], EXIT.usage, /^rstn: unknown command 'valdate'\n {2}hint: did you mean rstn validate\?\n$/],
    ["help for an unknown command", ["help", "nosuch"], EXIT.usage, /unknown command 'nosuch'/],
    ["a flag before the command", ["--json"], EXIT.usage, /unknown option --json/],
    ["a bad --backend value", ["run", "x.yaml", "--backend", "gpu"], EXIT.usage, /did you mean --backend node-gpu\?/],
    ["a bad --format value", ["validate", "x.yaml", "--format", "xml"], EXIT.usage, /--format must be one of text, json, github, got 'xml'/],
    ["a bad --size value", ["phantom", "out", "--size", "huge"], EXIT.usage, /--size must be one of small, medium, full/],
    ["a fractional count", ["phantom", "out", "--cases", "2.5"], EXIT.usage, /--cases takes an integer, got '2.5'/],
    ["a count beyond 2^53", ["phantom", "out", "--cases", "9007199254740993"], EXIT.usage, /out of range: the largest integer allowed is 9007199254740991/],
    ["--json with another --format", ["validate", "x.yaml", "--json", "--format", "github"], EXIT.usage, /--json and --format github ask for two formats/]
  ] as const)("%s: exit 2", async (_, args, code, message) => {
    const r = await rstn(...args)
    expect(r.code).toBe(code)
    expect(r.out + r.err).toMatch(message)
  })

  it("every command: an unknown flag, a missing or an extra argument is a usage error (2)", async () => {
    for (const { spec } of commands) {
      const unknown = await rstn(spec.name, "--no-such-flag", ...(spec.minPositionals ? ["x"] : []))
      expect([spec.name, unknown.code, unknown.err]).toEqual([spec.name, EXIT.usage, expect.stringContaining("unknown flag --no-such-flag")])
      if (spec.minPositionals) expect([spec.name, (await rstn(spec.name)).code]).toEqual([spec.name, EXIT.usage])
      if (spec.maxPositionals !== undefined) {
        const extra = await rstn(spec.name, ...Array<string>(spec.maxPositionals + 1).fill("x"))
        expect([spec.name, extra.code]).toEqual([spec.name, EXIT.usage])
      }
    }
  })

  it("flags named after Object's members are unknown flags and swallow nothing", async () => {
    for (const flag of ["--toString", "--constructor", "--__proto__", "--hasOwnProperty=x", "--valueOf"]) {
      const r = await rstn("validate", flag, path.join(dir, "good.yaml"))
      expect([flag, r.code, r.err]).toEqual([flag, EXIT.usage, expect.stringMatching(/^rstn: unknown flag --\S+\n/)])
    }
  })

  it("0 when all is well, 1 when problems are found, through the installed command", () => {
    expect(cli(["validate", "good.yaml"]).status).toBe(EXIT.ok)
    expect(cli(["validate", "bad.yaml"]).status).toBe(EXIT.failed)
    expect(cli(["status", "no-such-run"]).status).toBe(EXIT.failed)
  })

  it.each(["SIGINT", "SIGTERM"] as const)("130 when a command is stopped by %s", async (signal) => {
    // Phantom cases take a while to generate: the signal arrives while the command works.
    const out = path.join(dir, `phantom-${signal}`)
    const child = spawn(process.execPath, [bin, "phantom", out, "--size", "medium", "--cases", "20"], { stdio: "ignore" })
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
    // The output directory appears once the command runs (its signal handling is in place by then).
    for (let i = 0; i < 600 && !fs.existsSync(out); i++) await new Promise((r) => setTimeout(r, 50))
    child.kill(signal)
    expect(await exited).toBe(EXIT.interrupted)
  })
})

describe("output", () => {
  it("stops quietly when its reader closes the pipe early (rstn schema | head)", async () => {
    // The schema is larger than a pipe's buffer: writes after the reader leaves fail with EPIPE.
    const child = spawn(process.execPath, [bin, "schema"], { stdio: ["ignore", "pipe", "pipe"] })
    let err = ""
    child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d))
    child.stdout.once("data", () => child.stdout.destroy())
    const code = await new Promise<number | null>((resolve) => child.on("close", (c) => resolve(c)))
    expect([code, err]).toEqual([EXIT.ok, ""])
  })
})

describe("start-up loads only what the command needs", () => {
  /** The packages a command loaded from node_modules, and the bytes of bundled code from dist/. */
  const loaded = (args: ReadonlyArray<string>): { readonly packages: ReadonlyArray<string>; readonly distBytes: number } => {
    const file = path.join(dir, `trace-${args.join("-").replace(/[^\w.-]/g, "_")}.txt`)
    fs.writeFileSync(file, "")
    const r = cli(args, { env: { RSTN_MODULE_TRACE: file }, preload: trace })
    expect(r.stderr).not.toMatch(/internal error/)
    const urls = [...new Set(fs.readFileSync(file, "utf8").split("\n"))]
    const packages = urls.flatMap((url) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1] ?? [])
    const distBytes = urls
      .filter((url) => url.startsWith(`file://${path.join(root, "dist")}/`))
      .reduce((sum, url) => sum + fs.statSync(new URL(url)).size, 0)
    return { packages: [...new Set(packages)].sort(), distBytes }
  }

  it("rstn --help and --version load no library", () => {
    // Effect and yaml are bundled into dist/, so they would not show as packages: their code
    // alone is over a megabyte, while the entry, the command declarations and help are ~20 kB.
    for (const args of [["--help"], ["--version"]]) {
      const { packages, distBytes } = loaded(args)
      expect(packages).toEqual([])
      expect(distBytes).toBeGreaterThan(0)
      expect(distBytes).toBeLessThan(100_000)
    }
  })

  it.each([
    ["validate", ["validate", "good.yaml"]],
    ["config", ["config", "good.yaml"]],
    ["schema", ["schema"]],
    ["validate --help", ["validate", "--help"]]
  ])("%s loads neither TensorFlow.js nor Ink nor React", (_, args) => {
    const { packages } = loaded(args)
    expect(packages.filter((p) => p.startsWith("@tensorflow/") || p === "ink" || p === "react")).toEqual([])
  })
})
