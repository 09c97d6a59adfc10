import { describe, expect, it } from "vitest"
import { agreement, agreementAt, dice, interIterationDice, summarize } from "../../src/ops/metrics.ts"

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

describe("agreement", () => {
  it("gives the predicted voxels, DSC, precision and recall of a mask against the ground truth", () => {
    const y = Uint8Array.from([1, 1, 1, 1, 0, 0])
    const z = Uint8Array.from([0, 1, 1, 0, 1, 0])
    // |Y| = 4, |Z| = 3, |Y ∩ Z| = 2: an under-segmenting mask (recall below precision)
    expect(agreement(y, z)).toEqual({ voxels: 3, dsc: 4 / 7, precision: 2 / 3, recall: 2 / 4 })
  })

  it("has no precision for an empty prediction and no recall for an empty ground truth", () => {
    const empty = new Uint8Array(4)
    const some = Uint8Array.from([0, 1, 0, 0])
    expect(agreement(some, empty)).toEqual({ voxels: 0, dsc: 0, precision: null, recall: 0 })
    expect(agreement(empty, some)).toEqual({ voxels: 1, dsc: 0, precision: 0, recall: null })
    expect(agreement(empty, empty)).toEqual({ voxels: 0, dsc: 1, precision: null, recall: null })
  })

  it("reads a probability map at a threshold exactly as the mask it would give", () => {
    const y = Uint8Array.from([1, 1, 0, 0, 1])
    const p = Float32Array.from([0.9, 0.5, 0.49, 0.7, 0.1])
    expect(agreementAt(y, p, 0.5)).toEqual(agreement(y, Uint8Array.from([1, 1, 0, 1, 0])))
    expect(() => agreementAt(y, new Float32Array(3), 0.5)).toThrow(/5 label and 3 probability/)
  })
})
