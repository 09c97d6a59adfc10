import * as tf from "@tensorflow/tfjs"
import { beforeAll, describe, expect, it } from "vitest"
import { relativeError } from "../../../src/ops/kernels/relative-error.ts"
import { onBoth, setUpBackends, tensor } from "./compare.ts"

beforeAll(setUpBackends)

const poolGrad = (shape: number[], size: number, stride: number, pad: "same" | "valid", relu: boolean) => () =>
  tf.tidy(() => {
    const x = relu ? tf.relu(tensor(shape, 1)) : tensor(shape, 1)
    const pool = (a: tf.Tensor) => tf.maxPool(a as tf.Tensor4D, size, stride, pad)
    const probe = tensor(pool(x).shape, 2)
    return tf.grad((a: tf.Tensor) => tf.sum(tf.mul(pool(a), probe)))(x).dataSync().slice()
  })

describe("MaxPoolGrad on wasm matches cpu", () => {
  it.each<[string, number[], number, number, "same" | "valid"]>([
    ["2x2 stride 2 valid (FCN-8s pools)", [2, 8, 10, 3], 2, 2, "valid"],
    ["2x2 stride 2 valid, odd size", [2, 7, 9, 3], 2, 2, "valid"],
    ["2x2 stride 2 same, odd size", [2, 7, 9, 3], 2, 2, "same"],
    ["3x3 stride 2 same (overlapping windows)", [1, 9, 9, 4], 3, 2, "same"],
    ["3x3 stride 1 same", [1, 6, 6, 2], 3, 1, "same"]
  ])("%s", async (_, shape, size, stride, pad) => {
    const { cpu, wasm } = await onBoth(poolGrad(shape, size, stride, pad, false))
    expect(relativeError(cpu, wasm)).toBeLessThan(1e-6)
  })

  it("routes the gradient of a tied window (all zeros after relu) to its first element, as cpu does", async () => {
    const { cpu, wasm } = await onBoth(poolGrad([2, 8, 8, 3], 2, 2, "valid", true))
    expect(Array.from(wasm)).toEqual(Array.from(cpu))
    const tied = await onBoth(() =>
      tf.tidy(() => tf.grad((a: tf.Tensor) => tf.sum(tf.maxPool(a as tf.Tensor4D, 2, 2, "valid")))(tf.zeros([1, 2, 2, 1])).dataSync().slice())
    )
    expect(Array.from(tied.wasm)).toEqual([1, 0, 0, 0])
  })
})
