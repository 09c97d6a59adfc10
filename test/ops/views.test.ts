import { describe, expect, it } from "vitest"
import {
  accumulateStacks,
  createAccumulator,
  extractStacks,
  finishAccumulator,
  samplesTouching,
  sliceCount,
  sliceShape,
  sliceSums,
  VIEWS,
  type View
} from "../../src/ops/views.ts"
import { index, type Shape3 } from "../../src/ops/volume.ts"

const shape: Shape3 = [4, 5, 6]
/** Each voxel holds its own linear index, so a sample's values say where they came from. */
const indexVolume = (s: Shape3) => ({ shape: s, data: Float32Array.from({ length: s[0] * s[1] * s[2] }, (_, i) => i) })

/** (x, y, z) of pixel (h, w) of slice s of a view, straight from the definition. */
const voxelOf = (view: View, s: number, h: number, w: number): [number, number, number] =>
  view === "X" ? [s, h, w] : view === "Y" ? [h, s, w] : [h, w, s]

describe("views", () => {
  it("names the slice image axes in increasing axis order", () => {
    expect(sliceShape(shape, "X")).toEqual([5, 6])
    expect(sliceShape(shape, "Y")).toEqual([4, 6])
    expect(sliceShape(shape, "Z")).toEqual([4, 5])
    expect(VIEWS.map((v) => sliceCount(shape, v))).toEqual([4, 5, 6])
  })

  it("cuts NHWC 3-slice stacks, repeating the edge slice at both ends", () => {
    const vol = indexVolume(shape)
    for (const view of VIEWS) {
      const n = sliceCount(shape, view)
      const [H, W] = sliceShape(shape, view)
      const samples = [0, 1, n - 1]
      const batch = extractStacks(vol, view, samples)
      expect(batch.length).toBe(samples.length * H * W * 3)
      samples.forEach((i, b) => {
        const expectedSlices = [Math.max(0, i - 1), i, Math.min(n - 1, i + 1)]
        for (let h = 0; h < H; h++) {
          for (let w = 0; w < W; w++) {
            for (let c = 0; c < 3; c++) {
              const [x, y, z] = voxelOf(view, expectedSlices[c]!, h, w)
              expect(batch[((b * H + h) * W + w) * 3 + c]).toBe(index(shape, x, y, z))
            }
          }
        }
      })
    }
  })

  it("cuts single slices with thickness 1 and fills a reused buffer without allocating", () => {
    const vol = indexVolume(shape)
    const out = new Float32Array(1000)
    const batch = extractStacks(vol, "Y", [3], { thickness: 1, out })
    expect(batch.buffer).toBe(out.buffer)
    expect(batch.length).toBe(4 * 6)
    expect(batch[2 * 6 + 5]).toBe(index(shape, 2, 3, 5))
    expect(() => extractStacks(vol, "Y", [5])).toThrow(/outside view Y/)
    expect(() => extractStacks(vol, "Z", [0, 1], { out: new Float32Array(10) })).toThrow(/out holds 10/)
  })

  it("reads integer label volumes as 0/1 floats", () => {
    const label = { shape: [2, 2, 3] as Shape3, data: Uint8Array.from([0, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 1]) }
    // Slice z = 1 holds (x, y) = (0,0):1 (1,0):1 (0,1):0 (1,1):0; rows of the image are x.
    expect(Array.from(extractStacks(label, "Z", [1], { thickness: 1 }))).toEqual([1, 0, 1, 0])
  })
})

