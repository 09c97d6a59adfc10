import { describe, expect, it } from "vitest"
import { paintSlice, type Layer } from "../../../src/ops/phantom/raster.ts"
import { column, ellipsoid, tube } from "../../../src/ops/phantom/shapes.ts"

const frame = { nx: 200, ny: 200, spacing: 0.5, ci: 99.5, cj: 99.5 }
const paint = (layers: Layer[], s = 0) => {
  const hu = new Float32Array(200 * 200).fill(-1000)
  const label = new Uint8Array(200 * 200)
  paintSlice(hu, label, 0, frame, s, layers)
  return { hu, label }
}
const count = (a: ArrayLike<number>, pred: (v: number) => boolean) => {
  let n = 0
  for (let i = 0; i < a.length; i++) if (pred(a[i]!)) n++
  return n
}

describe("painting cross-sections", () => {
  it("fills an ellipse with the area of the ellipse, also rotated, and writes its label", () => {
    for (const angle of [0, 0.7]) {
      const { hu, label } = paint([{ name: "e", shape: column(-1, 1, () => ({ a: 3, p: -2, ra: 30, rp: 12, angle })), paint: 50, label: 1 }])
      const area = count(hu, (v) => v === 50) * 0.25
      expect(area).toBeGreaterThan(Math.PI * 30 * 12 * 0.97)
      expect(area).toBeLessThan(Math.PI * 30 * 12 * 1.03)
      expect(count(label, (v) => v === 1)).toBe(count(hu, (v) => v === 50))
    }
  })

  it("overwrites earlier layers, label included, and honours row clipping", () => {
    const { hu, label } = paint([
      { name: "big", shape: column(-1, 1, () => ({ a: 0, p: 0, ra: 40, rp: 40, angle: 0 })), paint: 10, label: 1 },
      { name: "half", shape: column(-1, 1, () => ({ a: 0, p: 0, ra: 40, rp: 40, angle: 0, pMin: 0 })), paint: 20, label: 0 }
    ])
    const ten = count(hu, (v) => v === 10)
    const twenty = count(hu, (v) => v === 20)
    expect(Math.abs(ten - twenty) / ten).toBeLessThan(0.05)
    expect(count(label, (v) => v === 1)).toBe(ten)
  })

  it("paints gas anterior to a level and fluid behind it, and evaluates position-dependent paint in mm", () => {
    const { hu } = paint([
      { name: "lumen", shape: column(-1, 1, () => ({ a: 0, p: 0, ra: 20, rp: 20, angle: 0 })), paint: { kind: "level", p: 0, anterior: -900, posterior: 15 }, label: 0 }
    ])
    // Row j holds p = (j - 99.5) * 0.5: row 90 is anterior, row 110 posterior.
    expect(hu[90 * 200 + 100]).toBe(-900)
    expect(hu[110 * 200 + 100]).toBe(15)
    const fn = paint([{ name: "ramp", shape: column(-1, 1, () => ({ a: 0, p: 0, ra: 20, rp: 20, angle: 0 })), paint: (a) => a, label: 0 }])
    expect(fn.hu[100 * 200 + 110]).toBeCloseTo((110 - 99.5) * 0.5, 5)
  })

  it("cuts ellipsoids and tubes into the right circles along s", () => {
    const ball = ellipsoid({ a: 0, p: 0, s: 0 }, { a: 10, p: 10, s: 10 })
    const at = (s: number) => count(paint([{ name: "b", shape: ball, paint: 1, label: 0 }], s).hu, (v) => v === 1) * 0.25
    expect(at(0)).toBeGreaterThan(Math.PI * 100 * 0.95)
    expect(at(8)).toBeGreaterThan(Math.PI * 36 * 0.9)
    expect(at(8)).toBeLessThan(Math.PI * 36 * 1.1)
    expect(at(10.5)).toBe(0)
    const t = tube([{ a: -20, p: 0, s: 0, r: 5 }, { a: 20, p: 0, s: 0, r: 5 }])
    expect(t.sMin).toBe(-5)
    expect(t.sMax).toBe(5)
  })
})
