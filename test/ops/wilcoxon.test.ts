import { describe, expect, it } from "vitest"
import { averageRanks, erfc, signedRankCounts, wilcoxonSignedRank } from "../../src/ops/wilcoxon.ts"

/**
 * Reference values from scipy 1.10.1, `scipy.stats.wilcoxon(d, mode=...)` (two-sided, zero_method
 * "wilcox", no correction): mode "exact" for the cases without ties or zeros, "approx" for the others.
 */
const SCIPY: ReadonlyArray<{ name: string; d: number[]; statistic: number; p: number; method: "exact" | "normal" }> = [
  { name: "n=10, exact", d: [0.012, -0.034, 0.051, 0.007, 0.022, -0.003, 0.041, 0.018, -0.027, 0.033], statistic: 15, p: 0.232421875, method: "exact" },
  {
    name: "n=20, exact",
    d: [-0.006039, -0.016487, 0.005033, 0.018409, 0.032721, 0.012194, -0.001053, -0.005696, 0.024975, 0.042696, 0.015455, -0.014667, -0.009165, 0.042, 0.014058, -0.024643, 0.008326, -0.013265, -0.002586, 0.00024],
    statistic: 76,
    p: 0.2942523956298828,
    method: "exact"
  },
  { name: "n=6, every difference positive", d: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6], statistic: 0, p: 0.03125, method: "exact" },
  {
    name: "n=30, ties and zeros",
    d: [-0.01, 0.01, -0.0, -0.01, 0.01, 0.02, -0.03, -0.01, -0.02, -0.0, -0.03, 0.0, -0.0, -0.01, -0.02, -0.01, -0.02, -0.03, 0.0, -0.02, 0.02, 0.01, -0.04, 0.01, -0.02, 0.0, 0.0, -0.04, -0.0, -0.01],
    statistic: 50,
    p: 0.01168738687503337,
    method: "normal"
  },
  {
    name: "n=80, normal approximation",
    d: [
      0.02424, -0.01863, 0.01976, -0.01698, -0.00163, -0.01181, 0.03397, 0.01636, 0.05363, 0.01784, 0.0219, 0.02181, -0.00713, 0.0036, 0.03201, -0.00293, 0.00878, 0.00458, 0.01718, -0.0023, 0.00195,
      0.00985, 0.00706, -0.0123, 0.02292, -0.02097, -0.01902, -0.02065, 0.02434, -0.00221, -0.01442, -0.01772, 0.01342, -0.0161, -0.02044, 0.01728, -0.01893, -0.00145, 0.00486, -0.00391, 0.00392,
      0.03178, -0.00534, -0.02019, -0.03173, 0.0009, -0.00205, 0.0103, -0.00428, -0.00457, -0.00943, -0.0054, 0.0082, -0.00261, 0.00701, 0.04302, 0.01458, -0.02652, 0.03967, 0.01196, -0.01383,
      0.02314, 0.00535, -0.0073, -0.00767, -0.01487, 0.00596, 0.02638, -0.0015, 0.01342, 0.04251, -0.01929, 0.01015, -0.00113, -0.01619, -0.01552, 0.00469, 0.01368, -0.00563, 0.00609
    ],
    statistic: 1371,
    p: 0.23236954233709795,
    method: "normal"
  },
  { name: "small, ties and a zero", d: [1, 1, -2, 3, 3, 3, 0, -1], statistic: 6, p: 0.17006696145390476, method: "normal" }
]

describe("wilcoxonSignedRank", () => {
  for (const c of SCIPY) {
    it(`agrees with scipy: ${c.name}`, () => {
      const r = wilcoxonSignedRank(c.d)
      expect(r.statistic).toBe(c.statistic)
      expect(r.method).toBe(c.method)
      expect(r.p!).toBeCloseTo(c.p, 6)
      expect(Math.abs(r.p! - c.p) / c.p).toBeLessThan(1e-5)
    })
  }

  it("counts the sign patterns of n = 3 by hand: W+ = 0,1,2,3,3,4,5,6", () => {
    expect([...signedRankCounts(3)]).toEqual([1, 1, 1, 2, 1, 1, 1])
    // n = 3, all positive: W- = 0; P(W+ >= 6) = 1/8, two-sided 1/4.
    expect(wilcoxonSignedRank([1, 2, 3]).p).toBe(0.25)
    // W+ = 5 at the centre of 0..10: p = 1; W+ = 4: 2 * 7/16 (W+ <= 4 in 7 of the 16 patterns).
    expect(wilcoxonSignedRank([1, -2, -3, 4]).p).toBe(1)
    expect(wilcoxonSignedRank([1, -2, 3, -4]).p).toBe(0.875)
  })

  it("sums the counts to 2^n and keeps them symmetric", () => {
    const c = signedRankCounts(50)
    expect(c.reduce((a, b) => a + b, 0)).toBe(2 ** 50)
    expect(c[0]).toBe(c[c.length - 1])
    expect(c[100]).toBe(c[c.length - 101])
  })

  it("drops zeros and says so; nothing to test without a non-zero difference", () => {
    expect(wilcoxonSignedRank([0, 0, 0])).toMatchObject({ n: 0, zeros: 3, p: null })
    expect(wilcoxonSignedRank([0, 0.1, 0.2])).toMatchObject({ n: 2, zeros: 1, wPlus: 3, wMinus: 0 })
  })

  it("ranks ties by their average rank", () => {
    expect(averageRanks([3, 1, 3, 2])).toEqual({ ranks: [3.5, 1, 3.5, 2], ties: [2] })
  })

  it("computes erfc to 1.2e-7", () => {
    expect(erfc(0)).toBeCloseTo(1, 7)
    expect(erfc(1)).toBeCloseTo(0.157299207050285, 7)
    expect(erfc(-1)).toBeCloseTo(1.842700792949715, 7)
    expect(erfc(3) / 2.209049699858544e-5).toBeCloseTo(1, 6)
  })
})
