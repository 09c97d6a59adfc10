import { describe, expect, it } from "vitest"
import { fuseViews } from "../../src/ops/fuse.ts"
import type { Shape3 } from "../../src/ops/volume.ts"

const shape: Shape3 = [8, 1, 1]
const line = (values: number[]) => Float32Array.from(values)

describe("fuseViews", () => {
  it("averages the views and thresholds the mean", () => {
    const a = line([1, 1, 0, 0, 0.9, 0, 0, 0])
    const b = line([1, 0, 0, 0, 0.3, 0, 0, 0])
    const { score, mask } = fuseViews(shape, [a, b], { threshold: 0.5, components: "all" })
    expect(Array.from(score)).toEqual([1, 0.5, 0, 0, Math.fround((0.9 + 0.3) / 2), 0, 0, 0].map(Math.fround))
    expect(Array.from(mask)).toEqual([1, 1, 0, 0, 1, 0, 0, 0])
  })

  it("keeps only the largest component for the paper's rule", () => {
    const v = line([1, 1, 1, 0, 1, 1, 0, 1])
    expect(Array.from(fuseViews(shape, [v], { threshold: 0.5, components: "largest" }).mask)).toEqual([1, 1, 1, 0, 0, 0, 0, 0])
  })

  it("keeps components at least half the largest, seeded where all views agree, for the release's rule", () => {
    // components: [0..2] size 3 (views agree), [4..5] size 2 (views agree at 4), [7] size 1
    const a = line([1, 1, 1, 0, 1, 0.6, 0, 1])
    const b = line([1, 1, 1, 0, 1, 0.45, 0, 1])
    const mask = fuseViews(shape, [a, b], { threshold: 0.5, components: "half-of-largest" }).mask
    expect(Array.from(mask)).toEqual([1, 1, 1, 0, 1, 1, 0, 0])
    // without agreement inside it, a large-enough component is dropped
    const c = line([1, 1, 1, 0, 0.6, 0.6, 0, 0])
    const d = line([1, 1, 1, 0, 0.45, 0.45, 0, 0])
    expect(Array.from(fuseViews(shape, [c, d], { threshold: 0.5, components: "half-of-largest" }).mask)).toEqual([1, 1, 1, 0, 0, 0, 0, 0])
  })

  it("keeps a share of the previous round's score map with momentum, and only with it", () => {
    const previous = line([1, 1, 0, 0, 0.4, 0, 0, 0])
    const v = line([0, 1, 1, 0, 0.8, 0, 0, 0])
    const damped = fuseViews(shape, [v], { threshold: 0.5, components: "all", momentum: 0.25, previous })
    expect(Array.from(damped.score)).toEqual([0.25, 1, 0.75, 0, 0.25 * 0.4 + 0.75 * 0.8, 0, 0, 0].map(Math.fround))
    expect(Array.from(damped.mask)).toEqual([0, 1, 1, 0, 1, 0, 0, 0])
    // no momentum: the paper's mean, whatever the previous map
    expect(Array.from(fuseViews(shape, [v], { threshold: 0.5, components: "all", previous }).score)).toEqual(Array.from(v))
    expect(() => fuseViews(shape, [v], { threshold: 0.5, components: "all", momentum: 1, previous })).toThrow(/momentum/)
    expect(() => fuseViews(shape, [v], { threshold: 0.5, components: "all", momentum: 0.5, previous: line([0]) })).toThrow(/previous/)
  })
})
