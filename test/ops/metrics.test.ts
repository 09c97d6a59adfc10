import { describe, expect, it } from "vitest"
import { dice, interIterationDice, summarize } from "../../src/ops/metrics.ts"

describe("dice", () => {
  it("is 2|Y∩Z| / (|Y|+|Z|), treating any non-zero value as foreground", () => {
    const y = Uint8Array.from([1, 1, 1, 0, 0, 0])
    const z = Uint8Array.from([0, 1, 255, 1, 0, 0])
    expect(dice(y, z)).toBeCloseTo((2 * 2) / (3 + 3), 12)
    expect(dice(y, y)).toBe(1)
    expect(dice(y, new Uint8Array(6))).toBe(0)
  })

  it("gives 1 for two empty masks, also as the inter-iteration DSC", () => {
    expect(dice(new Uint8Array(5), new Uint8Array(5))).toBe(1)
    expect(interIterationDice(new Uint8Array(5), new Uint8Array(5))).toBe(1)
  })

  it("rejects masks of different sizes", () => {
    expect(() => dice(new Uint8Array(3), new Uint8Array(4))).toThrow(/3 and 4/)
  })
})

describe("summarize", () => {
  it("reports mean, population std, max, min and count", () => {
    const s = summarize([2, 4, 4, 4, 5, 5, 7, 9])
    expect(s).toEqual({ count: 8, mean: 5, std: 2, max: 9, min: 2 })
    // The sample std (n - 1) would be 2.138; the population std is what the tables use.
    expect(summarize([1, 3]).std).toBe(1)
  })

  it("gives NaN statistics and count 0 for no values", () => {
    const s = summarize([])
    expect(s.count).toBe(0)
    expect(Number.isNaN(s.mean)).toBe(true)
  })
})
