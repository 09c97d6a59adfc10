import { Effect } from "effect"
import * as fs from "node:fs"
import { afterEach, describe, expect, it, vi } from "vitest"
import { parse, UsageError } from "../../src/cli/args.ts"
import { makePlanCommand, type PlannedPipeline } from "../../src/cli/commands/plan.ts"
import { planSpec } from "../../src/cli/specs.ts"
import { executeRunIn } from "../../src/runtime/run.ts"
import { diamond, testHeader } from "../runtime/fixtures/graphs.ts"
import { tempDir } from "../runtime/fixtures/temp.ts"

afterEach(() => void vi.restoreAllMocks())

/** A stand-in compiler: the file name is ignored; `--set a=N` edits node a's config. */
const loader = (runDir: string) => (_file: string, overrides: ReadonlyArray<string>) =>
  Effect.succeed<PlannedPipeline>({
    graph: diamond(Object.fromEntries(overrides.map((o) => [o.split("=")[0]!, Number(o.split("=")[1])]))),
    runDir
  })

const runPlan = async (runDir: string, argv: string[]) => {
  const run = makePlanCommand(loader(runDir))
  const args = parse(planSpec, argv)
  if (args instanceof UsageError) throw args
  const out: string[] = []
  vi.spyOn(console, "log").mockImplementation((line: string) => void out.push(line))
  const code = await Effect.runPromise(run(args))
  return { code, out: out.join("\n") }
}

describe("rstn plan", () => {
  it("explains each node against the pipeline's run directory, with --set overrides", async () => {
    const dir = tempDir()
    await Effect.runPromise(executeRunIn(dir, diamond(), { concurrency: 1, onNodeError: "skip", header: testHeader }))
    const r = await runPlan(dir, ["p.yaml", "--set", "c=7"])
    expect(r.code).toBe(0)
    expect(r.out).toBe(
      [
        `plan for ${dir}: 5 nodes: 3 cached, 0 not yet run, 2 will re-run`,
        "cached       sum a",
        "cached       sum b",
        "will re-run  sum c because add: 100 → 7",
        "will re-run  sum d because input c changed",
        "cached       sum e"
      ].join("\n")
    )
  })

  it("--run-dir plans against another directory and writes nothing there; --json is machine-readable", async () => {
    const other = tempDir()
    const r = await runPlan(tempDir(), ["p.yaml", "--run-dir", other, "--json"])
    const json = JSON.parse(r.out)
    expect(json.runDir).toBe(other)
    expect(json.nodes.map((n: { id: string; status: string; lastFailure: unknown }) => [n.id, n.status, n.lastFailure])).toEqual([
      ["a", "new", null],
      ["b", "new", null],
      ["c", "new", null],
      ["d", "new", null],
      ["e", "new", null]
    ])
    expect(fs.readdirSync(other)).toEqual([])
  })

  it("declares its flags for parsing and help", () => {
    const spec = planSpec
    expect(Object.keys(spec.flags)).toEqual(["set", "run-dir", "grid", "json"])
    expect(parse(spec, ["p.yaml", "--run-dri", "x"])).toEqual(
      new UsageError({ command: "plan", message: "unknown flag --run-dri", hint: "did you mean --run-dir?" })
    )
  })
})
