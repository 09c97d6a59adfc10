import { describe, expect, it } from "vitest"
import { dscPct, duration, interDsc, loss, meanStd, padEnd, padStart, rate, threshold, truncate } from "../../tui/format.ts"
import { progressBar } from "../../tui/progress-bar.ts"
import { sparkline } from "../../tui/sparkline.ts"

describe("format", () => {
  it("writes DSC as a percentage and mean ± std as the paper does", () => {
    expect(dscPct(0.845)).toBe("84.5")
    expect(dscPct(1)).toBe("100.0")
    expect(dscPct(null)).toBe("—")
    expect(meanStd(0.845, 0.0497)).toBe("84.50 ± 4.97")
    expect(threshold(0.9)).toBe("0.90")
  })

  it("truncates the inter-iteration DSC so it never reads as a threshold it has not met", () => {
    expect(interDsc(0.9896)).toBe(".989")
    expect(interDsc(0.99)).toBe(".990")
    expect(interDsc(1)).toBe("1.00")
    expect(interDsc(null)).toBe("—")
  })

  it("writes durations, losses and learning rates compactly", () => {
    expect(duration(42_999)).toBe("42s")
    expect(duration(187_000)).toBe("3m07s")
    expect(duration(3_720_000)).toBe("1h02m")
    expect(duration(190_800_000)).toBe("2d05h")
    expect(loss(0.41234)).toBe("0.412")
    expect(loss(Number.POSITIVE_INFINITY)).toBe("inf")
    expect(loss(Number.NaN)).toBe("NaN")
    expect(rate(1e-4)).toBe("1e-4")
    expect(rate(1.5e-3)).toBe("1.5e-3")
  })

  it("cuts and pads to a width", () => {
    expect(truncate("abcdef", 4)).toBe("abc…")
    expect(padEnd("ab", 4)).toBe("ab  ")
    expect(padStart("abcdef", 3)).toBe("ab…")
  })
})

describe("sparkline", () => {
  it("scales from the minimum to the maximum over eight levels", () => {
    expect(sparkline([0, 1, 2, 3, 4, 5, 6, 7], 8)).toBe("▁▂▃▄▅▆▇█")
  })

  it("averages groups when the series is longer than the room, and leaves holes blank", () => {
    expect(sparkline([1, 1, 3, 3, null, null], 3)).toBe("▁█ ")
    expect(sparkline([2, 2, 2], 10)).toBe("▄▄▄")
    expect(sparkline([], 5)).toBe("")
  })
})

describe("progressBar", () => {
  it("fills whole and eighth cells and always has the requested width", () => {
    expect(progressBar(0, 4)).toBe("░░░░")
    expect(progressBar(0.5, 4)).toBe("██░░")
    expect(progressBar(0.53125, 4)).toBe("██▏░")
    expect(progressBar(1, 4)).toBe("████")
    expect([...progressBar(0.37, 10)]).toHaveLength(10)
  })
})
