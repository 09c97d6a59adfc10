import * as tf from "@tensorflow/tfjs"
import { afterEach, beforeAll, describe, expect, it } from "vitest"
import { columnBlock } from "../../../src/ops/kernels/conv2d-gemm.ts"
import { gemmOf, useGemm } from "../../../src/ops/kernels/gemm-backend.ts"
import { relativeError } from "../../../src/ops/kernels/relative-error.ts"
import { asWasm } from "../../../src/ops/kernels/wasm-kernel-utils.ts"
import { onBoth, setUpBackends, tensor } from "./compare.ts"

beforeAll(setUpBackends)
afterEach(() => useGemm(true))

type Pad = "same" | "valid" | [[number, number], [number, number], [number, number], [number, number]]

const forward = (x: number[], w: number[], pad: Pad) => () =>
  tf.tidy(() => tf.conv2d(tensor(x, 1) as tf.Tensor4D, tensor(w, 2) as tf.Tensor4D, 1, pad).dataSync().slice())

describe("stride-1 convolutions as one fused multiply-add product", () => {
  it("runs on this Node's single-threaded wasm backend (relaxed SIMD compiles)", async () => {
    await tf.setBackend("wasm")
    expect(gemmOf(asWasm(tf.backend()))).not.toBeNull()
    useGemm(false)
    expect(gemmOf(asWasm(tf.backend()))).toBeNull()
  })

  it("pads the output channels to a block of 4 or 8 columns", () => {
    expect([3, 4, 5, 8, 12, 16, 40].map((n) => columnBlock(n))).toEqual([
      { width: 4, padded: 4 }, { width: 4, padded: 4 }, { width: 4, padded: 8 }, { width: 8, padded: 8 },
      { width: 4, padded: 12 }, { width: 8, padded: 16 }, { width: 8, padded: 40 }
    ])
  })

  // every kernel size and padding the networks use, channel counts off the column blocks, maps
  // narrower than a row block, and batches (the grid's rows run across images)
  it.each<[string, number[], number[], Pad]>([
    ["3x3 same, 1 -> 3 channels", [1, 7, 9, 1], [3, 3, 1, 3], "same"],
    ["3x3 same, batch 3, 4 -> 16", [3, 12, 10, 4], [3, 3, 4, 16], "same"],
    ["3x3 valid, 5 -> 5", [2, 9, 11, 5], [3, 3, 5, 5], "valid"],
    ["1x1, 16 -> 40", [2, 6, 5, 16], [1, 1, 16, 40], "same"],
    ["1x1 over 9 pixels, 8 -> 6", [1, 3, 3, 8], [1, 1, 8, 6], "valid"],
    ["5x5 same on a 2x3 map", [2, 2, 3, 6], [5, 5, 6, 8], "same"],
    ["7x7 same on a 1x1 map", [1, 1, 1, 8], [7, 7, 8, 12], "same"],
    ["7x7 valid", [1, 9, 8, 3], [7, 7, 3, 4], "valid"],
    ["explicit padding", [2, 6, 7, 3], [3, 3, 3, 8], [[0, 0], [2, 0], [1, 3], [0, 0]]]
  ])("%s: equals cpu's, and XNNPACK's to float rounding", async (_, x, w, pad) => {
    const { cpu, wasm } = await onBoth(forward(x, w, pad))
    expect(wasm.length).toBe(cpu.length)
    expect(relativeError(cpu, wasm)).toBeLessThan(1e-5)
    useGemm(false)
    const stock = (await onBoth(forward(x, w, pad))).wasm
    expect(relativeError(stock, wasm)).toBeLessThan(1e-5)
  })
})
