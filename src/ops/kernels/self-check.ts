/**
 * Small computations that exercise each of rstn's wasm kernels through the public tfjs ops (and
 * their gradients), for comparing the wasm backend with the cpu reference: `rstn doctor` runs
 * them on both. Inputs are fixed functions of the index, so every run sees the same numbers.
 */
import * as tf from "@tensorflow/tfjs"

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
