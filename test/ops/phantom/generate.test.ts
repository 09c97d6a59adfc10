import { describe, expect, it } from "vitest"
import { qformAffine } from "../../../src/ops/nifti/index.ts"
import { generatePhantom, phantomLayout, type PhantomCase } from "../../../src/ops/phantom/generate.ts"
import { FULL_MAX_SLICES, FULL_MIN_SLICES } from "../../../src/ops/phantom/grid.ts"
import { index, type Shape3 } from "../../../src/ops/volume.ts"

/** World (RAS mm) position of voxel (i, j, k) through the volume's affine. */
const world = (aff: readonly number[], i: number, j: number, k: number): [number, number, number] => [
  aff[0]! * i + aff[1]! * j + aff[2]! * k + aff[3]!,
  aff[4]! * i + aff[5]! * j + aff[6]! * k + aff[7]!,
  aff[8]! * i + aff[9]! * j + aff[10]! * k + aff[11]!
]

interface TargetStats {
  readonly voxels: number
  readonly volumeMl: number
  /** Centroid in world millimetres. */
  readonly centroid: [number, number, number]
  readonly maxSliceFraction: number
  /** Axial slices holding the target, and whether they form one contiguous run. */
  readonly slicesWith: number
  readonly contiguous: boolean
  readonly meanHu: number
  /** Mean HU of the voxels within one voxel (26-neighbourhood) outside the target. */
  readonly shellHu: number
  /** Share of shell voxels within 60 HU of the target's mean: look-alike neighbours. */
  readonly shellSimilar: number
}

const targetStats = (c: PhantomCase, withShell = true): TargetStats => {
  const s: Shape3 = c.label.shape
  const [nx, ny, nz] = s
  const lab = c.label.data
  const img = c.image.data
  let voxels = 0
  let sum = 0
  const cen = [0, 0, 0]
  let maxSlice = 0
  const present: number[] = []
  for (let z = 0; z < nz; z++) {
    let n = 0
    for (let y = 0; y < ny; y++)
      for (let x = 0; x < nx; x++) {
        const i = index(s, x, y, z)
        if (!lab[i]) continue
        n++
        sum += img[i]!
        cen[0] += x
        cen[1] += y
        cen[2] += z
      }
    voxels += n
    maxSlice = Math.max(maxSlice, n)
    if (n > 0) present.push(z)
  }
  const meanHu = sum / voxels
  let shellSum = 0
  let shellN = 0
  let similar = 0
  for (let z = 0; z < (withShell ? nz : 0); z++)
    for (let y = 0; y < ny; y++)
      for (let x = 0; x < nx; x++) {
        const i = index(s, x, y, z)
        if (lab[i]) continue
        let near = false
        for (let dz = -1; dz <= 1 && !near; dz++)
          for (let dy = -1; dy <= 1 && !near; dy++)
            for (let dx = -1; dx <= 1 && !near; dx++) {
              const xx = x + dx
              const yy = y + dy
              const zz = z + dz
              if (xx >= 0 && yy >= 0 && zz >= 0 && xx < nx && yy < ny && zz < nz && lab[index(s, xx, yy, zz)]) near = true
            }
        if (!near) continue
        shellSum += img[i]!
        shellN++
        if (Math.abs(img[i]! - meanHu) <= 60) similar++
      }
  const sp = c.image.geometry.spacing
  return {
    voxels,
    volumeMl: (voxels * sp[0] * sp[1] * sp[2]) / 1000,
    centroid: world(c.image.geometry.affine, cen[0] / voxels, cen[1] / voxels, cen[2] / voxels),
    maxSliceFraction: maxSlice / (nx * ny),
    slicesWith: present.length,
    contiguous: present.length > 0 && present[present.length - 1]! - present[0]! + 1 === present.length,
    meanHu,
    shellHu: shellSum / shellN,
    shellSimilar: similar / shellN
  }
}

const cases = Array.from({ length: 8 }, (_, i) => generatePhantom({ seed: 11, index: i, size: "small" }))
const stats = cases.map((c) => targetStats(c))
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
const std = (xs: number[]) => Math.sqrt(mean(xs.map((x) => (x - mean(xs)) ** 2)))

