/**
 * A small network made of every op the RSTN networks train through (src/ops/nets): pad-100 style
 * padding, 3x3/1x1 convolutions ('valid' and 'same'), batch norm from moments, a group-norm-like
 * reshape/transpose, relu, max pooling ('valid' and 'same'), conv2dTranspose upsampling (stride 2
 * trainable, stride 8 frozen), crops by slice, add/mul/sub/div, concat, sigmoid and the soft
 * Dice loss, then SGD-momentum and Adam updates. Forward and backward on wasm must match cpu.
 */
import * as tf from "@tensorflow/tfjs"
import { beforeAll, describe, expect, it } from "vitest"
import { relativeError } from "../../../src/ops/kernels/relative-error.ts"
import { onBoth, setUpBackends, tensor } from "./compare.ts"

beforeAll(setUpBackends)

const shapes: Record<string, number[]> = {
  conv1: [3, 3, 3, 8],
  conv2: [3, 3, 8, 8],
  score: [1, 1, 8, 2],
  up2: [4, 4, 2, 2],
  fuse: [1, 1, 5, 1],
  gamma: [8],
  beta: [8]
}

const makeWeights = (): Record<string, tf.Variable> =>
  tf.tidy(() =>
    Object.fromEntries(
    Object.entries(shapes).map(([name, shape], i) => [
      name,
      tf.variable(name === "gamma" ? tf.ones(shape) : tf.mul(tensor(shape, 10 + i), 0.4), true, `${name}${i}_${++made}`)
    ])
    )
  )

/** Variable names must be unique while alive; a counter keeps them deterministic. */
let made = 0

const model = (w: Record<string, tf.Variable>, x: tf.Tensor4D, label: tf.Tensor4D, up8: tf.Tensor4D): tf.Scalar => {
  const padded = tf.pad(x, [[0, 0], [4, 4], [4, 4], [0, 0]]) // 24 -> 32
  let h = tf.conv2d(padded, w.conv1 as tf.Tensor4D, 1, "valid") // 30
  const { mean, variance } = tf.moments(h, [0, 1, 2])
  h = tf.relu(tf.batchNorm(h, mean, variance, w.beta as tf.Tensor1D, w.gamma as tf.Tensor1D, 1e-5)) as tf.Tensor4D
  const half = tf.maxPool(h, 2, 2, "valid") // 15
  let g = tf.conv2d(half, w.conv2 as tf.Tensor4D, 1, "same")
  // Group norm over 2 groups of 4 channels, via reshape and a transpose round trip.
  const grouped = tf.transpose(tf.reshape(g, [2, 15, 15, 2, 4]), [0, 3, 1, 2, 4])
  const stats = tf.moments(grouped, [2, 3, 4], true)
  const normalised = tf.div(tf.sub(grouped, stats.mean), tf.sqrt(tf.add(stats.variance, 1e-5)))
  g = tf.reshape(tf.transpose(normalised, [0, 2, 3, 1, 4]), [2, 15, 15, 8]) as tf.Tensor4D
  g = tf.relu(g)
  const quarter = tf.maxPool(tf.maxPool(g, 2, 2, "same"), 2, 2, "valid") // 15 -> 8 -> 4
  const score = tf.conv2d(quarter, w.score as tf.Tensor4D, 1, "same")
  const coarse = tf.slice(tf.conv2dTranspose(score, up8, [2, 32, 32, 2], 8, "same"), [0, 4, 4, 0], [2, 24, 24, 2])
  const halfScore = tf.conv2d(half, w.score as tf.Tensor4D, 1, "same")
  const fine = tf.slice(tf.conv2dTranspose(halfScore, w.up2 as tf.Tensor4D, [2, 30, 30, 2], 2, "same"), [0, 3, 3, 0], [2, 24, 24, 2])
  const fused = tf.concat([tf.add(coarse, tf.mul(fine, 0.5)), x], 3) as tf.Tensor4D
  const p = tf.sigmoid(tf.conv2d(fused, w.fuse as tf.Tensor4D, 1, "same"))
  const inter = tf.sum(tf.mul(p, label))
  return tf.sub(1, tf.div(tf.mul(2, inter), tf.add(tf.add(tf.sum(p), tf.sum(label)), 1e-6))) as tf.Scalar
}

const inputs = () => ({
  x: tensor([2, 24, 24, 3], 1) as tf.Tensor4D,
  label: tf.cast(tf.greater(tensor([2, 24, 24, 1], 2), 0.3), "float32") as tf.Tensor4D,
  up8: tf.mul(tensor([16, 16, 2, 2], 3), 0.1) as tf.Tensor4D
})

describe("a small network trained on wasm matches cpu", () => {
  it("loss and every weight gradient", async () => {
    const { cpu, wasm } = await onBoth(() => {
      const w = makeWeights()
      const result = tf.tidy(() => {
        const { x, label, up8 } = inputs()
        const { value, grads } = tf.variableGrads(() => model(w, x, label, up8), Object.values(w))
        return [value.dataSync()[0]!, ...Object.keys(shapes).map((k) => grads[w[k]!.name]!.dataSync().slice())] as const
      })
      tf.dispose(Object.values(w))
      return result
    })
    expect(Math.abs(cpu[0] - wasm[0])).toBeLessThan(1e-5)
    expect(cpu[0]).toBeGreaterThan(0)
    for (let i = 1; i < cpu.length; i++) {
      const c = cpu[i] as Float32Array
      expect(c.some((v) => v !== 0)).toBe(true)
      expect(relativeError(c, wasm[i] as Float32Array)).toBeLessThan(1e-4)
    }
  })

  it.each([
    ["SGD with momentum", () => tf.train.momentum(0.05, 0.9)],
    ["Adam", () => tf.train.adam(0.01)]
  ])("three %s steps", async (_, makeOptimizer) => {
    const { cpu, wasm } = await onBoth(() => {
      const w = makeWeights()
      const optimizer = makeOptimizer()
      const losses: number[] = []
      tf.tidy(() => {
        const { x, label, up8 } = inputs()
        for (let i = 0; i < 3; i++) {
          const loss = optimizer.minimize(() => model(w, x, label, up8), true, Object.values(w))!
          losses.push(loss.dataSync()[0]!)
        }
      })
      const weights = Object.keys(shapes).map((k) => w[k]!.dataSync().slice())
      optimizer.dispose()
      // tfjs 4.22's MomentumOptimizer.dispose skips SGDOptimizer's, leaking its learning-rate scalar.
      if (optimizer.getClassName() === "Momentum") (optimizer as unknown as { c: tf.Tensor }).c.dispose()
      tf.dispose(Object.values(w))
      return { losses, weights }
    })
    expect(wasm.losses[2]!).toBeLessThan(wasm.losses[0]!)
    wasm.losses.forEach((l, i) => expect(Math.abs(l - cpu.losses[i]!)).toBeLessThan(1e-4))
    wasm.weights.forEach((wv, i) => expect(relativeError(wv, cpu.weights[i]!)).toBeLessThan(1e-4))
  })
})
