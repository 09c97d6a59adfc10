import * as tf from "@tensorflow/tfjs"
import { beforeAll, describe, expect, it } from "vitest"
import { batchNormInference, batchNormTraining } from "../../../src/ops/kernels/batch-norm.ts"
import { relativeError } from "../../../src/ops/kernels/relative-error.ts"
import { onBoth, setUpBackends, tensor } from "./compare.ts"

beforeAll(setUpBackends)

const EPS = 1e-5
const SHAPE = [3, 5, 4, 6]

/** Batch norm as tfjs ops, the way src/ops/nets/layers.ts wrote it before the kernels. */
const chain = (x: tf.Tensor, scale: tf.Tensor, shift: tf.Tensor) => {
  const { mean, variance } = tf.moments(x, [0, 1, 2])
  return { y: tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, EPS))), scale), shift), mean, variance }
}

const fused = (x: tf.Tensor, scale: tf.Tensor, shift: tf.Tensor) => {
  let stats: tf.Tensor[] = []
  const y = batchNormTraining(x, scale, shift, EPS, (mean, variance) => (stats = [mean, variance]))
  // Kept by batchNormTraining for the caller: cloned into the tidy's scope, then released.
  const [mean, variance] = (stats as [tf.Tensor, tf.Tensor]).map((t) => tf.clone(t)) as [tf.Tensor, tf.Tensor]
  tf.dispose(stats)
  return { y, mean, variance }
}

/** y, mean, variance, then dx, dscale, dshift of sum(y * probe), all flattened. */
const everything = (bn: typeof chain) => () =>
  tf.tidy(() => {
    // Off-centre, scaled input: the variance is not ~1, the mean not ~0.
    const x = tf.add(tf.mul(tensor(SHAPE, 1), 3), 0.7)
    const scale = tf.add(tensor([6], 2), 1.5)
    const shift = tensor([6], 3)
    const probe = tensor(SHAPE, 4)
    const { y, mean, variance } = bn(x, scale, shift)
    const grads = tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(bn(a, g, b).y, probe)))([x, scale, shift])
    return [y, mean, variance, ...grads].map((t) => Float32Array.from(t.dataSync()))
  })

describe("fused batch norm", () => {
  it("gives the op chain's values and gradients on cpu and on wasm, and frees its intermediates", async () => {
    const reference = await onBoth(everything(chain))
    const ours = await onBoth(everything(fused))
    for (const got of [ours.cpu, ours.wasm]) {
      got.forEach((g, i) => expect(relativeError(reference.cpu[i]!, g), `output ${i}`).toBeLessThan(1e-5))
    }
  })

  it("inference with moving statistics equals the op chain", async () => {
    const run = (ours: boolean) => () =>
      tf.tidy(() => {
        const x = tf.add(tf.mul(tensor(SHAPE, 5), 2), -0.3)
        const [mean, variance, scale, shift] = [tensor([6], 6), tf.abs(tensor([6], 7)), tensor([6], 8), tensor([6], 9)]
        const y = ours
          ? batchNormInference(x, mean, variance, scale, shift, EPS)
          : tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, EPS))), scale), shift)
        return Float32Array.from(y.dataSync())
      })
    const reference = await onBoth(run(false))
    const ours = await onBoth(run(true))
    expect(relativeError(reference.cpu, ours.cpu)).toBeLessThan(1e-6)
    expect(relativeError(reference.cpu, ours.wasm)).toBeLessThan(1e-6)
  })
})
