/**
 * Every variant of the paper is a YAML change: each one below extends the tiny pipeline the way
 * pipelines/*.yaml extend rstn-best.yaml, and runs through training, the test and the evaluation.
 */
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { loadPipeline } from "../../../src/dsl/load.ts"
import { eventsFile, parseEventLog } from "../../../src/runtime/event-log.ts"
import { runPipeline } from "../../../src/runtime/run-pipeline.ts"
import { tinyPipeline } from "./tiny.ts"

const dataDir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "rstn-data-")), "phantom")
const base = tinyPipeline(dataDir)

const variants: ReadonlyArray<readonly [string, string]> = [
  [
    "stage-wise",
    `saliency: null
training:
  mode: stage-wise
  phases:
    - { name: coarse, iterations: 6 }
    - { name: fine, crop-from: label, iterations: 6 }
test:
  stages:
    - coarse: { weights: coarse }
    - fuse
    - converge-until:
        threshold: 0.95
        max-rounds: 3
        body:
          - crop: { by: previous-mask, margin: 5 }
          - fine: { weights: fine }
          - fuse`
  ],
  [
    "oracle-strong",
    `test:
  stages:
    - saliency-transform: { from: oracle }
    - crop: { by: oracle-box, margin: 5 }
    - fine: { weights: J }
    - fuse
evaluation:
  oracle: strong`
  ],
  [
    "oracle-weak",
    `evaluation:
  oracle: weak
set:
  test.stages[2].converge-until.body[1].crop.by: oracle-box`
  ],
  [
    // with the crop fixed too, nothing changes between rounds: round 2 repeats round 1
    "saliency-from-coarse",
    `evaluation:
  oracle: weak
set:
  test.stages[2].converge-until.body[0]: { saliency-transform: { from: coarse } }
  test.stages[2].converge-until.body[1].crop.by: oracle-box`
  ],
  [
    // each view weighted by its own previous map; rounds 2.. keep half the previous score map
    "saliency-per-view-damped",
    `views: [Y, Z]
set:
  test.stages[2].converge-until.body[0]: { saliency-transform: { map: view } }
  test.stages[2].converge-until.body[3]: { fuse: { momentum: 0.5 } }`
  ],
  [
    "unrolled-j",
    `set:
  training.phases[2].unroll: { passes: 2, gradient: through }`
  ],
  [
    "mixed-ic-jf",
    `set:
  test.stages[0].coarse.weights: I`
  ],
  [
    "noisy-fine-tune",
    `training:
  noisy-fine-tune: { iterations: 4, lr: 1.0e-4 }
set:
  test.stages[0].coarse.weights: noisy
  test.stages[2].converge-until.body[2].fine.weights: noisy`
  ]
]

const labelsStarted = (runDir: string): string[] => {
  const events = parseEventLog(fs.readFileSync(eventsFile(runDir), "utf8")).events
  const header = events.find((e) => e._tag === "run-started")
  const labels = new Map(header?._tag === "run-started" ? header.nodes.map((n) => [n.key, n.label]) : [])
  return events.filter((e) => e._tag === "node-started").map((e) => labels.get((e as { key: string }).key)!)
}

describe("the paper's variants run as YAML changes", () => {
  it.each(variants)("%s", async (name, body) => {
    const file = path.join(base.dir, `${name}.yaml`)
    const runDir = path.join(base.dir, `run-${name}`)
    fs.writeFileSync(file, `extends: ./tiny.yaml\nname: ${name}\nrun: { dir: ${JSON.stringify(runDir)} }\n${body}\n`)
    const { pipeline } = await Effect.runPromise(loadPipeline(file, []))
    const lines: string[] = []
    const code = await Effect.runPromise(runPipeline({ file, overrides: [], pipeline, out: (l) => lines.push(l) }))
    expect(code, lines.join("\n")).toBe(0)
    const summary = JSON.parse(fs.readFileSync(path.join(runDir, "summary.json"), "utf8"))
    expect(summary.cases).toBe(2)
    const cases = JSON.parse(fs.readFileSync(path.join(runDir, "cases.json"), "utf8")) as Array<{ coarseDsc: number | null; rounds: unknown[] }>
    const started = labelsStarted(runDir)
    switch (name) {
      case "stage-wise":
        expect(started.filter((l) => l.startsWith("train"))).toEqual(["train fold 0 view Z phase coarse", "train fold 0 view Z phase fine"])
        break
      case "oracle-strong":
        // no coarse stage, no iteration: one round, no coarse-only DSC
        expect(started.some((l) => l.startsWith("coarse"))).toBe(false)
        for (const c of cases) {
          expect(c.coarseDsc).toBeNull()
          expect(c.rounds).toHaveLength(1)
        }
        expect(summary.coarse).toBeNull()
        break
      case "saliency-from-coarse":
        for (const c of cases as unknown as Array<{ rounds: Array<{ interDsc: number | null }> }>) {
          expect(c.rounds.map((r) => r.interDsc).slice(2)).toEqual([1])
        }
        break
      case "noisy-fine-tune":
        expect(started).toContain("train fold 0 view Z phase noisy")
        break
      default:
        for (const c of cases) expect(c.coarseDsc).not.toBeNull()
    }
  }, 120_000)
})