describe("phantom cases", () => {
  it("are deterministic per (seed, case) and independent of the other cases", () => {
    const again = generatePhantom({ seed: 11, index: 3, size: "small" })
    expect(Buffer.from(again.image.data.buffer).equals(Buffer.from(cases[3]!.image.data.buffer))).toBe(true)
    expect(Buffer.from(again.label.data.buffer).equals(Buffer.from(cases[3]!.label.data.buffer))).toBe(true)
    const otherSeed = generatePhantom({ seed: 12, index: 3, size: "small" })
    expect(Buffer.from(otherSeed.image.data.buffer).equals(Buffer.from(cases[3]!.image.data.buffer))).toBe(false)
    expect(cases[3]!.id).toBe("case_003")
  })

  it("have the sizes and spacings of their preset, and a full size draws L in [181, 466]", () => {
    const c = cases[0]!
    expect(c.image.shape).toEqual([96, 96, 48])
    expect(c.image.data).toBeInstanceOf(Int16Array)
    expect(c.label.data).toBeInstanceOf(Uint8Array)
    expect(phantomLayout({ seed: 11, index: 0, size: "medium" }).grid.shape).toEqual([192, 192, 96])
    const full = Array.from({ length: 40 }, (_, i) => phantomLayout({ seed: 11, index: i, size: "full" }).grid)
    for (const g of full) {
      expect(g.shape[0]).toBe(512)
      expect(g.shape[2]).toBeGreaterThanOrEqual(FULL_MIN_SLICES)
      expect(g.shape[2]).toBeLessThanOrEqual(FULL_MAX_SLICES)
      expect(g.spacing[0]).toBeGreaterThanOrEqual(0.7)
      expect(g.spacing[0]).toBeLessThanOrEqual(0.8)
      expect(g.spacing[2]).toBeGreaterThanOrEqual(1)
      expect(g.spacing[2]).toBeLessThanOrEqual(2.5)
    }
    // The slice counts really vary from case to case.
    expect(new Set(full.map((g) => g.shape[2])).size).toBeGreaterThan(30)
  })

  it("carry a consistent NIfTI geometry: the affine is the one its qform parameters describe", () => {
    const g = cases[0]!.image.geometry
    const q = qformAffine(g.quatern, g.qoffset, g.spacing, g.qfac)
    q.forEach((v, i) => expect(v).toBeCloseTo(g.affine[i]!, 9))
    expect(g.srow).toEqual(g.affine.slice(0, 12))
    expect(g.qformCode).toBe(1)
  })

  it("show the same patient at every size", () => {
    const small = targetStats(generatePhantom({ seed: 4, index: 1, size: "small" }), false)
    const medium = targetStats(generatePhantom({ seed: 4, index: 1, size: "medium" }), false)
    for (let d = 0; d < 3; d++) expect(Math.abs(small.centroid[d]! - medium.centroid[d]!)).toBeLessThan(4)
    expect(Math.abs(small.volumeMl - medium.volumeMl) / medium.volumeMl).toBeLessThan(0.25)
  })

  it("hold a small target: under 1.5% of every axial slice, in one run of slices, not in most of them", () => {
    for (const t of stats) {
      expect(t.voxels).toBeGreaterThan(0)
      expect(t.maxSliceFraction).toBeLessThan(0.015)
      expect(t.contiguous).toBe(true)
      expect(t.slicesWith / 48).toBeGreaterThan(0.15)
      expect(t.slicesWith / 48).toBeLessThan(0.6)
    }
  })

  it("give the target a contrast of a few tens of HU to its surroundings, many of them look-alikes", () => {
    for (const t of stats) {
      const contrast = t.meanHu - t.shellHu
      expect(contrast).toBeGreaterThan(10)
      expect(contrast).toBeLessThan(80)
      expect(t.shellSimilar).toBeGreaterThan(0.35)
      // Soft tissue, not fluid, fat or vessel.
      expect(t.meanHu).toBeGreaterThan(30)
      expect(t.meanHu).toBeLessThan(120)
    }
    expect(mean(stats.map((t) => t.meanHu - t.shellHu))).toBeLessThan(65)
  })

  it("vary the target's position, size and intensity from case to case", () => {
    expect(std(stats.map((t) => t.centroid[0]))).toBeGreaterThan(3)
    expect(std(stats.map((t) => t.centroid[2]))).toBeGreaterThan(3)
    const volumes = stats.map((t) => t.volumeMl)
    expect(Math.max(...volumes) / Math.min(...volumes)).toBeGreaterThan(1.3)
    expect(std(stats.map((t) => t.meanHu))).toBeGreaterThan(3)
  })

  it("are CT-like: air outside, and fat, soft tissue, bone and bowel gas inside", () => {
    const img = cases[0]!.image.data
    expect(img[0]).toBeLessThan(-900)
    const frac = (lo: number, hi: number) => img.filter((v) => v >= lo && v < hi).length / img.length
    expect(frac(-1024, -900)).toBeGreaterThan(0.2) // air around the body and gas
    expect(frac(-150, -50)).toBeGreaterThan(0.05) // fat
    expect(frac(20, 120)).toBeGreaterThan(0.05) // soft tissue
    expect(frac(400, 3072)).toBeGreaterThan(0.001) // bone
  })
})
