import { Effect, Either } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { compareDirs, type CompareError } from "../../src/runtime/compare.ts"
import { comparisonHtml, comparisonJson, comparisonMarkdown } from "../../src/runtime/compare-format.ts"
import { evaluate } from "../../src/runtime/evaluation.ts"
import type { TestCaseResult } from "../../src/runtime/nodes/test-case.ts"
import { encodeManifest, type Manifest } from "../../src/runtime/manifest.ts"
import { tempDir } from "./fixtures/temp.ts"

/** A case whose rounds have these DSCs; consecutive rounds agree to `inter`. */
const caseOf = (id: string, dscs: ReadonlyArray<number>, inter: ReadonlyArray<number>): TestCaseResult => ({
  caseId: id,
  fold: 0,
  foreground: 500,
  coarseDsc: dscs[0]!,
  coarseMs: {},
  rounds: dscs.map((dsc, round) => ({ round, dsc, voxels: 500, precision: dsc, recall: dsc, views: [], interDsc: round === 0 ? null : inter[round - 1]!, ms: 10, fineSamples: 0 }))
})

/** A finished run directory as a run publishes it, with training manifests of the given durations. */
const writeRun = (dir: string, name: string, cases: ReadonlyArray<TestCaseResult>, trainMs: ReadonlyArray<number>, shared = 0) => {
  const e = evaluate(cases, { t: 0.99, thresholds: [0.95, 0.99], maxRounds: 3 })
  fs.mkdirSync(dir, { recursive: true })
  fs.writeFileSync(path.join(dir, "summary.json"), JSON.stringify({ pipeline: name, ...e, folds: [] }))
  fs.writeFileSync(path.join(dir, "cases.json"), JSON.stringify(cases))
  trainMs.forEach((ms, i) => {
    const m: Manifest = {
      format: 1,
      id: `train/fold-0/Z/${"SIJ"[i]}`,
      key: "0".repeat(64),
      kind: "train",
      label: "train",
      config: {},
      deps: [],
      outputs: { json: {}, files: {} },
      ...(i < shared ? { sharedFrom: "/elsewhere" } : {}),
      finishedAt: 0,
      durationMs: ms
    }
    fs.mkdirSync(path.join(dir, "nodes", m.id), { recursive: true })
    fs.writeFileSync(path.join(dir, "nodes", m.id, "node.json"), encodeManifest(m))
  })
}

const ids = ["case_000", "case_001", "case_002", "case_003", "case_004", "case_005"]
const base = ids.map((id, i) => caseOf(id, [0.5 + i * 0.01, 0.6 + i * 0.01, 0.62 + i * 0.01], [0.9, 0.995]))
// Better on every case by a different amount: W- = 0, exact two-sided p = 2/64.
const better = ids.map((id, i) => caseOf(id, [0.5 + i * 0.01, 0.6 + i * 0.01, 0.63 + i * 0.012], [0.96, 0.999]))

describe("rstn compare", () => {
  it("prints Table 1's layout with per-t figures, training time and a paired Wilcoxon test", async () => {
    const root = tempDir()
    const a = path.join(root, "a")
    const b = path.join(root, "b")
    writeRun(a, "kernel-3x3", base, [1000, 2000, 3000])
    writeRun(b, "two-layer", better, [1000, 2000, 7000], 2)
    const c = await Effect.runPromise(compareDirs([a, b]))
    expect(c.caseIds).toEqual(ids)
    expect(c.thresholds).toEqual([0.95, 0.99])
    expect(c.runs[0]!.training).toEqual({ ms: 6000, nodes: 3, shared: 0 })
    expect(c.runs[1]!.training).toEqual({ ms: 10000, nodes: 3, shared: 2 })
    const p = c.paired[0]!
    expect(p.better).toBe(6)
    expect(p.wilcoxon).toMatchObject({ method: "exact", n: 6, statistic: 0, p: 0.03125 })
    expect(p.differences.case_005).toBeCloseTo(0.63 + 5 * 0.012 - (0.62 + 5 * 0.01), 12)

    const md = comparisonMarkdown(c)
    const lines = md.split("\n")
    expect(lines).toContain("| run | DSC % mean ± std | max | min | t = 0.95: DSC / rounds | t = 0.99: DSC / rounds | training |")
    // Both t: base cases reach 0.95 at round 2 (inter 0.995) and so 0.99 too; better ones reach 0.95 at round 1 (inter 0.96), their round-1 DSC.
    expect(lines).toContain("| kernel-3x3 (t = 0.99) | 64.50 ± 1.71 | 67.00 | 62.00 | 64.50 / 2.00 (6/6) | 64.50 / 2.00 (6/6) | 6.0 s |")
    expect(md).toMatch(/\| two-layer \(t = 0\.99\) \| 66\.00 ± 2\.05 \| 69\.00 \| 63\.00 \| 62\.50 \/ 1\.00 \(6\/6\) \| 66\.00 \/ 2\.00 \(6\/6\) \| 10\.0 s \(2 of 3 nodes reused\) \|/)
    expect(lines).toContain("| two-layer | 6 | +1.50 | +1.50 | 6 / 0 / 0 | 0.0313 (exact, n = 6) |")
    expect(md).toContain("| case_005 | 67.00 | +2.00 |")

    const json = JSON.parse(comparisonJson(c))
    expect(json.paired[0].wilcoxon.p).toBe(0.03125)
    const html = comparisonHtml(c)
    expect(html).toContain("<th>t = 0.95: DSC / rounds</th>")
    expect(html).toContain('<th scope="row">two-layer</th>')
  })

  it("refuses runs tested on different cases, naming the runs and the cases", async () => {
    const root = tempDir()
    writeRun(path.join(root, "a"), "a", base, [])
    writeRun(path.join(root, "b"), "b", [...base.slice(1), caseOf("case_009", [0.5, 0.6], [0.9])], [])
    const e = await Effect.runPromise(Effect.flip(compareDirs([path.join(root, "a"), path.join(root, "b")])))
    expect(e.message).toBe(
      `${path.join(root, "a")} and ${path.join(root, "b")} were tested on different cases; only in ${path.join(root, "a")}: case_000; only in ${path.join(root, "b")}: case_009`
    )
  })

  it("says which directory is not a finished run", async () => {
    const root = tempDir()
    writeRun(path.join(root, "a"), "a", base, [])
    fs.mkdirSync(path.join(root, "b"))
    const e: CompareError = await Effect.runPromise(Effect.flip(compareDirs([path.join(root, "a"), path.join(root, "b")])))
    expect(e.message).toBe(`${path.join(root, "b")} has no summary.json: it is not a finished run`)
    expect(e.hint).toContain("rstn status")
    expect(Either.isLeft(Either.left(e))).toBe(true)
  })
})
