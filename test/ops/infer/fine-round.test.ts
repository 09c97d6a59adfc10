import * as tf from "@tensorflow/tfjs"
import { beforeAll, describe, expect, it } from "vitest"
import { initBackend } from "../../../src/runtime/backend.ts"
import { coarsePass } from "../../../src/ops/infer/coarse-pass.ts"
import { fineRound, oracleSources } from "../../../src/ops/infer/fine-round.ts"
import { createRstn } from "../../../src/ops/nets/rstn.ts"
import { at, image, label, mask, maxAbsDiff, net, saliency, score, shape, withModel } from "./fixture.ts"

beforeAll(async () => {
  await initBackend("wasm")
})

describe("fine round", () => {
  it("runs only on samples touching the previous mask and stays inside its box plus K", () =>
    withModel(saliency, (m) => {
      const before = tf.memory().numTensors
      const r = fineRound(m, { shape, image, score, mask }, "Z", { margin: 2 })
      expect(tf.memory().numTensors).toBe(before)
      expect(r.samples).toBe(4) // samples 3..6 hold slice 4 or 5
      const p = r.probability
      for (let z = 0; z < 10; z++)
        for (let y = 0; y < 24; y++)
          for (let x = 0; x < 20; x++) {
            const inBox = x >= 4 && x <= 13 && y >= 6 && y <= 17
            const ran = z >= 2 && z <= 7
            if (!inBox || !ran) expect(p[at(x, y, z)]).toBe(0)
            else expect(p[at(x, y, z)]).toBeGreaterThan(0)
          }
    }))

  it("weights the fine input by the saliency of the previous score map", () => {
    const other = Float32Array.from(score, (v) => 1 - v)
    withModel(saliency, (m) => {
      const a = fineRound(m, { shape, image, score, mask }, "Z", { margin: 2 }).probability
      const b = fineRound(m, { shape, image, score: other, mask }, "Z", { margin: 2 }).probability
      expect(maxAbsDiff(a, b)).toBeGreaterThan(1e-3)
    })
    withModel(null, (m) => {
      const a = fineRound(m, { shape, image, score, mask }, "Z", { margin: 2 }).probability
      const b = fineRound(m, { shape, image, score: other, mask }, "Z", { margin: 2 }).probability
      expect(maxAbsDiff(a, b)).toBe(0) // stage-wise: the score map is not used
    })
  })

  it("with boxes aligned to the stride grid, a mask moved by a pixel leaves the output unchanged", () =>
    withModel(null, (m) => {
      const moved = new Uint8Array(mask.length)
      for (let z = 0; z < 10; z++) for (let y = 0; y < 24; y++) for (let x = 1; x < 20; x++) moved[at(x, y, z)] = mask[at(x - 1, y, z)]!
      const run = (prev: Uint8Array, align: number) => fineRound(m, { shape, image, score, mask: prev }, "Z", { margin: 2, align }).probability
      expect(maxAbsDiff(run(mask, 1), run(moved, 1))).toBeGreaterThan(1e-3)
      expect(maxAbsDiff(run(mask, 32), run(moved, 32))).toBe(0)
    }))

  it("returns an empty volume when the previous mask is empty", () =>
    withModel(saliency, (m) => {
      const r = fineRound(m, { shape, image, score, mask: new Uint8Array(image.length) }, "Y", { margin: 20 })
      expect(r.samples).toBe(0)
      expect(r.probability.every((v) => v === 0)).toBe(true)
    }))

  it("oracles crop by the ground truth; the strong one also weights by it", () =>
    withModel(saliency, (m) => {
      const weak = fineRound(m, { shape, image, score, mask, label }, "Z", { margin: 1, ...oracleSources("weak") })
      expect(weak.samples).toBe(3) // label only in slice 7: samples 6, 7, 8
      expect(weak.probability[at(10, 10, 4)]).toBe(0) // previous mask region, outside the label box
      expect(weak.probability[at(3, 4, 7)]).toBeGreaterThan(0)
      const other = Float32Array.from(score, (v) => 1 - v)
      const s1 = fineRound(m, { shape, image, score, mask, label }, "Z", { margin: 1, ...oracleSources("strong") }).probability
      const s2 = fineRound(m, { shape, image, score: other, mask, label }, "Z", { margin: 1, ...oracleSources("strong") }).probability
      expect(maxAbsDiff(s1, s2)).toBe(0)
      expect(() => fineRound(m, { shape, image, score, mask }, "Z", { margin: 1, ...oracleSources("strong") })).toThrow(/ground-truth/)
    }))

  it("batches samples under a common box and supports slice thickness 1", () =>
    withModel(saliency, (m) => {
      const before = tf.memory().numTensors
      const one = fineRound(m, { shape, image, score, mask }, "X", { margin: 2 }).probability
      const four = fineRound(m, { shape, image, score, mask }, "X", { margin: 2, batchSize: 4 }).probability
      expect(tf.memory().numTensors).toBe(before)
      expect(four.length).toBe(one.length)
      expect(maxAbsDiff(one, four)).toBeLessThan(0.5)
      const thin = fineRound(m, { shape, image, score, mask }, "Z", { margin: 2, thickness: 1 })
      expect(thin.samples).toBe(2)
      expect(thin.probability[at(8, 10, 3)]).toBe(0)
      expect(thin.probability[at(8, 10, 4)]).toBeGreaterThan(0)
    }))

  it("runs one-channel networks on slice thickness 1", () => {
    const one = { ...net, inChannels: 1, outChannels: 1 }
    const oneSaliency = { channels: 1, layers: saliency.layers.map((l) => ({ ...l, init: { ...l.init, bias: 1 } })) }
    const m = createRstn({ coarse: one, fine: one, saliency: oneSaliency }, 6)
    const before = tf.memory().numTensors
    const coarse = coarsePass(m, { shape, image }, "Z", { thickness: 1 })
    const r = fineRound(m, { shape, image, score: coarse, mask }, "Z", { margin: 2, thickness: 1 })
    expect(tf.memory().numTensors).toBe(before)
    expect(r.samples).toBe(2)
    expect(r.probability[at(8, 10, 3)]).toBe(0)
    expect(r.probability[at(8, 10, 4)]).toBeGreaterThan(0)
    m.dispose()
  })
})
