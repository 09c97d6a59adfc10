import { Ajv } from "ajv"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterEach, describe, expect, it, vi } from "vitest"
import { parse, type ParsedArgs } from "../../src/cli/args.ts"
import { run } from "../../src/cli/commands/schema.ts"
import { schemaSpec } from "../../src/cli/specs.ts"

afterEach(() => vi.restoreAllMocks())

describe("rstn schema", () => {
  it("prints a JSON Schema that ajv compiles and that describes the YAML keys", async () => {
    const out: string[] = []
    vi.spyOn(process.stdout, "write").mockImplementation((s) => (out.push(String(s)), true))
    const code = await Effect.runPromise(run(parse(schemaSpec, []) as ParsedArgs))
    vi.restoreAllMocks()
    expect(code).toBe(0)
    const schema = JSON.parse(out.join(""))
    expect(() => new Ajv({ strict: true }).compile(schema)).not.toThrow()
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining(["name", "dataset", "slice-thickness", "training", "test", "extends", "set"])
    )
    expect(Object.keys(schema.properties.training.properties)).toContain("batch-size")
  })

  it("writes it to a file with --out", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rstn-schema-"))
    try {
      const file = path.join(dir, "s.json")
      await Effect.runPromise(run(parse(schemaSpec, ["--out", file]) as ParsedArgs))
      expect(JSON.parse(fs.readFileSync(file, "utf8")).$schema).toBe("http://json-schema.org/draft-07/schema#")
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
