import { describe, expect, it } from "vitest"
import { axisCodes, reorient, reorientation, reorientedShape, undoReorientation } from "../../src/ops/orientation.ts"
import type { Shape3 } from "../../src/ops/volume.ts"

const diag = (x: number, y: number, z: number) => [x, 0, 0, 0, 0, y, 0, 0, 0, 0, z, 0, 0, 0, 0, 1]

describe("axis codes of an affine", () => {
  it("name the world direction each voxel axis runs along, as nibabel's aff2axcodes", () => {
    expect(axisCodes(diag(1, 1, 1))).toBe("RAS")
    expect(axisCodes(diag(-0.7, -0.7, 2.5))).toBe("LPS")
    // Voxel x along world y, voxel y along -x, slightly rotated: still clear.
    expect(axisCodes([0.05, -1, 0, 0, 1, 0.05, 0, 0, 0, 0, 3, 0, 0, 0, 0, 1])).toBe("ALS")
  })

  it("refuse an oblique axis, a zero axis and two axes along one world axis, saying which", () => {
    const s = Math.SQRT1_2
    expect(axisCodes([s, -s, 0, 0, s, s, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1])).toEqual({ reason: "voxel axis 0 lies between two world axes (an oblique scan)" })
    expect(axisCodes(diag(1, 0, 1))).toEqual({ reason: "voxel axis 1 has no direction in the affine" })
    expect(axisCodes([1, 1, 0, 0, 0, 0.1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1])).toEqual({ reason: "two voxel axes point along world axis x" })
  })
})

describe("reorientation", () => {
  const shape: Shape3 = [2, 3, 4]
  const data = Float32Array.from({ length: 24 }, (_, i) => i)
  const at = (s: Shape3, d: ArrayLike<number>, x: number, y: number, z: number) => d[x + s[0] * (y + s[1] * z)]!

  it("is none between equal codes", () => {
    expect(reorientation("LPS", "LPS")).toBeNull()
  })

  it("moves every voxel to where the other axis codes put it, and back", () => {
    // From "PLS" (x runs back, y left) to "LAS": output x is input y; output y is input x reversed.
    const r = reorientation("PLS", "LAS")!
    expect(r.perm).toEqual([1, 0, 2])
    expect(r.flip).toEqual([false, true, false])
    const out = reorient(shape, data, r)
    const outShape = reorientedShape(shape, r)
    expect(outShape).toEqual([3, 2, 4])
    for (let x = 0; x < 3; x++) for (let y = 0; y < 2; y++) for (let z = 0; z < 4; z++) {
      expect(at(outShape, out, x, y, z)).toBe(at(shape, data, 1 - y, x, z))
    }
    expect(Array.from(undoReorientation(shape, out, r))).toEqual(Array.from(data))
    expect(out).toBeInstanceOf(Float32Array)
  })

  it("reverses a single axis in place of its direction", () => {
    const r = reorientation("RAS", "RAI")!
    const out = reorient(shape, Uint8Array.from(data), r)
    expect(at(shape, out, 1, 2, 0)).toBe(at(shape, data, 1, 2, 3))
  })
})
