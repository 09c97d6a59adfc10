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

describe("didYouMean for compound names", () => {
  it("takes a word that is a whole part of one name for that name, not for a closer short one", () => {
    const backends = ["auto", "node-gpu", "node", "wasm", "cpu"]
    expect(didYouMean("gpu", backends)).toBe("node-gpu")
    expect(didYouMean("GPU", backends)).toBe("node-gpu")
    expect(didYouMean("cpu", backends)).toBe("cpu")
    expect(didYouMean("Node", backends)).toBe("node")
    expect(didYouMean("wsam", backends)).toBe("wasm")
  })
  it("falls back to edit distance when the part is shared by several names", () => {
    expect(didYouMean("weights", ["coarse-weights", "fine-weights", "weight"])).toBe("weight")
  })
})
