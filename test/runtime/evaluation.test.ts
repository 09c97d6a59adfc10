import { describe, expect, it } from "vitest"
import { agreement } from "../../src/ops/metrics.ts"
import { casesCsv, evaluate, summaryMarkdown, type CaseResult } from "../../src/runtime/evaluation.ts"
import type { RoundRecord } from "../../src/runtime/nodes/test-case.ts"

// A 10-voxel ground truth of 4 voxels; masks given by the voxels they mark.
const truth = Uint8Array.from([1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
const mask = (...on: number[]) => Uint8Array.from(truth, (_, i) => (on.includes(i) ? 1 : 0))

const round = (r: number, fused: Uint8Array, x: Uint8Array, y: Uint8Array, interDsc: number | null): RoundRecord => ({
  round: r,
  ...agreement(truth, fused),
  interDsc,
  ms: 1,
  fineSamples: 0,
  views: [
    { view: "X", ...agreement(truth, x) },
    { view: "Y", ...agreement(truth, y) }
  ]
})

// Case a shrinks: round 0 marks the whole organ and more, round 1 half of it. Case b predicts nothing at round 0.
const a: CaseResult = {
  caseId: "a",
  fold: 0,
  foreground: 4,
  coarseDsc: null,
  coarseMs: {},
  rounds: [round(0, mask(0, 1, 2, 3, 4, 5), mask(0, 1, 2, 3, 4), mask(0, 1, 2, 3, 4, 5, 6), null), round(1, mask(0, 1), mask(0, 1), mask(0), 0.5)]
}
const b: CaseResult = {
  caseId: "b",
  fold: 0,
  foreground: 4,
  coarseDsc: null,
  coarseMs: {},
  rounds: [round(0, mask(), mask(), mask(0), null)]
}

describe("evaluation of precision, recall and volume per round", () => {
  const e = evaluate([a, b], { t: 0.99, thresholds: [0.99], maxRounds: 1 })

  it("averages each round's precision and recall over the cases that have them, and the predicted voxels", () => {
    const [r0, r1] = e.perRound
    expect(r0!.recall).toBeCloseTo((1 + 0) / 2, 12)
    // b's empty mask has no precision: the mean is a's alone
    expect(r0!.precision).toBeCloseTo(4 / 6, 12)
    expect(r0!.voxels).toBe(3)
    // b stopped at round 0, so round 1 counts its last mask again (as the DSC does)
    expect(r1!.recall).toBeCloseTo((0.5 + 0) / 2, 12)
    expect(r1!.voxels).toBe(1)
    expect(e.foreground).toBe(4)
  })

  it("keeps each view's masks before fusion apart", () => {
    expect(e.perRound[0]!.views.X!.voxels).toBe((5 + 0) / 2)
    expect(e.perRound[0]!.views.Y!.recall).toBeCloseTo((1 + 0.25) / 2, 12)
    expect(e.perRound[1]!.views.Y!.precision).toBe(1)
  })

  it("prints precision, recall and voxels per round in summary.md, fused and per view", () => {
    const md = summaryMarkdown("p", e, [])
    expect(md).toContain("| recall | 50.00 | 25.00 |")
    expect(md).toContain("| precision | 66.67 | 100.00 |")
    expect(md).toContain("| voxels (truth 4) | 3 | 1 |")
    expect(md).toContain("## Each view before fusion, per round")
    expect(md).toContain("| X voxels | 3 | 1 |")
  })

  it("writes every round's and view's voxels, precision and recall to cases.csv", () => {
    const [header, rowA, rowB] = casesCsv([a, b], [0.99], 0.99).trim().split("\n").map((l) => l.split(","))
    const col = (row: string[] | undefined, name: string) => row![header!.indexOf(name)]
    expect(col(rowA, "recall_r1")).toBe("0.5")
    expect(col(rowA, "precision_r0")).toBe("0.666667")
    expect(col(rowA, "X_voxels_r0")).toBe("5")
    expect(col(rowA, "Y_dsc_r1")).toBe(String(Number((2 / 5).toFixed(6))))
    // b has no round 1 and no precision at round 0: empty cells
    expect(col(rowB, "precision_r0")).toBe("")
    expect(col(rowB, "recall_r1")).toBe("")
    expect(col(rowB, "foreground")).toBe("4")
  })
})

describe("evaluation of rounds that shrink the masks", () => {
  // One case whose fine rounds find the organ's 4 voxels at round 1, then lose them round by round.
  const rounds = (...masks: Uint8Array[]): CaseResult => ({
    caseId: "c",
    fold: 0,
    foreground: 4,
    coarseDsc: null,
    coarseMs: {},
    rounds: masks.map((m, r) => round(r, m, m, m, r === 0 ? null : 0.9))
  })

  it("names the round with the lowest recall after round 1, and its volume", () => {
    const e = evaluate([rounds(mask(0, 1), mask(0, 1, 2, 3), mask(0, 1, 2), mask(0, 1))], { t: 0.99, thresholds: [0.99], maxRounds: 3 })
    expect(e.shrinkage).toEqual({ round: 3, recall: 0.5, recallRound1: 1, voxels: 2, voxelsRound1: 4 })
    expect(summaryMarkdown("p", e, [])).toContain("**The rounds shrink the masks**: mean recall falls from 100.00% after round 1 to 50.00% at round 3 (mean voxels 4 → 2)")
  })

  it("says nothing when the rounds after the first keep or grow the masks, or there is no second fine round", () => {
    for (const c of [rounds(mask(0), mask(0, 1, 2), mask(0, 1, 2, 3), mask(0, 1, 2, 3, 4)), rounds(mask(0), mask(0, 1, 2, 3)), rounds(mask(0))]) {
      const e = evaluate([c], { t: 0.99, thresholds: [0.99], maxRounds: 3 })
      expect(e.shrinkage).toBeNull()
      expect(summaryMarkdown("p", e, [])).not.toContain("shrink")
    }
  })
})
