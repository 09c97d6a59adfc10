import { describe, expect, it } from "vitest"
import { didYouMean, editDistance } from "../../src/dsl/did-you-mean.ts"

describe("didYouMean", () => {
  it("counts a transposition as one edit", () => {
    expect(editDistance("margni", "margin")).toBe(1)
  })
  it("suggests the closest name and nothing for unrelated words", () => {
    expect(didYouMean("saliency-transfrom", ["coarse", "saliency-transform", "crop"])).toBe("saliency-transform")
    expect(didYouMean("banana", ["coarse", "fine", "crop"])).toBeUndefined()
  })
})

describe("didYouMean for one-letter words", () => {
  it("matches only by case: every other letter is one edit away", () => {
    expect(didYouMean("x", ["X", "Y", "Z"])).toBe("X")
    expect(didYouMean("W", ["X", "Y", "Z"])).toBeUndefined()
  })
})
