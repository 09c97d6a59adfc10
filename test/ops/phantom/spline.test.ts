import { describe, expect, it } from "vitest"
import { curveLength, sampleCurve } from "../../../src/ops/phantom/spline.ts"

describe("sampleCurve", () => {
  it("starts and ends at the end control points, with even steps along the curve", () => {
    const controls = [
      { a: 0, p: 0, s: 0, r: 2 },
      { a: 10, p: 5, s: 0, r: 4 },
      { a: 20, p: 0, s: 10, r: 2 }
    ]
    const pts = sampleCurve(controls, 1)
    expect(pts[0]).toEqual(controls[0])
    expect(pts[pts.length - 1]).toEqual(controls[2])
    for (let i = 1; i < pts.length - 1; i++) {
      const d = Math.hypot(pts[i]!.a - pts[i - 1]!.a, pts[i]!.p - pts[i - 1]!.p, pts[i]!.s - pts[i - 1]!.s)
      expect(d).toBeGreaterThan(0.95)
      expect(d).toBeLessThanOrEqual(1.0001)
    }
    expect(curveLength(pts)).toBeGreaterThan(Math.hypot(10, 5) + Math.hypot(10, 5, 10) - 0.5)
    // The radius follows the controls: largest near the middle control point.
    const mid = pts.reduce((best, q) => (q.r > best.r ? q : best))
    expect(mid.r).toBeGreaterThan(3.8)
    expect(Math.abs(mid.a - 10)).toBeLessThan(1.5)
  })

  it("passes a straight line through unchanged", () => {
    const pts = sampleCurve([{ a: 0, p: 0, s: 0, r: 1 }, { a: 0, p: 0, s: 9, r: 1 }], 3)
    expect(pts.map((q) => q.s)).toEqual([0, 3, 6, 9])
  })
})
