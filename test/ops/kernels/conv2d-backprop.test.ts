import * as tf from "@tensorflow/tfjs"
import { beforeAll, describe, expect, it } from "vitest"
import {
  byDilatedConvolution,
  byShiftedProducts,
  MIN_ROWS_FOR_PRODUCTS
} from "../../../src/ops/kernels/conv2d-backprop-filter.ts"
import { planAxis, suitsPointwiseInputGrad } from "../../../src/ops/kernels/conv2d-backprop-input.ts"
import { asWasm } from "../../../src/ops/kernels/wasm-kernel-utils.ts"
import { relativeError } from "../../../src/ops/kernels/relative-error.ts"
import { onBoth, setUpBackends, tensor } from "./compare.ts"

beforeAll(setUpBackends)

type Pad = "same" | "valid" | number | [[number, number], [number, number], [number, number], [number, number]]

/** Output, input gradient and filter gradient of conv2d under a fixed upstream gradient. */
const convGrads = (x: number[], w: number[], stride: number, pad: Pad) => () =>
  tf.tidy(() => {
    const xs = tensor(x, 1) as tf.Tensor4D
    const ws = tensor(w, 2) as tf.Tensor4D
    const conv = (a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, pad)
    const y = conv(xs, ws)
    const probe = tensor(y.shape, 3)
    const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(conv(a, b), probe)))([xs, ws])
    return [y, dx!, dw!].map((t) => t.dataSync().slice())
  })

const expectClose = (cpu: ReadonlyArray<ArrayLike<number>>, wasm: ReadonlyArray<ArrayLike<number>>) => {
  cpu.forEach((c, i) => {
    expect(wasm[i]!.length).toBe(c.length)
    expect(relativeError(c, wasm[i]!)).toBeLessThan(1e-4)
  })
}

describe("conv2d gradients on wasm match cpu", () => {
  // Every kernel size, stride and padding the networks use (src/ops/nets), plus stride 2 and
  // explicit paddings, which the kernels also support.
  it.each<[string, number[], number[], number, Pad]>([
    ["1x1 same", [2, 9, 11, 6], [1, 1, 6, 5], 1, "same"],
    ["1x1 same, 8 -> 12 (input gradient computed transposed)", [2, 3, 5, 8], [1, 1, 8, 12], 1, "same"],
    ["1x1 with explicit padding", [1, 3, 4, 8], [1, 1, 8, 4], 1, [[0, 0], [1, 0], [0, 2], [0, 0]]],
    ["1x1, 512 channels (rows off 2 KB multiples)", [2, 2, 3, 512], [1, 1, 512, 512], 1, "same"],
    ["3x3, 512 channels (rows off 2 KB multiples)", [1, 4, 5, 512], [3, 3, 512, 8], 1, "same"],
    ["3x3 same", [2, 9, 11, 3], [3, 3, 3, 5], 1, "same"],
    ["3x3 same, large enough for per-tap products", [2, 40, 36, 4], [3, 3, 4, 6], 1, "same"],
    ["3x3 valid, large enough for per-tap products", [3, 33, 30, 2], [3, 3, 2, 3], 1, "valid"],
    ["3x3 valid", [2, 9, 11, 3], [3, 3, 3, 5], 1, "valid"],
    ["5x5 same", [2, 10, 9, 3], [5, 5, 3, 4], 1, "same"],
    ["5x5 valid", [2, 10, 9, 3], [5, 5, 3, 4], 1, "valid"],
    ["7x7 same", [1, 12, 13, 2], [7, 7, 2, 3], 1, "same"],
    ["fc6: 7x7 valid", [2, 8, 9, 16], [7, 7, 16, 12], 1, "valid"],
    ["fc6 on its minimum input: 7x7 valid to 1x1", [2, 7, 7, 8], [7, 7, 8, 6], 1, "valid"],
    ["3x3 stride 2 same", [2, 9, 11, 3], [3, 3, 3, 5], 2, "same"],
    ["3x3 stride 2 valid", [2, 10, 11, 3], [3, 3, 3, 5], 2, "valid"],
    ["1x1 stride 2 (phases without taps)", [2, 9, 11, 4], [1, 1, 4, 5], 2, "same"],
    ["3x3 explicit padding", [2, 9, 11, 3], [3, 3, 3, 5], 1, [[0, 0], [2, 0], [0, 3], [0, 0]]],
    ["3x3 padding 4 (larger than the kernel)", [1, 6, 7, 3], [3, 3, 3, 2], 1, 4]
  ])("%s", async (_, x, w, stride, pad) => {
    const { cpu, wasm } = await onBoth(convGrads(x, w, stride, pad))
    expectClose(cpu, wasm)
  })

  it("computes a 1x1 input gradient transposed only where it can: unpadded, stride 1, input channels in fours", () => {
    const geometry = (x: number[], w: number[], stride: number, pad: Pad) =>
      tf.backend_util.computeConv2DInfo(x as [number, number, number, number], w as [number, number, number, number], stride, 1, pad as "same", undefined, false, "channelsLast")
    expect(suitsPointwiseInputGrad(geometry([2, 3, 5, 8], [1, 1, 8, 12], 1, "same"))).toBe(true)
    expect(suitsPointwiseInputGrad(geometry([2, 4, 4, 1024], [1, 1, 1024, 1024], 1, "same"))).toBe(true) // fc7
    expect(suitsPointwiseInputGrad(geometry([2, 9, 11, 6], [1, 1, 6, 5], 1, "same"))).toBe(false)
    expect(suitsPointwiseInputGrad(geometry([1, 3, 4, 8], [1, 1, 8, 4], 1, [[0, 0], [1, 0], [0, 2], [0, 0]]))).toBe(false)
    expect(suitsPointwiseInputGrad(geometry([2, 9, 11, 4], [1, 1, 4, 5], 2, "same"))).toBe(false)
  })

  it("pad-100 style input: tf.pad by 100, then 3x3 valid", async () => {
    const f = () =>
      tf.tidy(() => {
        const x = tensor([1, 6, 5, 3], 4)
        const w = tensor([3, 3, 3, 4], 5) as tf.Tensor4D
        const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => {
          const padded = tf.pad(a, [[0, 0], [100, 100], [100, 100], [0, 0]]) as tf.Tensor4D
          return tf.sum(tf.square(tf.conv2d(padded, b as tf.Tensor4D, 1, "valid")))
        })
        return g([x, w]).map((t) => t.dataSync().slice())
      })
    const { cpu, wasm } = await onBoth(f)
    expectClose(cpu, wasm)
  })
})

