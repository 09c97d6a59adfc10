import * as tf from "@tensorflow/tfjs"
import { beforeAll, describe, expect, it } from "vitest"
import { suitsTaps } from "../../../src/ops/kernels/conv2d-small-map.ts"
import { relativeError } from "../../../src/ops/kernels/relative-error.ts"
import { onBoth, setUpBackends, tensor } from "./compare.ts"

beforeAll(setUpBackends)

const info = (x: number[], w: number[], pad: "same" | "valid") =>
  tf.backend_util.computeConv2DInfo(x as [number, number, number, number], w as [number, number, number, number], 1, 1, pad, undefined, false, "channelsLast")

/** y, dx and dw of sum(conv2d(x, w) * probe), flattened. */
const run = (xShape: number[], wShape: number[], pad: "same" | "valid") => () =>
  tf.tidy(() => {
    const x = tensor(xShape, 1) as tf.Tensor4D
    const w = tensor(wShape, 2) as tf.Tensor4D
    const y = tf.conv2d(x, w, 1, pad)
    const probe = tensor(y.shape, 3)
    const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, pad), probe)))([x, w])
    return Float32Array.from([...y.dataSync(), ...dx!.dataSync(), ...dw!.dataSync()])
  })

describe("large kernels on small maps (fc6) as per-tap products", () => {
  it.each<[number[], number[], "same" | "valid"]>([
    [[2, 4, 4, 40], [7, 7, 40, 48], "same"], // fc6 of the coarse network at 128x128
    [[3, 3, 3, 32], [7, 7, 32, 36], "same"], // fc6 of the fine network on a 91x91 crop
    [[1, 3, 5, 33], [7, 5, 33, 32], "same"], // not square, odd sizes
    [[1, 6, 5, 32], [5, 5, 32, 32], "valid"]
  ])("conv2d(%j, %j, %s): y, dx and dw equal cpu's", async (x, w, pad) => {
    expect(suitsTaps(info(x, w, pad))).toBe(pad === "same")
    const { cpu, wasm } = await onBoth(run(x, w, pad))
    expect(relativeError(cpu, wasm)).toBeLessThan(1e-5)
  })

  it("leaves ordinary convolutions to XNNPACK: 3x3 on a large map, few channels, strides", () => {
    expect(suitsTaps(info([4, 16, 16, 128], [3, 3, 128, 128], "same"))).toBe(false)
    expect(suitsTaps(info([128, 4, 4, 4], [4, 4, 4, 1024], "same"))).toBe(false) // fc6's filter gradient: 4 channels
    expect(suitsTaps(tf.backend_util.computeConv2DInfo([2, 4, 4, 64], [7, 7, 64, 64], 2, 1, "same", undefined, false, "channelsLast"))).toBe(false)
  })
})
