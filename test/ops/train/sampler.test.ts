import { describe, expect, it } from "vitest"
import { Rng } from "../../../src/ops/random.ts"
import { createSampler, selectTrainingSlices, type SampleRef } from "../../../src/ops/train/sampler.ts"
import { trainingSamples, volumeBatchSource } from "../../../src/ops/train/volume-source.ts"

const key = (r: SampleRef) => `${r.caseIndex}:${r.slice}`

describe("slice threshold", () => {
  it("keeps the largest floor(0.98 * count) of the slices holding foreground", () => {
    // 100 foreground slices with counts 1..100 plus 20 empty ones: keep the 98 largest (>= 3)
    const counts = [
      ...Array.from({ length: 100 }, (_, i) => ({ caseIndex: i % 3, slice: i, count: i + 1 })),
      ...Array.from({ length: 20 }, (_, i) => ({ caseIndex: 0, slice: 100 + i, count: 0 }))
    ]
    const kept = selectTrainingSlices(counts, 0.98)
    expect(kept.length).toBe(98)
    expect(kept.map((r) => r.slice)).toEqual(Array.from({ length: 98 }, (_, i) => i + 2))
  })

  it("keeps every slice tying the smallest kept count, keeps at least one, and reads t > 1 as a minimum count", () => {
    const counts = [5, 5, 5, 9].map((count, slice) => ({ caseIndex: 0, slice, count }))
    expect(selectTrainingSlices(counts, 0.5).length).toBe(4) // floor(2) largest: 9 and 5 -> all 5s tie
    expect(selectTrainingSlices([{ caseIndex: 0, slice: 0, count: 3 }], 0.98).length).toBe(1)
    expect(selectTrainingSlices(counts, 6).map((r) => r.slice)).toEqual([3])
    expect(selectTrainingSlices(counts.map((c) => ({ ...c, count: 0 })), 0.98)).toEqual([])
  })
})

describe("sampler", () => {
  const samples = Array.from({ length: 10 }, (_, i) => ({ caseIndex: i % 2, slice: i }))

  it("visits every sample once per epoch, reshuffling each epoch, in batches", () => {
    const s = createSampler(samples, 3, Rng.derive(1, "s"))
    expect(s.batchesPerEpoch).toBe(4)
    const epochs = [0, 1].map(() => Array.from({ length: 4 }, () => s.next()))
    for (const e of epochs) {
      expect(e.map((b) => b.length)).toEqual([3, 3, 3, 1])
      expect(e.flat().map(key).sort()).toEqual(samples.map(key).sort())
    }
    expect(epochs[0]!.flat().map(key)).not.toEqual(epochs[1]!.flat().map(key))
    expect(s.state().epoch).toBe(1)
  })

  it("is determined by its seed", () => {
    const run = (seed: number) => {
      const s = createSampler(samples, 2, Rng.derive(seed, "s"))
      return Array.from({ length: 12 }, () => s.next().map(key))
    }
    expect(run(4)).toEqual(run(4))
    expect(run(4)).not.toEqual(run(5))
  })

  it("never mixes groups (2D shapes) in a batch", () => {
    const s = createSampler(samples, 4, Rng.derive(2, "s"), (r) => String(r.caseIndex))
    for (let i = 0; i < 20; i++) expect(new Set(s.next().map((r) => r.caseIndex)).size).toBe(1)
  })

  it("continues exactly where a saved state left off, mid-epoch and across epochs", () => {
    const a = createSampler(samples, 3, Rng.derive(3, "s"))
    for (let i = 0; i < 6; i++) a.next()
    const saved = a.state()
    const expected = Array.from({ length: 10 }, () => a.next().map(key))
    const b = createSampler(samples, 3, Rng.derive(99, "other"))
    b.restore(JSON.parse(JSON.stringify(saved)))
    expect(Array.from({ length: 10 }, () => b.next().map(key))).toEqual(expected)
  })
})

describe("volume training data", () => {
  // 4 x 3 x 5 volume; foreground at x = 1 in slices z = 1, 2 (z = 2 has more)
  const shape = [4, 3, 5] as const
  const label = new Uint8Array(60)
  const at = (x: number, y: number, z: number) => x + 4 * (y + 3 * z)
  label[at(1, 0, 1)] = 1
  label[at(1, 0, 2)] = 1
  label[at(1, 1, 2)] = 1
  const image = Float32Array.from({ length: 60 }, (_, i) => i / 60)

  it("selects per view and cuts NHWC 3-slice stacks with their labels", () => {
    const vols = [{ shape, image, label }]
    expect(trainingSamples(vols, "Z", 0.98)).toEqual([{ caseIndex: 0, slice: 2 }]) // floor(0.98*2) = 1 slice
    expect(trainingSamples(vols, "Z", 1)).toEqual([{ caseIndex: 0, slice: 1 }, { caseIndex: 0, slice: 2 }])
    expect(trainingSamples(vols, "X", 1)).toEqual([{ caseIndex: 0, slice: 1 }])
    const batch = volumeBatchSource(vols, "Z").load([{ caseIndex: 0, slice: 2 }])
    expect([batch.height, batch.width, batch.channels]).toEqual([4, 3, 3]) // view Z: H = x, W = y
    // pixel (h = x = 1, w = y = 0), channels = slices z = 1, 2, 3
    const p = (1 * 3 + 0) * 3
    expect(Array.from(batch.labels.subarray(p, p + 3))).toEqual([1, 1, 0])
    expect(Array.from(batch.images.subarray(p, p + 3))).toEqual([at(1, 0, 1) / 60, at(1, 0, 2) / 60, at(1, 0, 3) / 60].map(Math.fround))
  })

  it("serves slice thickness 1 to 3-channel networks (repeated) and 1-channel ones", () => {
    const repeated = volumeBatchSource([{ shape, image, label }], "Z", { thickness: 1, inChannels: 3, outChannels: 3 }).load([{ caseIndex: 0, slice: 2 }])
    const p = (1 * 3 + 0) * 3
    expect(Array.from(repeated.labels.subarray(p, p + 3))).toEqual([1, 1, 1])
    const single = volumeBatchSource([{ shape, image, label }], "Z", { thickness: 1, inChannels: 1, outChannels: 1 }).load([{ caseIndex: 0, slice: 2 }])
    expect([single.channels, single.labelChannels, single.labels.length]).toEqual([1, 1, 12])
    expect(single.labels[1 * 3 + 0]).toBe(1)
    expect(() => volumeBatchSource([{ shape, image, label }], "Z", { thickness: 3, inChannels: 1, outChannels: 1 }).load([{ caseIndex: 0, slice: 2 }])).toThrow(/3 slices/)
  })
})
