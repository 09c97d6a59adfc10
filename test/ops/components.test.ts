import { describe, expect, it } from "vitest"
import { componentSizes, keepComponents, largestComponent, releasePostProcessing } from "../../src/ops/components.ts"
import { index, type Shape3 } from "../../src/ops/volume.ts"

const maskOf = (shape: Shape3, voxels: ReadonlyArray<readonly [number, number, number]>): Uint8Array => {
  const m = new Uint8Array(shape[0] * shape[1] * shape[2])
  for (const [x, y, z] of voxels) m[index(shape, x, y, z)] = 1
  return m
}

const box = (x0: number, y0: number, z0: number, dx: number, dy: number, dz: number) => {
  const v: [number, number, number][] = []
  for (let z = z0; z < z0 + dz; z++) for (let y = y0; y < y0 + dy; y++) for (let x = x0; x < x0 + dx; x++) v.push([x, y, z])
  return v
}

describe("connected components (6-connectivity)", () => {
  it("does not connect voxels that touch only along an edge or at a corner", () => {
    const s: Shape3 = [3, 3, 3]
    expect(componentSizes(maskOf(s, [[0, 0, 0], [1, 1, 0]]), s)).toEqual([1, 1]) // edge in a slice
    expect(componentSizes(maskOf(s, [[0, 0, 0], [1, 0, 1]]), s)).toEqual([1, 1]) // edge across slices
    expect(componentSizes(maskOf(s, [[0, 0, 0], [1, 1, 1]]), s)).toEqual([1, 1]) // corner
    expect(componentSizes(maskOf(s, [[1, 1, 0], [1, 1, 1], [1, 2, 1], [2, 2, 1]]), s)).toEqual([4]) // faces
  })

  it("joins runs through other rows and slices (a U shape and a spiral are one component each)", () => {
    const s: Shape3 = [5, 4, 3]
    // U in one slice: two vertical bars joined at the bottom row.
    const u = maskOf(s, [...box(0, 0, 0, 1, 4, 1), ...box(4, 0, 0, 1, 4, 1), ...box(0, 3, 0, 5, 1, 1)])
    expect(componentSizes(u, s)).toEqual([11])
    // Two bars in slice 0 joined only through slice 1 at one end.
    const bridged = maskOf(s, [...box(0, 0, 0, 5, 1, 1), ...box(0, 2, 0, 5, 1, 1), ...box(4, 0, 1, 1, 3, 1)])
    expect(componentSizes(bridged, s)).toEqual([13])
  })

  it("keeps the largest component, the release's half-of-largest variant, and respects seeds", () => {
    const s: Shape3 = [10, 10, 4]
    const big = box(0, 0, 0, 4, 4, 2) // 32
    const half = box(6, 0, 0, 4, 2, 2) // 16
    const small = box(0, 7, 0, 2, 2, 1) // 4
    const m = maskOf(s, [...big, ...half, ...small])
    expect(componentSizes(m, s)).toEqual([32, 16, 4])
    const largest = largestComponent(m, s)
    expect(largest.reduce((a, b) => a + b, 0)).toBe(32)
    expect(largest[index(s, 3, 3, 1)]).toBe(1)
    expect(largest[index(s, 6, 0, 0)]).toBe(0)
    const kept = keepComponents(m, s, { minRatio: 0.5 })
    expect(kept.reduce((a, b) => a + b, 0)).toBe(48)
    // Seeds only in the small component: it is the largest eligible one.
    const seeds = maskOf(s, [[1, 8, 0]])
    expect(keepComponents(m, s, { seeds }).reduce((a, b) => a + b, 0)).toBe(4)
    expect(releasePostProcessing(m, s).reduce((a, b) => a + b, 0)).toBe(48)
  })

  it("resolves a tie for largest to the component scanned first, and minRatio 1 keeps both", () => {
    const s: Shape3 = [6, 2, 1]
    const m = maskOf(s, [[0, 0, 0], [1, 0, 0], [4, 1, 0], [5, 1, 0]])
    const one = largestComponent(m, s)
    expect(Array.from(one.slice(0, 6))).toEqual([1, 1, 0, 0, 0, 0])
    expect(keepComponents(m, s, { minRatio: 1 }).reduce((a, b) => a + b, 0)).toBe(4)
  })

  it("returns an empty mask for an empty input and leaves a mask of at least half the volume alone in the release variant", () => {
    const s: Shape3 = [4, 4, 4]
    expect(largestComponent(new Uint8Array(64), s).every((v) => v === 0)).toBe(true)
    const full = maskOf(s, [...box(0, 0, 0, 4, 4, 2), [0, 0, 3]])
    expect(releasePostProcessing(full, s).reduce((a, b) => a + b, 0)).toBe(33)
    expect(largestComponent(full, s).reduce((a, b) => a + b, 0)).toBe(32)
  })

  it("labels a 512x512x300 mask with many components in a few seconds", () => {
    const s: Shape3 = [512, 512, 300]
    const m = new Uint8Array(s[0] * s[1] * s[2])
    // A large ball plus a lattice of small cubes, none touching the ball or each other by a face.
    const [cx, cy, cz, r] = [256, 256, 150, 60]
    for (let z = cz - r; z <= cz + r; z++)
      for (let y = cy - r; y <= cy + r; y++)
        for (let x = cx - r; x <= cx + r; x++)
          if ((x - cx) ** 2 + (y - cy) ** 2 + (z - cz) ** 2 <= r * r) m[index(s, x, y, z)] = 1
    let cubes = 0
    for (let z = 2; z < 290; z += 16)
      for (let y = 2; y < 500; y += 16)
        for (let x = 2; x < 130; x += 16) {
          for (const [a, b, c] of box(x, y, z, 3, 3, 3)) m[index(s, a, b, c)] = 1
          cubes++
        }
    let ball = 0
    for (let i = 0; i < m.length; i++) ball += m[i]!
    ball -= cubes * 27
    const t0 = performance.now()
    const kept = largestComponent(m, s)
    const ms = performance.now() - t0
    let keptCount = 0
    for (let i = 0; i < kept.length; i++) keptCount += kept[i]!
    expect(keptCount).toBe(ball)
    expect(kept[index(s, 3, 3, 3)]).toBe(0)
    expect(ms).toBeLessThan(5000)
  })
})
