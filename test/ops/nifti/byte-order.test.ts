import { describe, expect, it } from "vitest"
import { swapBytesInPlace } from "../../../src/ops/nifti/byte-order.ts"

describe("swapBytesInPlace", () => {
  for (const width of [2, 4, 8]) {
    for (const offset of [0, 1, 8]) {
      it(`reverses each ${width}-byte value at byte offset ${offset}`, () => {
        const backing = new Uint8Array(offset + width * 5)
        const bytes = backing.subarray(offset)
        bytes.forEach((_, i) => (bytes[i] = i + 1))
        swapBytesInPlace(bytes, width)
        const expected = Array.from({ length: width * 5 }, (_, i) => {
          const v = Math.floor(i / width)
          return v * width + (width - (i % width))
        })
        expect(Array.from(bytes)).toEqual(expected)
        expect(backing.subarray(0, offset).every((b) => b === 0)).toBe(true)
      })
    }
  }

  it("leaves single bytes alone", () => {
    const bytes = new Uint8Array([1, 2, 3])
    swapBytesInPlace(bytes, 1)
    expect(Array.from(bytes)).toEqual([1, 2, 3])
  })
})
