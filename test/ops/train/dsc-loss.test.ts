import * as tf from "@tensorflow/tfjs"
import { beforeAll, describe, expect, it } from "vitest"
import { dscLoss, jointLoss, referenceLoss } from "../../../src/ops/train/dsc-loss.ts"
import { initBackend } from "../../../src/runtime/backend.ts"

beforeAll(async () => {
  await initBackend("cpu")
})

const t4 = (v: number[], n: number) => tf.tensor4d(v, [n, 1, v.length / n, 1])
const value = (s: tf.Scalar) => {
  const v = s.dataSync()[0]!
  s.dispose()
  return v
}

describe("DSC loss", () => {
  it("is 1 - mean over the batch of (2ΣPY + ε) / (Σ(P+Y) + ε)", () => {
    // sample 1: P = [1, .5, 0, 0], Y = [1, 1, 0, 0] -> 2*1.5 / (1.5 + 2) = 6/7
    // sample 2: P = [0, 0, .25, .25], Y = [0, 0, 0, 1] -> 2*.25 / (.5 + 1) = 1/3
    const p = t4([1, 0.5, 0, 0, 0, 0, 0.25, 0.25], 2)
    const y = t4([1, 1, 0, 0, 0, 0, 0, 1], 2)
    expect(value(dscLoss(p, y, 0))).toBeCloseTo(1 - (6 / 7 + 1 / 3) / 2, 6)
    expect(value(dscLoss(p, y, 1e-6))).toBeCloseTo(1 - ((3 + 1e-6) / (3.5 + 1e-6) + (0.5 + 1e-6) / (1.5 + 1e-6)) / 2, 6)
    tf.dispose([p, y])
  })

  it("is 0 for a perfect prediction, 1 for a disjoint one, and 0 when both are empty (ε)", () => {
    const y = t4([0, 1, 1, 0], 1)
    expect(value(dscLoss(t4([0, 1, 1, 0], 1), y, 1e-6))).toBeCloseTo(0, 6)
    expect(value(dscLoss(t4([1, 0, 0, 1], 1), y, 1e-6))).toBeCloseTo(1, 6)
    expect(value(dscLoss(t4([0, 0, 0, 0], 1), t4([0, 0, 0, 0], 1), 1e-6))).toBeCloseTo(0, 6)
  })

  it("the joint loss weighs coarse by λ and fine by 1 - λ (reference λ = 1/3)", () => {
    expect(referenceLoss).toEqual({ lambda: 1 / 3, epsilon: 1e-6 })
    expect(value(jointLoss(tf.scalar(0.9), tf.scalar(0.3), 1 / 3))).toBeCloseTo(0.9 / 3 + (0.3 * 2) / 3, 6)
  })
})