describe("accumulating stacks back into a volume", () => {
  it("restores the volume exactly from every sample of every view, for both thicknesses", () => {
    const vol = indexVolume(shape)
    for (const view of VIEWS) {
      for (const thickness of [1, 3] as const) {
        const n = sliceCount(shape, view)
        const all = Array.from({ length: n }, (_, i) => i)
        const acc = createAccumulator(shape, view, thickness)
        // Two batches, to check that batches add up.
        accumulateStacks(acc, extractStacks(vol, view, all.slice(0, 2), { thickness }), all.slice(0, 2))
        accumulateStacks(acc, extractStacks(vol, view, all.slice(2), { thickness }), all.slice(2))
        expect(Array.from(finishAccumulator(acc))).toEqual(Array.from(vol.data))
      }
    }
  })

  it("adds only a box's pixels when told the batch is zero outside it, with the same sums (a fine round's crop)", () => {
    const vol = indexVolume(shape)
    for (const view of VIEWS) {
      const [H, W] = sliceShape(shape, view)
      const box = { top: 1, left: 2, height: H - 2, width: W - 3 }
      const samples = [0, 2]
      // the batch zeroed outside the box, as uncrop's OUTSIDE_LOGIT gives after the sigmoid
      const raw = extractStacks(vol, view, samples, { thickness: 3 })
      const batch = raw.slice()
      for (let i = 0; i < batch.length; i++) {
        const y = Math.floor(i / (W * 3)) % H
        const x = Math.floor(i / 3) % W
        if (y < box.top || y >= box.top + box.height || x < box.left || x >= box.left + box.width) batch[i] = 0
      }
      const whole = createAccumulator(shape, view, 3)
      accumulateStacks(whole, batch, samples)
      const boxed = createAccumulator(shape, view, 3)
      accumulateStacks(boxed, batch, samples, box)
      // finishing divides the sums in place: once per accumulator
      const expected = Array.from(finishAccumulator(whole, { normalize: "all" }))
      expect(Array.from(finishAccumulator(boxed, { normalize: "all" }))).toEqual(expected)
      // and what lies outside the box is not read at all (an ignored box would add the raw values)
      const fromRaw = createAccumulator(shape, view, 3)
      accumulateStacks(fromRaw, raw, samples, box)
      expect(Array.from(finishAccumulator(fromRaw, { normalize: "all" }))).toEqual(expected)
      expect(() => accumulateStacks(boxed, batch, samples, { ...box, height: H })).toThrow(/outside/)
    }
  })

  it("averages the channels that overlap a slice and drops a channel that only repeated the edge", () => {
    const s: Shape3 = [2, 2, 4]
    const acc = createAccumulator(s, "Z", 3)
    const [H, W] = sliceShape(s, "Z")
    const samples = [0, 1, 2, 3]
    // Sample i, channel c outputs 10*i + c everywhere.
    const batch = new Float32Array(samples.length * H * W * 3)
    for (let i = 0; i < batch.length; i++) {
      const sample = Math.floor(i / (H * W * 3))
      batch[i] = 10 * sample + (i % 3)
    }
    accumulateStacks(acc, batch, samples)
    const result = finishAccumulator(acc)
    const perSlice = [0, 1, 2, 3].map((z) => result[index(s, 1, 1, z)])
    // slice 0: sample 0 ch 1 (1) and sample 1 ch 0 (10); sample 0 ch 0 repeated the edge.
    // slice 1: sample 0 ch 2, sample 1 ch 1, sample 2 ch 0 → (2 + 11 + 20) / 3
    expect(perSlice[0]).toBeCloseTo(5.5, 5)
    expect(perSlice[1]).toBeCloseTo(11, 5)
    expect(perSlice[2]).toBeCloseTo((12 + 21 + 30) / 3, 5)
    expect(perSlice[3]).toBeCloseTo((22 + 31) / 2, 5)
  })

  it("accumulates a subset of samples: uncovered slices get the fill value, covered ones their mean", () => {
    const s: Shape3 = [3, 2, 6]
    const ones = new Float32Array(3 * 2 * 3).fill(1)
    const acc = createAccumulator(s, "Z", 3)
    accumulateStacks(acc, ones, [2])
    const covered = finishAccumulator(acc, { fill: -1 })
    const slices = [0, 1, 2, 3, 4, 5].map((z) => covered[index(s, 0, 0, z)])
    expect(slices).toEqual([-1, 1, 1, 1, -1, -1])

    // The release's normalisation: divide by the full-coverage count (3 inside, 2 at the ends).
    const acc2 = createAccumulator(s, "Z", 3)
    accumulateStacks(acc2, new Float32Array(3 * 2 * 3 * 2).fill(1), [0, 2])
    const all = finishAccumulator(acc2, { normalize: "all" })
    const allSlices = [0, 1, 2, 3, 4, 5].map((z) => all[index(s, 2, 1, z)]!)
    expect(allSlices.map((v) => Math.round(v * 1000) / 1000)).toEqual([0.5, 0.667, 0.333, 0.333, 0, 0])
  })

  it("reuses an output buffer, zeroing it first", () => {
    const out = new Float32Array(4 * 5 * 6).fill(9)
    const acc = createAccumulator(shape, "X", 1, out)
    expect(acc.sum).toBe(out)
    expect(out.every((v) => v === 0)).toBe(true)
  })
})

describe("slice statistics", () => {
  it("sums each slice of a view and finds the samples touching the foreground", () => {
    const s: Shape3 = [3, 4, 5]
    const mask = new Uint8Array(60)
    mask[index(s, 1, 2, 3)] = 1
    mask[index(s, 2, 2, 3)] = 1
    expect(Array.from(sliceSums({ shape: s, data: mask }, "X"))).toEqual([0, 1, 1])
    expect(Array.from(sliceSums({ shape: s, data: mask }, "Y"))).toEqual([0, 0, 2, 0])
    expect(Array.from(sliceSums({ shape: s, data: mask }, "Z"))).toEqual([0, 0, 0, 2, 0])
    expect(samplesTouching({ shape: s, data: mask }, "Z")).toEqual([2, 3, 4])
    expect(samplesTouching({ shape: s, data: mask }, "Z", 1)).toEqual([3])
    expect(samplesTouching({ shape: s, data: mask }, "X")).toEqual([0, 1, 2])
  })
})
