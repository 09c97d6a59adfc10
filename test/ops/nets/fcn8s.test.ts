import * as tf from "@tensorflow/tfjs"
import { beforeAll, describe, expect, it } from "vitest"
import { initBackend } from "../../../src/runtime/backend.ts"
import { bilinearKernel } from "../../../src/ops/nets/init.ts"
import {
  createFcn8s,
  fcn8sForward,
  fcn8sParameterCount,
  referenceFcn8s,
  type Fcn8sConfig
} from "../../../src/ops/nets/fcn8s.ts"
import { disposeParams, parameterCount } from "../../../src/ops/nets/param.ts"

beforeAll(async () => {
  await initBackend("cpu")
})

const small: Fcn8sConfig = { ...referenceFcn8s, width: 1 / 16, norm: "none", dropout: 0 }

describe("FCN-8s parameter count", () => {
  it("matches FCN-8s with 3 output channels at width 1: 134,277,737", () => {
    const conv = (k: number, cin: number, cout: number) => k * k * cin * cout + cout
    const vgg =
      conv(3, 3, 64) + conv(3, 64, 64) +
      conv(3, 64, 128) + conv(3, 128, 128) +
      conv(3, 128, 256) + 2 * conv(3, 256, 256) +
      conv(3, 256, 512) + 2 * conv(3, 512, 512) +
      3 * conv(3, 512, 512)
    expect(vgg).toBe(14_714_688) // VGG-16's convolutional part
    const fc = conv(7, 512, 4096) + conv(1, 4096, 4096)
    const scores = conv(1, 4096, 3) + conv(1, 512, 3) + conv(1, 256, 3)
    const upsampling = (4 * 4 + 4 * 4 + 16 * 16) * 3 * 3
    expect(vgg + fc + scores + upsampling).toBe(134_277_737)
    expect(fcn8sParameterCount(referenceFcn8s)).toBe(134_277_737)
  })

  it.each([
    ["width 1/16", small],
    ["width 1/8, batch norm", { ...small, width: 1 / 8, norm: "batch" as const }],
    ["width 1/16, group norm, 4 blocks", { ...small, norm: "group" as const, blocks: 4 }],
    ["width 1/16, 3 blocks, learned upsampling", { ...small, blocks: 3, learnUpsampling: true }]
  ])("a built network has exactly the formula's count, under unique names (%s)", (_, config) => {
    const net = createFcn8s("coarse", config, 1)
    expect(parameterCount(net.params)).toBe(fcn8sParameterCount(config))
    expect(new Set(net.params.map((p) => p.name)).size).toBe(net.params.length)
    disposeParams(net.params)
  })
})

describe("FCN-8s forward", () => {
  it.each([
    [1, 33, 47],
    [2, 64, 64],
    [1, 5, 7],
    [1, 40, 96]
  ])("outputs logits at input resolution for %ix%ix%i inputs", (n, h, w) => {
    const net = createFcn8s("coarse", small, 3)
    const before = tf.memory().numTensors
    const out = tf.tidy(() => fcn8sForward(net, tf.randomUniform([n, h, w, 3], 0, 1, "float32", 5) as tf.Tensor4D, { training: false }))
    expect(out.shape).toEqual([n, h, w, 3])
    expect(Array.from(out.dataSync()).every(Number.isFinite)).toBe(true)
    out.dispose()
    expect(tf.memory().numTensors).toBe(before)
    disposeParams(net.params)
  })

  it("initialises deterministically from the seed", () => {
    const a = createFcn8s("fine", small, 42)
    const b = createFcn8s("fine", small, 42)
    const c = createFcn8s("fine", small, 43)
    const values = (p: (typeof a.params)[number]) => Array.from(p.variable.dataSync())
    expect(a.params.map((p) => p.name)).toEqual(b.params.map((p) => p.name))
    a.params.forEach((p, i) => expect(values(p)).toEqual(values(b.params[i]!)))
    expect(values(a.params[0]!)).not.toEqual(values(c.params[0]!))
    for (const n of [a, b, c]) disposeParams(n.params)
  })

  it("names parameters by stable paths and freezes the bilinear upsampling by default", () => {
    const net = createFcn8s("coarse", small, 1)
    const names = net.params.map((p) => p.name)
    expect(names).toContain("coarse/conv1_1/kernel")
    expect(names).toContain("coarse/conv5_3/bias")
    expect(names).toContain("coarse/fc6/kernel")
    expect(names).toContain("coarse/score_pool4/kernel")
    expect(names).toContain("coarse/score_pool3/kernel")
    expect(names).toContain("coarse/upscore8/kernel")
    expect(net.params.filter((p) => !p.trainable).map((p) => p.name)).toEqual([
      "coarse/upscore2/kernel",
      "coarse/upscore_pool4/kernel",
      "coarse/upscore8/kernel"
    ])
    expect(net.params.find((p) => p.name === "coarse/fc6/kernel")!.variable.shape).toEqual([7, 7, 32, 256])
    disposeParams(net.params)
  })

  it("dropout is drawn from the given stream and only in training", async () => {
    const { Rng } = await import("../../../src/ops/random.ts")
    const net = createFcn8s("coarse", { ...small, dropout: 0.5 }, 1)
    const x = tf.randomUniform([1, 32, 32, 3], 0, 1, "float32", 1) as tf.Tensor4D
    const run = (training: boolean, seed: number) =>
      tf.tidy(() => Array.from(fcn8sForward(net, x, { training, dropoutRng: Rng.derive(seed, "d") }).dataSync()))
    expect(run(false, 1)).toEqual(run(false, 2))
    expect(run(true, 1)).toEqual(run(true, 1))
    expect(run(true, 1)).not.toEqual(run(true, 2))
    expect(run(true, 1)).not.toEqual(run(false, 1))
    x.dispose()
    disposeParams(net.params)
  })
})

describe("bilinear upsampling kernels", () => {
  it.each([2, 8])("interpolate a linear ramp exactly away from the border (stride %i)", (stride) => {
    const size = 2 * stride
    const k = tf.tensor4d(bilinearKernel(size, 1), [size, size, 1, 1])
    const n = 6
    const ramp = tf.tensor4d(Array.from({ length: n * n }, (_, i) => i % n), [1, n, n, 1])
    const up = tf.conv2dTranspose(ramp, k, [1, n * stride, n * stride, 1], stride, "same")
    const v = up.dataSync()
    const W = n * stride
    // output column j sits at input coordinate (j + 0.5) / stride - 0.5 (align_corners = false)
    for (let j = stride; j < W - stride; j++) {
      const expected = (j + 0.5) / stride - 0.5
      expect(v[(W / 2) * W + j]).toBeCloseTo(expected, 5)
    }
    tf.dispose([k, ramp, up])
  })
})
