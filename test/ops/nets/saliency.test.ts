import * as tf from "@tensorflow/tfjs"
import { beforeAll, describe, expect, it } from "vitest"
import { initBackend } from "../../../src/runtime/backend.ts"
import { createConv } from "../../../src/ops/nets/layers.ts"
import { disposeParams } from "../../../src/ops/nets/param.ts"
import { createSaliency, releaseSaliency, saliencyForward } from "../../../src/ops/nets/saliency.ts"

beforeAll(async () => {
  await initBackend("cpu")
})

const std = (v: ArrayLike<number>) => {
  let m = 0
  for (let i = 0; i < v.length; i++) m += v[i]!
  m /= v.length
  let s = 0
  for (let i = 0; i < v.length; i++) s += (v[i]! - m) ** 2
  return Math.sqrt(s / v.length)
}

describe("saliency transform", () => {
  it("is initialised as the release: 3x3 Xavier + bias 1, ReLU, 5x5 zeros + bias [1, 1.5, 2]", () => {
    const s = createSaliency(releaseSaliency, 9)
    expect(s.params.map((p) => [p.name, p.variable.shape])).toEqual([
      ["saliency/conv1/kernel", [3, 3, 3, 3]],
      ["saliency/conv1/bias", [3]],
      ["saliency/conv2/kernel", [5, 5, 3, 3]],
      ["saliency/conv2/bias", [3]]
    ])
    expect(Array.from(s.params[1]!.variable.dataSync())).toEqual([1, 1, 1])
    expect(Array.from(s.params[2]!.variable.dataSync()).every((v) => v === 0)).toBe(true)
    expect(Array.from(s.params[3]!.variable.dataSync())).toEqual([1, 1.5, 2])
    expect(std(s.params[0]!.variable.dataSync())).toBeGreaterThan(0.05)
    // with zero second-layer weights g(map) is the bias everywhere, whatever the map
    const g = tf.tidy(() => saliencyForward(s, tf.randomUniform([2, 9, 11, 3], 0, 1, "float32", 3) as tf.Tensor4D))
    expect(g.shape).toEqual([2, 9, 11, 3])
    const v = g.dataSync()
    for (let i = 0; i < v.length; i += 3) expect([v[i], v[i + 1], v[i + 2]]).toEqual([1, 1.5, 2])
    g.dispose()
    disposeParams(s.params)
  })

  it.each([1, 3, 5, 7])("a %ix%i layer preserves the map size", (k) => {
    const s = createSaliency({ channels: 3, layers: [{ kernel: k, activation: "none", init: { weights: "xavier-normal", bias: 0 } }] }, 1)
    const g = tf.tidy(() => saliencyForward(s, tf.ones([1, 13, 8, 3]) as tf.Tensor4D))
    expect(g.shape).toEqual([1, 13, 8, 3])
    g.dispose()
    disposeParams(s.params)
  })

  it("rejects even kernels and wrong bias lengths", () => {
    expect(() => createSaliency({ channels: 3, layers: [{ kernel: 4, activation: "none", init: { weights: "zeros", bias: 0 } }] }, 1)).toThrow(/odd/)
    expect(() => createSaliency({ channels: 3, layers: [{ kernel: 3, activation: "none", init: { weights: "zeros", bias: [1, 2] } }] }, 1)).toThrow(/bias/)
  })

  it("He and Xavier initialisers have the standard deviations they promise", () => {
    const he = createConv({ seed: 1, net: "coarse", path: "t/he", kernelSize: 3, inChannels: 32, outChannels: 64, weights: "he-normal", bias: 0, norm: "none" })
    const xa = createConv({ seed: 1, net: "coarse", path: "t/xa", kernelSize: 3, inChannels: 32, outChannels: 64, weights: "xavier-normal", bias: 0, norm: "none" })
    expect(std(he.kernel.variable.dataSync())).toBeCloseTo(Math.sqrt(2 / (9 * 32)), 2)
    expect(std(xa.kernel.variable.dataSync())).toBeCloseTo(Math.sqrt(2 / (9 * 32 + 9 * 64)), 2)
    disposeParams([he.kernel, he.bias!, xa.kernel, xa.bias!])
  })
})
