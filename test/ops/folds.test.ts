import { describe, expect, it } from "vitest"
import { foldOf, foldRange, foldSplit } from "../../src/ops/folds.ts"

describe("folds", () => {
  it("splits 82 cases into test folds of 20, 20, 21, 21 as the reference does", () => {
    const ranges = [0, 1, 2, 3].map((f) => foldRange(82, 4, f))
    expect(ranges).toEqual([
      { start: 0, end: 20 },
      { start: 20, end: 40 },
      { start: 40, end: 61 },
      { start: 61, end: 82 }
    ])
  })

  it("partitions the cases: every index is tested in exactly one fold and trained on in the others", () => {
    for (const [n, f] of [
      [82, 4],
      [10, 3],
      [7, 7],
      [3, 4],
      [0, 2],
      [21, 5]
    ] as const) {
      const hits = new Array<number>(n).fill(0)
      for (let fold = 0; fold < f; fold++) {
        const { test, train } = foldSplit(n, f, fold)
        expect(test.length + train.length).toBe(n)
        for (const i of test) hits[i]!++
        for (const i of test) expect(foldOf(n, f, i)).toBe(fold)
        expect(train.some((i) => test.includes(i))).toBe(false)
      }
      expect(hits.every((h) => h === 1)).toBe(true)
      const sizes = Array.from({ length: f }, (_, fold) => foldSplit(n, f, fold).test.length)
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1)
    }
  })

  it("rejects a fold outside [0, F)", () => {
    expect(() => foldRange(82, 4, 4)).toThrow(/\[0, 3\]/)
    expect(() => foldRange(82, 0, 0)).toThrow(/positive/)
  })
})
