/**
 * `Conv2DBackpropFilter` for the wasm backend, which has none (training any convolution fails
 * there with "not registered"). It is the gradient of conv2d with respect to its filter, and of
 * conv2dTranspose with respect to its filter.
 *
 *   dW[i, j, ci, co] = sum over (n, oh, ow) of x[n, oh*s + i - padTop, ow*s + j - padLeft, ci] dy[n, oh, ow, co]
 *
 * Stride 1 (every convolution of the networks): one matrix product per tap on the backend's
 * XNNPACK fully-connected path, with no copy per tap. x is padded and stored channel-major as
 * rows of length L = N*Hp*Wp; dy is zero-padded to the same Hp x Wp grid. Tap (i, j) is then the
 * same matrix read from flat offset i*Wp + j: each row's shifted window is contiguous, and the
 * positions that wrap into the next row or image meet zeros in the padded dy. So
 * dW[i, j] = view(xT, i*Wp + j) [Cin, L] x dyP [L, Cout]. The row after the last channel is zero
 * (an extra padded channel) so the last window never reads past the tensor.
 *
 * 3x3 stride-1 geometries with enough channels take Winograd's transposed map instead
 * (conv2d-winograd.ts), and others on the fused multiply-add product (conv2d-gemm.ts).
 *
 * Other strides (conv2dTranspose's upsampling filters), and small maps where kh*kw separate
 * products cost more in per-call overhead than they compute (fc6: 7x7 taps over a 5x5 map): a
 * forward convolution in which the input channels play the batch, the batch plays the channels,
 * and dy is the filter, dilated by the stride.
 */
import * as tf from "@tensorflow/tfjs"
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm"
import {
  asWasm,
  conv2d,
  free,
  heapF32,
  type Info,
  offsetOf,
  releaseView,
  reshape,
  run,
  slice,
  transpose,
  view
} from "./wasm-kernel-utils.ts"
import { filterGradByGemm, paddedGrid, suitsGemm } from "./conv2d-gemm.ts"
import { gemmOf } from "./gemm-backend.ts"
import { filterGradByTaps, suitsTapsGemm } from "./conv2d-small-map.ts"
import { filterGradByWinograd, suitsWinogradFilterGrad } from "./conv2d-winograd.ts"

const pad4 = (backend: BackendWasm, x: Info, paddings: ReadonlyArray<readonly [number, number]>): Info =>
  run(backend, "PadV2", { x }, { paddings: paddings.map((p) => [...p]), constantValue: 0 })

/** Stride 1: one [Cin, L] x [L, Cout] product per tap over shifted views of the padded input. */
export const byShiftedProducts = (backend: BackendWasm, x: Info, dy: Info, info: tf.backend_util.Conv2DInfo): Info => {
  const { batchSize: n, inChannels: inC, outChannels: outC, outHeight, outWidth, filterHeight: kh, filterWidth: kw } = info
  const { top, bottom, left, right } = info.padInfo
  // For stride 1, Hp = H + top + bottom = Ho + kh - 1 (likewise for the width).
  const { hp, wp } = paddedGrid(info)
  const rows = n * hp * wp
  const padded = pad4(backend, x, [[0, 0], [top, bottom], [left, right], [0, 1]])
  const xt = transpose(backend, padded, [3, 0, 1, 2]) // [Cin + 1, N, Hp, Wp], last row zero
  free(backend, padded)
  const dyPadded = pad4(backend, dy, [[0, 0], [0, kh - 1], [0, kw - 1], [0, 0]])
  const dyRows = reshape(backend, dyPadded, [rows, outC])
  const dw = backend.makeOutput([kh, kw, inC, outC], "float32")
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const shifted = view(backend, xt, i * wp + j, [inC, rows])
      const tap = run(backend, "BatchMatMul", { a: shifted, b: dyRows }, { transposeA: false, transposeB: false })
      releaseView(backend, shifted)
      const mem = heapF32(backend)
      const src = offsetOf(backend, tap)
      mem.copyWithin(offsetOf(backend, dw) + (i * kw + j) * inC * outC, src, src + inC * outC)
      free(backend, tap)
    }
  }
  free(backend, xt, dyRows, dyPadded)
  return dw
}

