import { describe, expect, it } from "vitest"
import { learningRate } from "../../../src/ops/train/schedule.ts"

describe("learning-rate schedules", () => {
  it("constant keeps the base rate", () => {
    expect(learningRate(1e-3, { kind: "constant" }, 12345, 10)).toBe(1e-3)
  })

  it("step decay in epochs halves every 2 epochs (the release's phase J)", () => {
    const s = { kind: "step" as const, every: 2, unit: "epochs" as const, factor: 0.5 }
    expect([0, 19, 20, 39, 40, 60].map((i) => learningRate(1, s, i, 10))).toEqual([1, 1, 0.5, 0.5, 0.25, 0.125])
  })

  it("step decay in iterations", () => {
    const s = { kind: "step" as const, every: 100, unit: "iterations" as const, factor: 0.1 }
    expect(learningRate(1, s, 99, 7)).toBe(1)
    expect(learningRate(1, s, 100, 7)).toBeCloseTo(0.1, 12)
    expect(learningRate(1, s, 250, 7)).toBeCloseTo(0.01, 12)
  })
})
