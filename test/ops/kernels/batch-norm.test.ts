import * as tf from "@tensorflow/tfjs"
import { beforeAll, describe, expect, it } from "vitest"
import { batchNormInference, batchNormTraining } from "../../../src/ops/kernels/batch-norm.ts"
import { batchNormSimdFor } from "../../../src/ops/kernels/batch-norm-simd.ts"
import { backendMemory } from "../../../src/ops/kernels/wasm-assembler.ts"
import { relativeError } from "../../../src/ops/kernels/relative-error.ts"
import { onBoth, setUpBackends, tensor } from "./compare.ts"

beforeAll(setUpBackends)

const EPS = 1e-5

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
const everything = (bn: typeof chain, shape: number[]) => () =>
  tf.tidy(() => {
    const c = shape[3]!
    // Off-centre, scaled input: the variance is not ~1, the mean not ~0.
    const x = tf.add(tf.mul(tensor(shape, 1), 3), 0.7)
    const scale = tf.add(tensor([c], 2), 1.5)
    const shift = tensor([c], 3)
    const probe = tensor(shape, 4)
    const { y, mean, variance } = bn(x, scale, shift)
    const grads = tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(bn(a, g, b).y, probe)))([x, scale, shift])
    return [y, mean, variance, ...grads].map((t) => Float32Array.from(t.dataSync()))
  })

describe("fused batch norm", () => {
  // 6 channels: the JavaScript loops on both backends; 4 and 16: WebAssembly SIMD on wasm.
  it.each([[[3, 5, 4, 6]], [[2, 7, 9, 4]], [[4, 16, 16, 16]]])("%j: gives the op chain's values and gradients on cpu and on wasm, and frees its intermediates", async (shape) => {
    const reference = await onBoth(everything(chain, shape))
    const ours = await onBoth(everything(fused, shape))
    for (const got of [ours.cpu, ours.wasm]) {
      got.forEach((g, i) => expect(relativeError(reference.cpu[i]!, g), `output ${i}`).toBeLessThan(1e-5))
    }
  })

  it.each([[[3, 5, 4, 6]], [[2, 6, 6, 8]]])("%j: inference with moving statistics equals the op chain", async (shape) => {
    const c = shape[3]!
    const run = (ours: boolean) => () =>
      tf.tidy(() => {
        const x = tf.add(tf.mul(tensor(shape, 5), 2), -0.3)
        const [mean, variance, scale, shift] = [tensor([c], 6), tf.abs(tensor([c], 7)), tensor([c], 8), tensor([c], 9)]
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

describe("the WebAssembly SIMD loops", () => {
  it("load on the wasm backend's memory and on a shared memory (the threaded build's)", async () => {
    await tf.setBackend("wasm")
    const memory = backendMemory((tf.backend() as unknown as { wasm: unknown }).wasm)
    expect(memory).toBeDefined()
    expect(batchNormSimdFor(memory!)).not.toBeNull()
    const { Memory } = (globalThis as unknown as { WebAssembly: { Memory: new (d: object) => { buffer: ArrayBufferLike } } }).WebAssembly
    expect(batchNormSimdFor(new Memory({ initial: 1, maximum: 65536, shared: true }))).not.toBeNull()
    await tf.setBackend("cpu")
  })
})
