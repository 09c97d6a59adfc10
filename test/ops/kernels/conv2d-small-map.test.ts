import * as tf from "@tensorflow/tfjs"
import { afterEach, beforeAll, describe, expect, it } from "vitest"
import { suitsTaps, suitsTapsGemm } from "../../../src/ops/kernels/conv2d-small-map.ts"
import { useGemm } from "../../../src/ops/kernels/gemm-backend.ts"
import { relativeError } from "../../../src/ops/kernels/relative-error.ts"
import { onBoth, setUpBackends, tensor } from "./compare.ts"

beforeAll(setUpBackends)
afterEach(() => useGemm(true))

const info = (x: number[], w: number[], pad: "same" | "valid") =>
  tf.backend_util.computeConv2DInfo(x as [number, number, number, number], w as [number, number, number, number], 1, 1, pad, undefined, false, "channelsLast")

/**
 * y and dx of sum(conv2d(x, w) * probe), flattened; y is computed under the gradient tape, where
 * the per-tap forward runs (dw is not computed here: it is another kernel, and slow on cpu).
 */
const run = (xShape: number[], wShape: number[], pad: "same" | "valid") => () =>
  tf.tidy(() => {
    const x = tensor(xShape, 1) as tf.Tensor4D
    const w = tensor(wShape, 2) as tf.Tensor4D
    const probe = tensor(tf.conv2d(x, w, 1, pad).shape, 3)
    let y: tf.Tensor | undefined
    const dx = tf.grad((a: tf.Tensor) => {
      y = tf.keep(tf.conv2d(a as tf.Tensor4D, w, 1, pad))
      return tf.sum(tf.mul(y, probe))
    })(x)
    const values = Float32Array.from([...y!.dataSync(), ...dx.dataSync()])
    y!.dispose()
    return values
  })

/** y, dx and dw of sum(conv2d(x, w) * probe), flattened. */
const runWithFilterGrad = (xShape: number[], wShape: number[]) => () =>
  tf.tidy(() => {
    const x = tensor(xShape, 1) as tf.Tensor4D
    const w = tensor(wShape, 2) as tf.Tensor4D
    const probe = tensor(tf.conv2d(x, w, 1, "same").shape, 3)
    const y = tf.conv2d(x, w, 1, "same")
    const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, "same"), probe)))([x, w])
    return Float32Array.from([...y.dataSync(), ...dx!.dataSync(), ...dw!.dataSync()])
  })

describe("per-tap products on the fused multiply-add product (every fc6, inference too)", () => {
  it.each<[number[], number[]]>([
    [[4, 3, 3, 32], [7, 7, 32, 256]], // the demo's fine fc6
    [[2, 4, 4, 64], [7, 7, 64, 128]], // the coarse fc6 at 128x128 (fewer channels)
    [[3, 3, 3, 16], [7, 7, 16, 8]], // a batch whose pairs fill no whole row block
    [[1, 3, 5, 16], [7, 5, 16, 12]] // not square; 12 columns in blocks of 4
  ])("conv2d(%j, %j): y, dx and dw equal cpu's", async (x, w) => {
    expect(suitsTapsGemm(info(x, w, "same"))).toBe(true)
    const { cpu, wasm } = await onBoth(runWithFilterGrad(x, w))
    expect(relativeError(cpu, wasm)).toBeLessThan(1e-5)
  })

  it("needs whole row and column blocks: other channel counts keep the other paths", () => {
    expect(suitsTapsGemm(info([4, 3, 3, 3], [7, 7, 3, 8], "same"))).toBe(false)
    expect(suitsTapsGemm(info([4, 3, 3, 8], [7, 7, 8, 5], "same"))).toBe(false)
    expect(suitsTapsGemm(info([4, 16, 16, 128], [3, 3, 128, 128], "same"))).toBe(false)
  })
})

describe("large kernels on small maps (fc6) as per-tap products", () => {
  it.each<[number[], number[], "same" | "valid"]>([
    // Channels as at width 1/4 and above (per-tap blocks of at least MIN_TAP_WEIGHTS).
    [[1, 4, 4, 128], [7, 7, 128, 512], "same"], // fc6 of the coarse network at 128x128
    [[2, 3, 3, 256], [7, 7, 256, 256], "same"], // fc6 of the fine network on a 91x91 crop
    [[1, 3, 5, 257], [7, 5, 257, 256], "same"], // not square, odd sizes
    [[1, 6, 5, 256], [5, 5, 256, 256], "valid"]
  ])("conv2d(%j, %j, %s): y and dx equal cpu's (XNNPACK's products)", async (x, w, pad) => {
    expect(suitsTaps(info(x, w, pad))).toBe(pad === "same")
    useGemm(false)
    const { cpu, wasm } = await onBoth(run(x, w, pad))
    expect(relativeError(cpu, wasm)).toBeLessThan(1e-5)
  })

  it("leaves ordinary convolutions to XNNPACK: 3x3 on a large map, small filters, strides", () => {
    expect(suitsTaps(info([4, 3, 3, 32], [7, 7, 32, 256], "same"))).toBe(false) // the demo's fc6: repacking costs more
    expect(suitsTaps(info([4, 16, 16, 128], [3, 3, 128, 128], "same"))).toBe(false)
    expect(suitsTaps(info([128, 4, 4, 4], [4, 4, 4, 1024], "same"))).toBe(false) // fc6's filter gradient: 4 channels
    expect(suitsTaps(tf.backend_util.computeConv2DInfo([2, 4, 4, 256], [7, 7, 256, 256], 2, 1, "same", undefined, false, "channelsLast"))).toBe(false)
  })
})
