import * as tf from "@tensorflow/tfjs"
import { beforeAll, describe, expect, it } from "vitest"
import { initBackend } from "../../../src/runtime/backend.ts"
import { coarseLogits } from "../../../src/ops/nets/rstn.ts"
import { networkStacks } from "../../../src/ops/nets/stacks.ts"
import { coarsePass } from "../../../src/ops/infer/coarse-pass.ts"
import { at, image, maxAbsDiff, saliency, shape, withModel } from "./fixture.ts"

beforeAll(async () => {
  await initBackend("wasm")
})

describe("coarse pass", () => {
  it("averages the coarse network's 3-channel outputs back into a probability volume, leaking no tensors", () =>
    withModel(saliency, (m) => {
      const before = tf.memory().numTensors
      const p1 = coarsePass(m, { shape, image }, "Z", { batchSize: 1 })
      expect(tf.memory().numTensors).toBe(before)
      const p4 = coarsePass(m, { shape, image }, "Z", { batchSize: 4 })
      expect(p1.length).toBe(image.length)
      expect(p1.every((v) => v > 0 && v < 1)).toBe(true)
      expect(maxAbsDiff(p1, p4)).toBeLessThan(1e-5) // inference batch norm: batch-independent
      // voxel (3, 7) of slice z = 5 is the mean of channel 2, 1, 0 of samples 4, 5, 6
      const out = tf.tidy(() => tf.sigmoid(coarseLogits(m, tf.tensor4d(networkStacks({ shape, data: image }, "Z", [4, 5, 6], 3, 3), [3, 20, 24, 3]), { training: false })).arraySync()) as number[][][][]
      const expected = (out[0]![3]![7]![2]! + out[1]![3]![7]![1]! + out[2]![3]![7]![0]!) / 3
      expect(p1[at(3, 7, 5)]).toBeCloseTo(expected, 5)
    }))

  it("works along every view", () =>
    withModel(null, (m) => {
      for (const view of ["X", "Y", "Z"] as const) expect(coarsePass(m, { shape, image }, view).length).toBe(image.length)
    }))
})
