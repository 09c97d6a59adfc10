/**
 * A test node's round checkpoint: what a killed coarse-to-fine test resumes from must hold every
 * map the next round reads — the fused score map, and each view's own map when the saliency
 * transform reads them ({ map: view }) — and anything else must be refused, not misread.
 */
import { describe, expect, it } from "vitest"
import { decodeRoundCheckpoint, encodeRoundCheckpoint, type RoundCheckpoint, type RoundRecord } from "../../../src/runtime/nodes/test-case.ts"

const n = 5
const record = (round: number): RoundRecord => ({
  round,
  dsc: 0.5,
  precision: 0.5,
  recall: 0.5,
  voxels: 2,
  views: [],
  interDsc: round === 0 ? null : 0.9,
  ms: 1,
  fineSamples: 0
})
const checkpoint = (views: number): RoundCheckpoint => ({
  records: [record(0), record(1)],
  score: Float32Array.from([0.1, 0.9, 0.6, 0, 0.2]),
  views: Array.from({ length: views }, (_, v) => Float32Array.from({ length: n }, (_, i) => (v + 1) * 0.1 + i * 0.01)),
  mask: Uint8Array.from([0, 1, 1, 0, 0]),
  files: [Uint8Array.from([1, 2, 3]), Uint8Array.from([4])]
})

describe("round checkpoints", () => {
  it.each([0, 3])("give back the records, score map, %i per-view maps, mask and files", (views) => {
    const c = checkpoint(views)
    const back = decodeRoundCheckpoint(encodeRoundCheckpoint(c), n)
    expect(back).not.toBeNull()
    expect(back!.records).toEqual(c.records)
    expect(Array.from(back!.score)).toEqual(Array.from(c.score))
    expect(back!.views.map((v) => Array.from(v))).toEqual(c.views.map((v) => Array.from(v)))
    expect(Array.from(back!.mask)).toEqual(Array.from(c.mask))
    expect(back!.files.map((f) => Array.from(f))).toEqual([[1, 2, 3], [4]])
  })

  it("are refused when cut short, for another case size, or not ours", () => {
    const bytes = encodeRoundCheckpoint(checkpoint(3))
    expect(decodeRoundCheckpoint(bytes.subarray(0, bytes.length - 1), n)).toBeNull()
    expect(decodeRoundCheckpoint(bytes, n + 1)).toBeNull()
    expect(decodeRoundCheckpoint(new TextEncoder().encode("not a checkpoint"), n)).toBeNull()
  })
})
