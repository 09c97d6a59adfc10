import { describe, expect, it } from "vitest"
import { DEFAULT_WINDOW, windowValue, windowVolume } from "../../src/ops/window.ts"

describe("windowVolume", () => {
  it("clips to [-100, 240] HU and scales linearly to [0, 1] by default", () => {
    const data = Int16Array.from([-1000, -100, 70, 240, 3000, -99])
    const out = windowVolume({ data })
    expect(Array.from(out)).toEqual([0, 0, 0.5, 1, 1, Math.fround(1 / 340)])
    expect(DEFAULT_WINDOW).toEqual({ low: -100, high: 240 })
  })

  it("honours a custom window and writes into the given buffer, also in place", () => {
    const data = Float32Array.from([0, 50, 100, NaN])
    const out = new Float32Array(6).fill(7)
    const r = windowVolume({ data }, { low: 0, high: 100 }, out)
    expect(r).toBe(out)
    expect(Array.from(out)).toEqual([0, 0.5, 1, 0, 7, 7])
    windowVolume({ data }, { low: 0, high: 200 }, data)
    expect(Array.from(data)).toEqual([0, 0.25, 0.5, 0])
  })

  it("rejects an empty or inverted window and a short buffer", () => {
    expect(() => windowVolume({ data: new Int16Array(2) }, { low: 10, high: 10 })).toThrow(/low < high/)
    expect(() => windowVolume({ data: new Int16Array(4) }, DEFAULT_WINDOW, new Float32Array(3))).toThrow(/out holds 3/)
    expect(windowValue(240 + 340)).toBe(1)
  })
})
