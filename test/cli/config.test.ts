import { Effect, Exit } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterEach, describe, expect, it, vi } from "vitest"
import { parse, type ParsedArgs } from "../../src/cli/args.ts"
import { run as config } from "../../src/cli/commands/config.ts"
import { configSpec } from "../../src/cli/specs.ts"
import { renderError } from "../../src/cli/render-error.ts"
import { parse as parseYaml } from "yaml"

const root = path.resolve(import.meta.dirname, "../..")
afterEach(() => vi.restoreAllMocks())

const run = async (argv: ReadonlyArray<string>) => {
  const out: string[] = []
  vi.spyOn(process.stdout, "write").mockImplementation((s) => (out.push(String(s)), true))
  const exit = await Effect.runPromiseExit(config(parse(configSpec, argv) as ParsedArgs))
  vi.restoreAllMocks()
  return { exit, out: out.join("") }
}

describe("rstn config", () => {
  it("prints the resolved pipeline with overrides applied", async () => {
    const { exit, out } = await run([path.join(root, "pipelines/stage-wise.yaml"), "--set", "test.stages[2].converge-until.threshold=0.9"])
    expect(Exit.isSuccess(exit) && exit.value).toBe(0)
    const doc = parseYaml(out)
    expect(doc.name).toBe("stage-wise")
    expect(doc.saliency).toBeNull()
    expect(doc["slice-thickness"]).toBe(3)
    expect(doc.test.stages[2]["converge-until"]).toEqual({
      threshold: 0.9,
      "max-rounds": 10,
      body: [{ crop: { by: "previous-mask", margin: 20 } }, { fine: { weights: "fine" } }, { fuse: { threshold: 0.5, components: "largest" } }]
    })
  })

  it("comments origins with --origins", async () => {
    const file = path.join(root, "pipelines/demo.yaml")
    const { out } = await run([file, "--origins"])
    // the 1-based line of demo.yaml that sets a key, found by its text so editing the demo's comments keeps this test
    const lineOf = (text: string) => fs.readFileSync(file, "utf8").split("\n").findIndex((l) => l.includes(text)) + 1
    expect(lineOf("folds: 3")).toBeGreaterThan(0)
    expect(out).toContain(`  folds: 3 # ${file}:${lineOf("folds: 3")}`)
    expect(out).toContain(`        max-rounds: 20 # ${file}:${lineOf("max-rounds: 20")}`)
  })

  it("fails with the pipeline's problems", async () => {
    const { exit } = await run([path.join(root, "pipelines/demo.yaml"), "--set", "views=[W]"])
    expect(Exit.isFailure(exit)).toBe(true)
    if (Exit.isFailure(exit) && exit.cause._tag === "Fail") {
      expect(renderError(exit.cause.error)).toBe('--set views=[W]:1:14: views[0]: expected one of "X", "Y", "Z", got "W"')
    }
  })
})
