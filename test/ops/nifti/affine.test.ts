import { describe, expect, it } from "vitest"
import { bestAffine, geometryFromAffine, qformAffine } from "../../../src/ops/nifti/affine.ts"
import { Rng } from "../../../src/ops/random.ts"
import { defaultGeometry } from "../../../src/ops/volume.ts"

/** A random rotation (from a random unit quaternion), scaled, optionally mirrored, shifted. */
const randomAffine = (rng: Rng, mirrored: boolean): number[] => {
  let q = [rng.next() - 0.5, rng.next() - 0.5, rng.next() - 0.5, rng.next() - 0.5]
  const n = Math.hypot(...q)
  q = q.map((x) => x / n)
  const [a, b, c, d] = q as [number, number, number, number]
  const r = [
    [a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)],
    [2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b)],
    [2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - c * c - b * b]
  ]
  const s = [0.5 + rng.next(), 0.5 + rng.next(), (mirrored ? -1 : 1) * (1 + 3 * rng.next())]
  const t = [100 * rng.next() - 50, 100 * rng.next() - 50, 100 * rng.next() - 50]
  return [0, 1, 2].flatMap((i) => [r[i]![0]! * s[0]!, r[i]![1]! * s[1]!, r[i]![2]! * s[2]!, t[i]!]).concat([0, 0, 0, 1])
}

describe("geometryFromAffine", () => {
  it("stores rotations and mirror images in the qform exactly enough to rebuild the affine", () => {
    const rng = Rng.derive(3, "affines")
    for (let k = 0; k < 200; k++) {
      const affine = randomAffine(rng, k % 2 === 1)
      const g = geometryFromAffine(affine, { qformCode: 1, sformCode: 0 })
      expect(g.qfac).toBe(k % 2 === 1 ? -1 : 1)
      const rebuilt = qformAffine(g.quatern, g.qoffset, g.spacing, g.qfac)
      rebuilt.forEach((x, i) => expect(x).toBeCloseTo(affine[i]!, 9))
      expect(g.affine).toEqual(rebuilt)
      // nifti1.h: the quaternion's a = sqrt(1 - b² - c² - d²) is never negative.
      expect(Math.hypot(...g.quatern)).toBeLessThanOrEqual(1 + 1e-12)
    }
  })

  it("keeps the exact affine in the sform and uses it first", () => {
    const affine = [0, 0, 3, 1, 0, 2, 0, 2, -1, 0, 0, 3, 0, 0, 0, 1]
    const g = geometryFromAffine(affine)
    expect(g.sformCode).toBe(1)
    expect(g.srow).toEqual(affine.slice(0, 12))
    expect(g.affine).toEqual(affine)
    expect(g.spacing).toEqual([1, 2, 3])
  })
})

describe("bestAffine", () => {
  it("prefers sform, then qform, then pixdim", () => {
    const base = defaultGeometry([2, 3, 4])
    const srow = [9, 0, 0, 1, 0, 9, 0, 2, 0, 0, 9, 3]
    const q = { ...base, quatern: [0, 0, 1] as const, qoffset: [7, 8, 9] as const, srow }
    expect(bestAffine({ ...q, qformCode: 1, sformCode: 1 })).toEqual([...srow, 0, 0, 0, 1])
    expect(bestAffine({ ...q, qformCode: 1, sformCode: 0 }).map((x) => x + 0)).toEqual([-2, 0, 0, 7, 0, -3, 0, 8, 0, 0, 4, 9, 0, 0, 0, 1])
    expect(bestAffine({ ...q, qformCode: 0, sformCode: 0 })).toEqual([2, 0, 0, 0, 0, 3, 0, 0, 0, 0, 4, 0, 0, 0, 0, 1])
  })
})
