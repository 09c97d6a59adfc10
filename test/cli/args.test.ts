import { describe, expect, it } from "vitest"
import { type CommandSpec, help, parse, UsageError } from "../../src/cli/args.ts"

const spec: CommandSpec = {
  name: "run",
  summary: "Run a pipeline.",
  positionals: "FILE",
  minPositionals: 1,
  maxPositionals: 1,
  flags: {
    set: { kind: "string", multiple: true, description: "Override a key.", placeholder: "KEY=VALUE" },
    backend: { kind: "string", description: "Force a backend.", placeholder: "NAME" },
    concurrency: { kind: "number", description: "Parallel nodes.", default: 1 },
    tui: { kind: "boolean", description: "Show the terminal UI.", default: true }
  }
}

describe("parse", () => {
  it("reads positionals, repeatable, numeric and negated boolean flags", () => {
    const r = parse(spec, ["p.yaml", "--set", "a.b=1", "--set=c=2", "--concurrency", "3", "--no-tui"])
    expect(r).not.toBeInstanceOf(UsageError)
    expect(r).toEqual({
      positionals: ["p.yaml"],
      flags: { set: ["a.b=1", "c=2"], concurrency: 3, tui: false }
    })
  })

  it("fills defaults", () => {
    expect(parse(spec, ["p.yaml"])).toEqual({ positionals: ["p.yaml"], flags: { set: [], concurrency: 1, tui: true } })
  })

  it("rejects an unknown flag with a did-you-mean", () => {
    const r = parse(spec, ["p.yaml", "--backnd", "wasm"])
    expect(r).toBeInstanceOf(UsageError)
    expect((r as UsageError).message).toBe("unknown flag --backnd")
    expect((r as UsageError).hint).toBe("did you mean --backend?")
  })

  it("rejects a non-numeric number, a missing value and a missing positional", () => {
    expect((parse(spec, ["p", "--concurrency", "x"]) as UsageError).message).toBe("--concurrency takes a number, got 'x'")
    expect((parse(spec, ["p", "--backend"]) as UsageError).message).toBe("--backend needs a value (NAME)")
    expect((parse(spec, []) as UsageError).message).toBe("expected FILE")
    expect((parse(spec, ["a", "b"]) as UsageError).message).toBe("unexpected argument 'b'")
  })

  it("documents every flag in help", () => {
    const text = help(spec)
    for (const name of ["--set KEY=VALUE", "--backend NAME", "--concurrency", "--tui", "--help"]) {
      expect(text).toContain(name)
    }
    expect(text).toContain("repeatable")
  })
})