/** Any stride: a convolution of the transposed input with the transposed, dilated output gradient. */
export const byDilatedConvolution = (backend: BackendWasm, x: Info, dy: Info, info: tf.backend_util.Conv2DInfo): Info => {
  const { inHeight: height, inWidth: width, outHeight, outWidth, filterHeight: kh, filterWidth: kw } = info
  const { strideHeight: sh, strideWidth: sw } = info
  const { top, left } = info.padInfo
  // Pad after so the dilated dy fits exactly kh x kw times; a negative value means trailing
  // input rows the forward convolution never read, which are cropped instead.
  const bottom = kh + (outHeight - 1) * sh - top - height
  const right = kw + (outWidth - 1) * sw - left - width
  const xt = transpose(backend, x, [3, 1, 2, 0]) // [Cin, H, W, N]
  const cropped = bottom < 0 || right < 0
  const input = cropped
    ? slice(backend, xt, [0, 0, 0, 0], [info.inChannels, height + Math.min(0, bottom), width + Math.min(0, right), info.batchSize])
    : xt
  const dyt = transpose(backend, dy, [1, 2, 0, 3]) // [Ho, Wo, N, Cout]
  const grid = conv2d(backend, input, dyt, [1, 1], [sh, sw], [
    [0, 0],
    [top, Math.max(0, bottom)],
    [left, Math.max(0, right)],
    [0, 0]
  ]) // [Cin, kh, kw, Cout]
  free(backend, xt, dyt, cropped ? input : undefined)
  const dw = transpose(backend, grid, [1, 2, 0, 3])
  free(backend, grid)
  return dw
}

/**
 * Below this many rows (N * Hp * Wp) per product, one dilated convolution beats kh*kw products
 * (measured: fc6 of the width-1/8 FCN, 2x5x5 maps, 7x7 taps: 25 ms vs 110 ms; a 2x160x160 map,
 * 3x3 taps: 4 ms vs 8 ms).
 */
export const MIN_ROWS_FOR_PRODUCTS = 2048

/** The filter gradient [kh, kw, inC, outC] of an NHWC conv2d with this geometry (dilation 1). */
export const backpropFilter = (backend: BackendWasm, x: Info, dy: Info, info: tf.backend_util.Conv2DInfo): Info => {
  const taps = suitsTapsGemm(info) ? gemmOf(backend) : null
  if (taps !== null) return filterGradByTaps(backend, taps, x, dy, info)
  const winograd = suitsWinogradFilterGrad(info) ? gemmOf(backend) : null
  if (winograd !== null) return filterGradByWinograd(backend, winograd, x, dy, info)
  const simd = suitsGemm(info) ? gemmOf(backend) : null
  if (simd !== null) return filterGradByGemm(backend, simd, x, dy, info)
  const { hp, wp } = paddedGrid(info)
  const rows = info.batchSize * hp * wp
  return info.strideHeight === 1 && info.strideWidth === 1 && rows >= MIN_ROWS_FOR_PRODUCTS
    ? byShiftedProducts(backend, x, dy, info)
    : byDilatedConvolution(backend, x, dy, info)
}

/** The kernel function; NCHW (which the networks never use) is rejected. */
export const conv2dBackpropFilterKernel: tf.KernelFunc = (args) => {
  const backend = asWasm(args.backend)
  const { x, dy } = args.inputs as { x: Info; dy: Info }
  const attrs = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs
  if (attrs.dataFormat === "NCHW") throw new Error("Conv2DBackpropFilter: NCHW is not supported on wasm; use NHWC")
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    "channelsLast"
  )
  return backpropFilter(backend, x, dy, info)
}
