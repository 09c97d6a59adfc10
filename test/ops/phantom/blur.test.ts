import { describe, expect, it } from "vitest"
import { gaussianBlur, gaussianKernel, noiseGain } from "../../../src/ops/phantom/blur.ts"
import { Rng } from "../../../src/ops/random.ts"
import { index, type Shape3 } from "../../../src/ops/volume.ts"

describe("gaussianBlur", () => {
  it("leaves a uniform volume unchanged (clamped edges) and preserves the total of an interior impulse", () => {
    const s: Shape3 = [7, 6, 5]
    const flat = new Float32Array(210).fill(42)
    gaussianBlur(flat, s, [0.8, 0.8, 0.8])
    for (const v of flat) expect(v).toBeCloseTo(42, 4)

    const big: Shape3 = [15, 15, 15]
    const impulse = new Float32Array(15 ** 3)
    impulse[index(big, 7, 7, 7)] = 1
    gaussianBlur(impulse, big, [1, 0.6, 0.5])
    expect(impulse.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5)
  })

  it("is the separable product of 1D Gaussians (checked against the kernels directly)", () => {
    const s: Shape3 = [11, 11, 11]
    const data = new Float32Array(11 ** 3)
    data[index(s, 5, 5, 5)] = 1
    const sigma = [0.9, 0.6, 0.5] as const
    gaussianBlur(data, s, sigma)
    const [kx, ky, kz] = sigma.map(gaussianKernel)
    const rx = (kx!.length - 1) / 2
    const ry = (ky!.length - 1) / 2
    const rz = (kz!.length - 1) / 2
    for (const [dx, dy, dz] of [[0, 0, 0], [1, 0, 0], [0, 2, 1], [-3, 1, -1], [2, -2, 2]] as const) {
      const expected = kx![dx + rx]! * ky![dy + ry]! * kz![dz + rz]!
      expect(data[index(s, 5 + dx, 5 + dy, 5 + dz)]).toBeCloseTo(expected, 6)
    }
  })

  it("reduces white noise by the factor noiseGain predicts", () => {
    const s: Shape3 = [40, 40, 40]
    const rng = Rng.derive(5, "blur-test")
    const data = Float32Array.from({ length: 40 ** 3 }, () => rng.normal())
    const sigma = [0.6, 0.6, 0.5] as const
    gaussianBlur(data, s, sigma)
    // Interior voxels only: the clamped border repeats values and is less smoothed.
    let sum = 0
    let sq = 0
    let n = 0
    for (let z = 3; z < 37; z++)
      for (let y = 3; y < 37; y++)
        for (let x = 3; x < 37; x++) {
          const v = data[index(s, x, y, z)]!
          sum += v
          sq += v * v
          n++
        }
    const std = Math.sqrt(sq / n - (sum / n) ** 2)
    expect(std).toBeGreaterThan(noiseGain(sigma) * 0.95)
    expect(std).toBeLessThan(noiseGain(sigma) * 1.05)
  })
})
