/**
 * Stride-1 convolutions whose kernel is large for their map, computed as one matrix product per
 * kernel tap over only the pixel pairs that tap connects: fc6 of the FCN (7x7, 'same') runs on
 * the 4x4 or 3x3 map left after five poolings, where two thirds or more of what XNNPACK's
 * convolution multiplies are padding zeros. On the width-1/4 RSTN, fc6's forward convolution and
 * input gradient were about a fifth of a training step.
 *
 * For tap (i, j), output pixel (oh, ow) reads input pixel (oh + i - top, ow + j - left); the
 * pixels where that lies inside the input form a rectangle. Gathering those input rows (Cin floats
 * each in NHWC) gives a [rows, Cin] matrix whose product with the tap's [Cin, Cout] block of the
 * filter (contiguous in HWIO: a view, no copy) is added to those output pixels. The input
 * gradient is the same walk with the roles swapped, against the filter transposed once to HWOI.
 * Products run on the backend's XNNPACK fully-connected path (BatchMatMul without transposes).
 * Used only where that pays: see MAX_USEFUL_FRACTION, MIN_TAP_WEIGHTS and conv2d.ts.
 */
import type * as tf from "@tensorflow/tfjs"
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm"
import { free, heapF32, type Info, offsetOf, releaseView, run, transpose, view, zeros } from "./wasm-kernel-utils.ts"

/** One tap and the rectangle of output pixels it connects to the input. */
interface Tap {
  readonly i: number
  readonly j: number
  readonly oh0: number
  readonly oh1: number
  readonly ow0: number
  readonly ow1: number
}

const tapsOf = (info: tf.backend_util.Conv2DInfo): Tap[] => {
  const { top, left } = info.padInfo
  const taps: Tap[] = []
  for (let i = 0; i < info.filterHeight; i++) {
    const oh0 = Math.max(0, top - i)
    const oh1 = Math.min(info.outHeight, info.inHeight + top - i)
    for (let j = 0; j < info.filterWidth; j++) {
      const ow0 = Math.max(0, left - j)
      const ow1 = Math.min(info.outWidth, info.inWidth + left - j)
      if (oh1 > oh0 && ow1 > ow0) taps.push({ i, j, oh0, oh1, ow0, ow1 })
    }
  }
  return taps
}

/** Use the per-tap products when they skip most of the work... */
export const MAX_USEFUL_FRACTION = 0.5
/**
 * ...and each tap's block of the filter is large: the products pack their weights on every
 * call, which only the saved arithmetic of a large fc6 repays. Measured in training: the
 * width-1/4 fc6 (128 x 1024 per tap) gains; the demo's width-1/16 fc6 (32 x 256) does not.
 */
export const MIN_TAP_WEIGHTS = 65536

/** True for a geometry this module computes faster than the backend's convolution. */
export const suitsTaps = (info: tf.backend_util.Conv2DInfo): boolean => {
  if (info.strideHeight !== 1 || info.strideWidth !== 1 || info.dilationHeight !== 1 || info.dilationWidth !== 1) return false
  if (info.inChannels * info.outChannels < MIN_TAP_WEIGHTS) return false
  const pairs = tapsOf(info).reduce((s, t) => s + (t.oh1 - t.oh0) * (t.ow1 - t.ow0), 0)
  return pairs < MAX_USEFUL_FRACTION * info.outHeight * info.outWidth * info.filterHeight * info.filterWidth
}

/**
 * Walks every tap: `from` rows (channels `fromC`) at the tap's source pixels are gathered, multiplied
 * by `weights(tap)` ([fromC, toC]) and added into `to` at the target pixels. `forward` says which
 * side of the pair is the output pixel: true = gather input pixels, add to output pixels.
 */
const walk = (
  backend: BackendWasm,
  info: tf.backend_util.Conv2DInfo,
  from: Info,
  to: Info,
  weights: Info,
  forward: boolean
): void => {
  const n = info.batchSize
  const { top, left } = info.padInfo
  const [fromH, fromW, fromC] = forward ? [info.inHeight, info.inWidth, info.inChannels] : [info.outHeight, info.outWidth, info.outChannels]
  const [toH, toW, toC] = forward ? [info.outHeight, info.outWidth, info.outChannels] : [info.inHeight, info.inWidth, info.inChannels]
  for (const t of tapsOf(info)) {
    const hs = t.oh1 - t.oh0
    const ws = t.ow1 - t.ow0
    const rows = n * hs * ws
    // Output pixel (oh, ow) pairs with input pixel (oh + di, ow + dj).
    const di = t.i - top
    const dj = t.j - left
    const [fromDh, fromDw, toDh, toDw] = forward ? [di, dj, 0, 0] : [0, 0, di, dj]
    const a = backend.makeOutput([1, rows, fromC], "float32")
    let mem = heapF32(backend)
    const a0 = offsetOf(backend, a)
    const f0 = offsetOf(backend, from)
    let r = 0
    for (let b = 0; b < n; b++) {
      for (let oh = t.oh0; oh < t.oh1; oh++) {
        const src = f0 + ((b * fromH + oh + fromDh) * fromW + t.ow0 + fromDw) * fromC
        mem.copyWithin(a0 + r * fromC, src, src + ws * fromC)
        r += ws
      }
    }
    const w = view(backend, weights, (t.i * info.filterWidth + t.j) * fromC * toC, [1, fromC, toC])
    const product = run(backend, "BatchMatMul", { a, b: w }, { transposeA: false, transposeB: false })
    releaseView(backend, w)
    free(backend, a)
    mem = heapF32(backend)
    const p0 = offsetOf(backend, product)
    const t0 = offsetOf(backend, to)
    r = 0
    for (let b = 0; b < n; b++) {
      for (let oh = t.oh0; oh < t.oh1; oh++) {
        const dst = t0 + ((b * toH + oh + toDh) * toW + t.ow0 + toDw) * toC
        const src = p0 + r * toC
        const len = ws * toC
        for (let k = 0; k < len; k++) mem[dst + k] = mem[dst + k]! + mem[src + k]!
        r += ws
      }
    }
    free(backend, product)
  }
}

/** y = conv2d(x, filter) for a geometry where `suitsTaps(info)`. */
export const forwardByTaps = (backend: BackendWasm, x: Info, filter: Info, info: tf.backend_util.Conv2DInfo): Info => {
  const y = zeros(backend, [info.batchSize, info.outHeight, info.outWidth, info.outChannels])
  walk(backend, info, x, y, filter, true)
  return y
}

/** dx of conv2d(x, filter) given dy, for a geometry where `suitsTaps(info)`. */
export const backpropInputByTaps = (backend: BackendWasm, dy: Info, filter: Info, info: tf.backend_util.Conv2DInfo): Info => {
  const dx = zeros(backend, [info.batchSize, info.inHeight, info.inWidth, info.inChannels])
  const swapped = transpose(backend, filter, [0, 1, 3, 2]) // HWOI: each tap's [Cout, Cin] block contiguous
  walk(backend, info, dy, dx, swapped, false)
  free(backend, swapped)
  return dx
}
