import * as tf from "@tensorflow/tfjs"
import { beforeAll, describe, expect, it } from "vitest"
import { suitsTaps } from "../../../src/ops/kernels/conv2d-small-map.ts"
import { relativeError } from "../../../src/ops/kernels/relative-error.ts"
import { onBoth, setUpBackends, tensor } from "./compare.ts"

beforeAll(setUpBackends)

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

describe("large kernels on small maps (fc6) as per-tap products", () => {
  it.each<[number[], number[], "same" | "valid"]>([
    // Channels as at width 1/4 and above (per-tap blocks of at least MIN_TAP_WEIGHTS).
    [[1, 4, 4, 128], [7, 7, 128, 512], "same"], // fc6 of the coarse network at 128x128
    [[2, 3, 3, 256], [7, 7, 256, 256], "same"], // fc6 of the fine network on a 91x91 crop
    [[1, 3, 5, 257], [7, 5, 257, 256], "same"], // not square, odd sizes
    [[1, 6, 5, 256], [5, 5, 256, 256], "valid"]
  ])("conv2d(%j, %j, %s): y and dx equal cpu's", async (x, w, pad) => {
    expect(suitsTaps(info(x, w, pad))).toBe(pad === "same")
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
