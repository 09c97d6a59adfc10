import * as tf from "@tensorflow/tfjs"
import { beforeAll, describe, expect, it } from "vitest"
import { tiles2x2 } from "../../../src/ops/kernels/max-pool-grad.ts"
import { maxPoolGradSimdFor } from "../../../src/ops/kernels/max-pool-grad-simd.ts"
import { backendMemory } from "../../../src/ops/kernels/wasm-assembler.ts"
import { asWasm } from "../../../src/ops/kernels/wasm-kernel-utils.ts"
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
    ["2x2 stride 2 valid, 8 channels (the SIMD path)", [2, 8, 10, 8], 2, 2, "valid"],
    ["2x2 stride 2 same, even size, 4 channels (the SIMD path)", [3, 6, 4, 4], 2, 2, "same"],
    ["2x2 stride 2 valid, odd size", [2, 7, 9, 3], 2, 2, "valid"],
    ["2x2 stride 2 same, odd size", [2, 7, 9, 3], 2, 2, "same"],
    ["3x3 stride 2 same (overlapping windows)", [1, 9, 9, 4], 3, 2, "same"],
    ["3x3 stride 1 same", [1, 6, 6, 2], 3, 1, "same"]
  ])("%s", async (_, shape, size, stride, pad) => {
    const { cpu, wasm } = await onBoth(poolGrad(shape, size, stride, pad, false))
    expect(relativeError(cpu, wasm)).toBeLessThan(1e-6)
  })

  it.each([3, 4])("routes the gradient of a tied window (all zeros after relu) to its first element, as cpu does (%i channels)", async (c) => {
    const { cpu, wasm } = await onBoth(poolGrad([2, 8, 8, c], 2, 2, "valid", true))
    expect(Array.from(wasm)).toEqual(Array.from(cpu))
    const tied = await onBoth(() =>
      tf.tidy(() => tf.grad((a: tf.Tensor) => tf.sum(tf.maxPool(a as tf.Tensor4D, 2, 2, "valid")))(tf.zeros([1, 2, 2, 1])).dataSync().slice())
    )
    expect(Array.from(tied.wasm)).toEqual([1, 0, 0, 0])
  })
})

describe("MaxPoolGrad's SIMD path (2x2, stride 2, channels in fours) keeps the scalar rule lane by lane", () => {
  it("compiles on this engine, and takes the FCN's pools (an even map, 2x2 at stride 2)", async () => {
    await tf.setBackend("wasm")
    expect(maxPoolGradSimdFor(backendMemory(asWasm(tf.backend()).wasm)!)).not.toBeNull()
    const pool = (shape: [number, number, number, number], pad: "same" | "valid") => tf.backend_util.computePool2DInfo(shape, 2, 2, 1, pad)
    expect(tiles2x2(pool([4, 128, 128, 16], "valid"))).toBe(true)
    expect(tiles2x2(pool([3, 6, 4, 4], "same"))).toBe(true)
    expect(tiles2x2(pool([2, 7, 9, 4], "valid"))).toBe(false) // odd: the scalar walk
    expect(tiles2x2(pool([2, 8, 10, 3], "valid"))).toBe(false) // channels not in fours
  })

  it("first maximum wins, NaN never wins, a window of -Infinity routes nothing, -0 arrives as +0", async () => {
    // one image, 2x4 input (two windows), 4 channels: each channel a different case
    const nan = Number.NaN
    const inf = Number.NEGATIVE_INFINITY
    // pixel-major rows: [p00, p01, p02, p03] then [p10, p11, p12, p13], 4 channels each
    const x = [
      [1, nan, inf, 5], [1, 2, inf, 5], /**/ [0, 0, 0, 0], [7, 7, 7, 7],
      [3, 2, inf, 5], [2, 2, inf, 6], /**/ [7, 7, 7, 7], [0, 0, 0, 0]
    ].flat()
    const dy = [[1, 2, 3, -0], [4, 5, 6, 7]].flat()
    const f = () =>
      tf.tidy(() => {
        const input = tf.tensor4d(x, [1, 2, 4, 4])
        return tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(a as tf.Tensor4D, 2, 2, "valid"), tf.tensor4d(dy, [1, 1, 2, 4]))))(input).dataSync().slice()
      })
    const { cpu, wasm } = await onBoth(f)
    expect(Array.from(wasm).map((v) => Object.is(v, -0) ? "-0" : v)).toEqual(Array.from(cpu).map((v) => Object.is(v, -0) ? "-0" : v))
    // window 1 (p00, p01, p10, p11): channel 0 -> p10 (3); channel 1 -> p01 (the first 2 after NaN);
    // channel 2 -> none (all -Infinity); channel 3 -> p11 (6), whose -0 arrives as +0.
    // window 2: every channel -> p03, the first 7.
    expect(Array.from(wasm).map((v) => (Object.is(v, -0) ? "-0" : v))).toEqual([
      [0, 0, 0, 0], [0, 2, 0, 0], [0, 0, 0, 0], [4, 5, 6, 7],
      [1, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]
    ].flat())
  })
})
