/**
 * Small computations that exercise each of rstn's wasm kernels through the public tfjs ops (and
 * their gradients), for comparing the wasm backend with the cpu reference: `rstn doctor` runs
 * them on both. Inputs are fixed functions of the index, so every run sees the same numbers.
 */
import * as tf from "@tensorflow/tfjs"
import { adamStep } from "./adam.ts"
import { batchNormTraining } from "./batch-norm.ts"

export interface KernelCase {
  /** The kernel the case is about. */
  readonly kernel: string
  /** What it computes, for the report. */
  readonly case: string
  /** Runs on the active backend; returns every value to compare. */
  readonly compute: () => Float32Array
}

/** A deterministic, sign-varying tensor of the given shape. */
const wave = (shape: ReadonlyArray<number>, phase: number): tf.Tensor =>
  tf.tidy(() => tf.sin(tf.add(tf.mul(tf.range(0, tf.util.sizeFromShape([...shape])), 0.37), phase)).reshape([...shape]))

const concatFlat = (ts: ReadonlyArray<tf.Tensor>): Float32Array => {
  const parts = ts.map((t) => t.dataSync() as Float32Array)
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

/** Gradients of sum(f(x, w) * probe) w.r.t. x and w, flattened together. */
const grads2 = (f: (x: tf.Tensor4D, w: tf.Tensor4D) => tf.Tensor, xShape: number[], wShape: number[]): Float32Array =>
  tf.tidy(() => {
    const x = wave(xShape, 0.1) as tf.Tensor4D
    const w = wave(wShape, 1.3) as tf.Tensor4D
    const probe = wave(f(x, w).shape, 2.7)
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(a as tf.Tensor4D, b as tf.Tensor4D), probe)))
    return concatFlat(g([x, w]))
  })

export const kernelCases: ReadonlyArray<KernelCase> = [
  {
    kernel: "Conv2DBackpropInput",
    case: "conv2d 3x3 same, dx and dw",
    compute: () => grads2((x, w) => tf.conv2d(x, w, 1, "same"), [2, 9, 10, 3], [3, 3, 3, 4])
  },
  {
    kernel: "Conv2DBackpropFilter",
    case: "conv2d 3x3 same on 40x40 (per-tap products), dx and dw",
    compute: () => grads2((x, w) => tf.conv2d(x, w, 1, "same"), [2, 40, 40, 3], [3, 3, 3, 4])
  },
  {
    kernel: "Conv2D",
    case: "conv2d 3x3 same, 20 -> 24 channels on 9x7 (Winograd F(2x2, 3x3)), dx and dw",
    compute: () => grads2((x, w) => tf.conv2d(x, w, 1, "same"), [2, 9, 7, 20], [3, 3, 20, 24])
  },
  {
    kernel: "Conv2DBackpropFilter",
    case: "conv2d 7x7 valid on 12x11 (dilated convolution), dx and dw",
    compute: () => grads2((x, w) => tf.conv2d(x, w, 1, "valid"), [1, 12, 11, 3], [7, 7, 3, 2])
  },
  {
    kernel: "Conv2DBackpropInput",
    case: "conv2dTranspose 16x16 stride 8, y, dx and dw",
    compute: () =>
      tf.tidy(() => {
        const up = (x: tf.Tensor4D, w: tf.Tensor4D) => tf.conv2dTranspose(x, w, [1, 24, 32, 2], 8, "same")
        const y = up(wave([1, 3, 4, 3], 0.5) as tf.Tensor4D, wave([16, 16, 2, 3], 0.9) as tf.Tensor4D)
        return concatFlat([y, tf.tensor(grads2(up, [1, 3, 4, 3], [16, 16, 2, 3]))])
      })
  },
  {
    kernel: "Tile",
    case: "batch-norm gradient (tiles 1/sqrt(var) over the batch)",
    compute: () =>
      tf.tidy(() => {
        const x = wave([2, 5, 6, 4], 0.2)
        const g = tf.grad((a: tf.Tensor) => {
          const { mean, variance } = tf.moments(a, [0, 1, 2])
          return tf.sum(tf.square(tf.batchNorm(a, mean, variance, tf.zeros([4]), tf.ones([4]), 1e-5)).mul(wave([2, 5, 6, 4], 1)))
        })
        return concatFlat([g(x), tf.tile(wave([1, 1, 1, 4], 0), [2, 3, 5, 1])])
      })
  },
  {
    kernel: "Conv2D",
    case: "fc6 7x7 on 4x4 under a gradient tape (per-tap products), y and dx",
    compute: () =>
      tf.tidy(() => {
        const w = tf.mul(wave([7, 7, 128, 512], 0.3), 0.05) as tf.Tensor4D
        let y: tf.Tensor | undefined
        const dx = tf.grad((a: tf.Tensor) => {
          y = tf.keep(tf.conv2d(a as tf.Tensor4D, w, 1, "same"))
          return tf.sum(tf.mul(y, wave([1, 4, 4, 512], 1.1)))
        })(wave([1, 4, 4, 128], 0.7))
        const out = concatFlat([y!, dx])
        y!.dispose()
        return out
      })
  },
  {
    kernel: "Slice",
    case: "crop of an NHWC map",
    compute: () => tf.tidy(() => concatFlat([tf.slice(wave([2, 9, 10, 3], 0.6), [0, 2, 3, 0], [-1, 5, 4, -1])]))
  },
  {
    kernel: "RstnBatchNorm",
    case: "batch norm forward and gradient, 16 channels (SIMD on wasm)",
    compute: () =>
      tf.tidy(() => {
        const x = tf.add(tf.mul(wave([2, 6, 5, 16], 0.8), 2), 0.5)
        const scale = tf.add(wave([16], 1.7), 1.5)
        const f = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => batchNormTraining(a, g, b, 1e-5)
        const probe = wave([2, 6, 5, 16], 2.1)
        return concatFlat([f(x, scale, tf.zeros([16])), ...tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(a, g, b), probe)))([x, scale, tf.zeros([16])])])
      })
  },
  {
    kernel: "RstnAdam",
    case: "two fused Adam updates with decay (SIMD on wasm)",
    compute: () =>
      tf.tidy(() => {
        const attrs = (t: number) => ({ beta1: 0.9, beta2: 0.999, epsilon: 1e-7, c1: 1 - 0.9 ** t, c2: 1 - 0.999 ** t, rate: 1e-3, decay: 0.01 })
        let state = [wave([3, 3, 5, 7], 0.2), tf.zeros([3, 3, 5, 7]), tf.zeros([3, 3, 5, 7])]
        for (const t of [1, 2]) state = adamStep(state[0]!, state[1]!, state[2]!, tf.mul(wave([3, 3, 5, 7], t), 0.1), attrs(t))
        return concatFlat(state)
      })
  },
  {
    kernel: "MaxPoolGrad",
    case: "maxPool 2x2 stride 2 valid and same",
    compute: () =>
      tf.tidy(() => {
        const x = tf.relu(wave([2, 7, 9, 3], 0.4)) // relu: ties at 0 test the first-maximum rule
        const f = (pad: "valid" | "same") => tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(a as tf.Tensor4D, 2, 2, pad), 1.5)))
        return concatFlat([f("valid")(x), f("same")(x)])
      })
  }
]