describe("conv2dTranspose (FCN upsampling) on wasm matches cpu", () => {
  const transposeGrads = (k: number, s: number, inSize: number, pad: "same" | "valid", cin: number, cout: number) => () =>
    tf.tidy(() => {
      const out = pad === "same" ? inSize * s : (inSize - 1) * s + k
      const x = tensor([2, inSize, inSize + 1, cin], 6) as tf.Tensor4D
      const w = tensor([k, k, cout, cin], 7) as tf.Tensor4D
      const outW = pad === "same" ? (inSize + 1) * s : inSize * s + k
      const up = (a: tf.Tensor, b: tf.Tensor) =>
        tf.conv2dTranspose(a as tf.Tensor4D, b as tf.Tensor4D, [2, out, outW, cout], s, pad)
      const y = up(x, w)
      const probe = tensor(y.shape, 8)
      const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(up(a, b), probe)))([x, w])
      return [y, dx!, dw!].map((t) => t.dataSync().slice())
    })

  it.each<[string, number, number, number, "same" | "valid", number, number]>([
    ["stride 2, kernel 4, same", 4, 2, 5, "same", 3, 2],
    ["stride 2, kernel 4, valid", 4, 2, 5, "valid", 3, 2],
    ["stride 8, kernel 16, same", 16, 8, 3, "same", 2, 3],
    ["stride 8, kernel 16, valid", 16, 8, 3, "valid", 2, 1],
    ["stride 2, kernel 3 (kernel not a multiple of the stride)", 3, 2, 5, "same", 2, 2]
  ])("%s: output, input gradient and filter gradient", async (_, k, s, size, pad, cin, cout) => {
    const { cpu, wasm } = await onBoth(transposeGrads(k, s, size, pad, cin, cout))
    expectClose(cpu, wasm)
  })
})

describe("planAxis", () => {
  it("uses one phase and no interleaving for stride 1 'same'", () => {
    // 3x3 'same': padding 1 before; the convolution pads the gradient by 1 on both sides.
    expect(planAxis(128, 128, 3, 1, 1)).toEqual({ stride: 1, kernel: 3, taps: 3, count: 128, before: 1, after: 1, offset: 0 })
  })

  it("splits stride 8, kernel 16 into 2-tap phases", () => {
    const p = planAxis(128, 16, 16, 8, 4)
    expect(p.taps).toBe(2)
    expect(p.count * p.stride).toBeGreaterThanOrEqual(128 + p.offset)
    expect(p.offset).toBe(4)
  })
})

describe("the two filter-gradient methods", () => {
  it("agree for stride 1 (products on large maps, the dilated convolution elsewhere)", async () => {
    expect(2 * 42 * 38).toBeGreaterThanOrEqual(MIN_ROWS_FOR_PRODUCTS) // the "large enough" cases above
    expect(2 * 11 * 13).toBeLessThan(MIN_ROWS_FOR_PRODUCTS)
    await tf.setBackend("wasm")
    const backend = asWasm(tf.backend())
    for (const pad of ["same", "valid"] as const) {
      const result = tf.tidy(() => {
        const x = tensor([3, 7, 9, 4], 1) as tf.Tensor4D
        const dy = tf.conv2d(x, tensor([3, 3, 4, 5], 2) as tf.Tensor4D, 1, pad)
        const info = tf.backend_util.computeConv2DInfo(x.shape, [3, 3, 4, 5], 1, 1, pad)
        const before = backend.numDataIds()
        const a = tf.engine().makeTensorFromTensorInfo(byShiftedProducts(backend, x, dy, info))
        const b = tf.engine().makeTensorFromTensorInfo(byDilatedConvolution(backend, x, dy, info))
        // Only the two results are new: every intermediate and view was released.
        expect(backend.numDataIds()).toBe(before + 2)
        return relativeError(a.dataSync(), b.dataSync())
      })
      expect(result).toBeLessThan(1e-5)
    }
    await tf.setBackend("cpu")
  })
})
