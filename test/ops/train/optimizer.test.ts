import * as tf from "@tensorflow/tfjs"
import { beforeAll, describe, expect, it } from "vitest"
import { makeParam, type Param } from "../../../src/ops/nets/param.ts"
import { createOptimizer, releaseMultipliers, uniformMultipliers } from "../../../src/ops/train/optimizer.ts"
import { initBackend } from "../../../src/runtime/backend.ts"

beforeAll(async () => {
  await initBackend("cpu")
})

const params = (): Param[] => [
  makeParam("coarse/conv1_1/kernel", "coarse", "weight", [2], Float32Array.from([1, -2]), true),
  makeParam("coarse/conv1_1/bias", "coarse", "bias", [1], Float32Array.from([0.5]), true),
  makeParam("fine/conv1_1/kernel", "fine", "weight", [1], Float32Array.from([3]), true),
  makeParam("fine/conv1_1/bias", "fine", "bias", [1], Float32Array.from([-1]), true)
]
const grads = (ps: Param[], g: number[][]) => Object.fromEntries(ps.map((p, i) => [p.variable.name, tf.tensor(g[i]!)]))
const values = (ps: Param[]) => ps.map((p) => Array.from(p.variable.dataSync()))

describe("SGD with momentum (Caffe's rule)", () => {
  it("applies v = μv + lr·m·(g + wd·w), w -= v with the release's group multipliers", () => {
    const ps = params()
    const opt = createOptimizer({ kind: "sgd", lr: 0.1, momentum: 0.9, weightDecay: 0.01, multipliers: releaseMultipliers }, ps)
    const g = [[1, 1], [2], [-1], [0.5]]
    // hand computation, two steps with the same gradient
    const w = [[1, -2], [0.5], [3], [-1]]
    const mult = [1, 2, 10, 20]
    const decayed = [true, false, true, false]
    const v = w.map((a) => a.map(() => 0))
    for (let step = 0; step < 2; step++) {
      const gt = grads(ps, g)
      opt.apply(gt, 0.1)
      tf.dispose(Object.values(gt))
      w.forEach((a, i) =>
        a.forEach((wi, k) => {
          v[i]![k] = 0.9 * v[i]![k]! + 0.1 * mult[i]! * (g[i]![k]! + (decayed[i] ? 0.01 * wi : 0))
          a[k] = wi - v[i]![k]!
        })
      )
      values(ps).forEach((a, i) => a.forEach((x, k) => expect(x).toBeCloseTo(w[i]![k]!, 5)))
    }
    expect(opt.updates).toBe(2)
    opt.dispose()
    for (const p of ps) p.variable.dispose()
  })

  it("leaves parameters without a gradient untouched", () => {
    const ps = params()
    const opt = createOptimizer({ kind: "sgd", lr: 0.1, momentum: 0.9, weightDecay: 0.01, multipliers: uniformMultipliers }, ps)
    const g = { [ps[0]!.variable.name]: tf.tensor([1, 1]) }
    opt.apply(g, 0.1)
    expect(values(ps).slice(1)).toEqual([[0.5], [3], [-1]])
    tf.dispose(Object.values(g))
    opt.dispose()
    for (const p of ps) p.variable.dispose()
  })
})

describe("Adam", () => {
  it("applies bias-corrected moments and decoupled weight decay", () => {
    const ps = params().slice(0, 1)
    const cfg = { kind: "adam" as const, lr: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, weightDecay: 0.1, multipliers: uniformMultipliers }
    const opt = createOptimizer(cfg, ps)
    const gs = [[0.5, -1], [0.1, 2]]
    let w = [1, -2]
    let m = [0, 0]
    let v = [0, 0]
    gs.forEach((g, t) => {
      const gt = grads(ps, [g])
      opt.apply(gt, 0.01)
      tf.dispose(Object.values(gt))
      m = m.map((mi, k) => 0.9 * mi + 0.1 * g[k]!)
      v = v.map((vi, k) => 0.999 * vi + 0.001 * g[k]! ** 2)
      w = w.map((wi, k) => {
        const mh = m[k]! / (1 - 0.9 ** (t + 1))
        const vh = v[k]! / (1 - 0.999 ** (t + 1))
        return wi - 0.01 * (mh / (Math.sqrt(vh) + 1e-7) + 0.1 * wi)
      })
      values(ps)[0]!.forEach((x, k) => expect(x).toBeCloseTo(w[k]!, 5))
    })
    opt.dispose()
    ps[0]!.variable.dispose()
  })
})

describe("optimizer state", () => {
  it("round-trips through slots() and restore()", () => {
    const ps = params()
    const cfg = { kind: "adam" as const, lr: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, weightDecay: 0, multipliers: uniformMultipliers }
    const a = createOptimizer(cfg, ps)
    const g = grads(ps, [[1, 2], [3], [4], [5]])
    a.apply(g, 0.01)
    const slots = a.slots()
    expect(slots.map((s) => s.name)).toEqual([
      "optimizer/m/coarse/conv1_1/kernel",
      "optimizer/m/coarse/conv1_1/bias",
      "optimizer/m/fine/conv1_1/kernel",
      "optimizer/m/fine/conv1_1/bias",
      "optimizer/v/coarse/conv1_1/kernel",
      "optimizer/v/coarse/conv1_1/bias",
      "optimizer/v/fine/conv1_1/kernel",
      "optimizer/v/fine/conv1_1/bias"
    ])
    const b = createOptimizer(cfg, ps)
    b.restore(new Map(slots.map((s) => [s.name, s])), a.updates)
    expect(b.updates).toBe(1)
    expect(b.slots()).toEqual(slots)
    tf.dispose(Object.values(g))
    a.dispose()
    b.dispose()
    for (const p of ps) p.variable.dispose()
  })

  it("rejects nonsensical settings", () => {
    expect(() => createOptimizer({ kind: "sgd", lr: 0, momentum: 0.9, weightDecay: 0, multipliers: uniformMultipliers }, [])).toThrow(/lr/)
    expect(() => createOptimizer({ kind: "sgd", lr: 1, momentum: 1, weightDecay: 0, multipliers: uniformMultipliers }, [])).toThrow(/momentum/)
  })
})
