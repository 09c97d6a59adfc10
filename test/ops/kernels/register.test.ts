import * as tf from "@tensorflow/tfjs"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  registerWasmKernels,
  restoreStockWasmKernels,
  wasmKernelNames,
  wasmKernelsRegistered
} from "../../../src/ops/kernels/register.ts"
import { relativeError } from "../../../src/ops/kernels/relative-error.ts"
import { setUpBackends, tensor } from "./compare.ts"

beforeAll(setUpBackends)
afterAll(registerWasmKernels)

const step = () =>
  tf.tidy(() => {
    const x = tensor([1, 8, 8, 3], 1) as tf.Tensor4D
    const w = tensor([3, 3, 3, 4], 2) as tf.Tensor4D
    return tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, "same"))))([x, w])
      .map((t) => t.dataSync().slice())
  })

describe("registering the wasm kernels", () => {
  it("covers the kernels training needs and is idempotent", async () => {
    expect(wasmKernelNames).toEqual(["Conv2DBackpropInput", "Conv2DBackpropFilter", "Tile", "MaxPoolGrad", "Identity", "Cast", "Conv2D", "Slice"])
    registerWasmKernels()
    const configs = wasmKernelNames.map((n) => tf.getKernel(n, "wasm"))
    registerWasmKernels()
    expect(wasmKernelNames.map((n) => tf.getKernel(n, "wasm"))).toEqual(configs)
    expect(wasmKernelsRegistered()).toBe(true)
  })

  it("restores the stock kernels, which cannot train a convolution, and registers ours again", async () => {
    await tf.setBackend("wasm")
    const ours = step()
    restoreStockWasmKernels()
    expect(wasmKernelsRegistered()).toBe(false)
    expect(tf.getKernel("Conv2DBackpropFilter", "wasm")).toBeUndefined()
    expect(step).toThrow(/Conv2DBackpropFilter' not registered/)
    // The stock Conv2DBackpropInput still works (its setup ran when it was put back).
    const dx = tf.tidy(() =>
      tf.conv2dTranspose(tensor([1, 8, 8, 4], 3) as tf.Tensor4D, tensor([3, 3, 3, 4], 2) as tf.Tensor4D, [1, 8, 8, 3], 1, "same").dataSync().slice()
    )
    registerWasmKernels()
    const dxOurs = tf.tidy(() =>
      tf.conv2dTranspose(tensor([1, 8, 8, 4], 3) as tf.Tensor4D, tensor([3, 3, 3, 4], 2) as tf.Tensor4D, [1, 8, 8, 3], 1, "same").dataSync().slice()
    )
    expect(relativeError(dx, dxOurs)).toBeLessThan(1e-5)
    const again = step()
    again.forEach((g, i) => expect(relativeError(g, ours[i]!)).toBe(0))
    await tf.setBackend("cpu")
  })
})
