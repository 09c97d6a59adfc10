/**
 * `Conv2DBackpropInput` for the wasm backend: the gradient of conv2d with respect to its input,
 * and the forward pass of conv2dTranspose (the FCN upsampling layers).
 *
 * The stock wasm kernel is a direct loop about 11x slower than the forward convolution
 * (design.md, "Engine"). This one runs a single forward convolution on the backend's XNNPACK
 * Conv2D: for stride s the output splits into s x s phases; phase r along an axis only meets
 * the filter taps r, r + s, r + 2s, ..., so each phase is a stride-1 convolution of the output
 * gradient with a spatially flipped, in/out-transposed sub-filter. The sub-filters of all phases
 * are stacked along the output channels (zero taps pad them to one size), so one convolution
 * computes every phase, and a final pass interleaves the phases into the input's rows and
 * columns. For stride 1 there is one phase and the result is the convolution itself.
 * A large kernel on a small map (fc6) goes to per-tap products instead (conv2d-small-map.ts).
 */
import * as tf from "@tensorflow/tfjs"
import {
  asWasm,
  conv2d,
  copyRun,
  free,
  heapF32,
  type Info,
  offsetOf,
  slice,
  transpose,
  zeros
} from "./wasm-kernel-utils.ts"
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm"
import { backpropInputByTaps, suitsTaps, suitsTapsGemm } from "./conv2d-small-map.ts"
import { gemmOf } from "./gemm-backend.ts"
import { pointwiseInputGrad, unpadded1x1 } from "./conv2d-gemm.ts"
import { GEMM_ROWS } from "./gemm-simd.ts"

/** How one spatial axis of the input gradient is computed from the output gradient. */
export interface AxisPlan {
  readonly stride: number
  readonly kernel: number
  /** Taps per phase: ceil(kernel / stride); phases with fewer real taps get zero taps. */
  readonly taps: number
  /** Phase-grid rows computed by the convolution (each holds `stride` input rows). */
  readonly count: number
  /** Padding of the output gradient before/after; negative means crop that many rows. */
  readonly before: number
  readonly after: number
  /** Index of input row 0 in the interleaved phase grid. */
  readonly offset: number
}

/**
 * Plans one axis. With t = i + padBefore for input row i, q = floor(t / s) and r = t mod s:
 * dx[i] = sum_j dy[q - j] * w[r + s j], a correlation of dy with the reversed taps of phase r.
 */
export const planAxis = (
  inSize: number,
  outSize: number,
  kernel: number,
  stride: number,
  padBefore: number
): AxisPlan => {
  const taps = Math.ceil(kernel / stride)
  const q0 = Math.floor(padBefore / stride)
  const q1 = Math.floor((padBefore + inSize - 1) / stride)
  const count = q1 - q0 + 1
  const before = taps - 1 - q0
  return { stride, kernel, taps, count, before, after: count + q0 - outSize, offset: padBefore - q0 * stride }
}

/**
 * Stacks the phase sub-filters: result[m_h, m_w, co, phase * inC + ci] =
 * filter[r_h + s_h (T_h - 1 - m_h), r_w + s_w (T_w - 1 - m_w), ci, co] (zero past the kernel).
 */
const phaseFilter = (backend: BackendWasm, filter: Info, h: AxisPlan, w: AxisPlan): Info => {
  const [kh, kw, inC, outC] = filter.shape as [number, number, number, number]
  const phases = h.stride * w.stride
  // [kh, kw, outC, inC]: one tap's (co, ci) block is then contiguous in the order the result needs.
  const swapped = transpose(backend, filter, [0, 1, 3, 2])
  const shape = [h.taps, w.taps, outC, phases * inC]
  const exact = h.taps * h.stride === kh && w.taps * w.stride === kw
  const out = exact ? backend.makeOutput(shape, "float32") : zeros(backend, shape)
  const mem = heapF32(backend)
  const src0 = offsetOf(backend, swapped)
  const dst0 = offsetOf(backend, out)
  const block = outC * inC
  for (let mh = 0; mh < h.taps; mh++) {
    for (let mw = 0; mw < w.taps; mw++) {
      for (let rh = 0; rh < h.stride; rh++) {
        const th = rh + h.stride * (h.taps - 1 - mh)
        if (th >= kh) continue
        for (let rw = 0; rw < w.stride; rw++) {
          const tw = rw + w.stride * (w.taps - 1 - mw)
          if (tw >= kw) continue
          const src = src0 + (th * kw + tw) * block
          const dst = dst0 + (mh * w.taps + mw) * block * phases + (rh * w.stride + rw) * inC
          if (phases === 1) mem.copyWithin(dst, src, src + block)
          else for (let co = 0; co < outC; co++) copyRun(mem, dst + co * phases * inC, src + co * inC, inC)
        }
      }
    }
  }
  free(backend, swapped)
  return out
}

/** A 1x1, stride-1, unpadded geometry whose input channels fill whole row blocks: conv2d-gemm.ts's pointwiseInputGrad. */
export const suitsPointwiseInputGrad = (info: tf.backend_util.Conv2DInfo): boolean =>
  unpadded1x1(info) && info.strideHeight === 1 && info.strideWidth === 1 && info.inChannels % GEMM_ROWS === 0

/** The input gradient [N, H, W, inC] of an NHWC conv2d with this geometry (dilation 1). */
export const backpropInput = (
  backend: BackendWasm,
  dy: Info,
  filter: Info,
  info: tf.backend_util.Conv2DInfo
): Info => {
  const gemm = gemmOf(backend)
  if (gemm !== null && suitsPointwiseInputGrad(info)) return pointwiseInputGrad(backend, gemm, dy, filter, info)
  const simd = suitsTapsGemm(info) ? gemm : null
  if (simd !== null || suitsTaps(info)) return backpropInputByTaps(backend, dy, filter, info, simd)
  const { batchSize: n, inHeight: height, inWidth: width, inChannels: inC, outHeight, outWidth } = info
  const h = planAxis(height, outHeight, info.filterHeight, info.strideHeight, info.padInfo.top)
  const w = planAxis(width, outWidth, info.filterWidth, info.strideWidth, info.padInfo.left)
  const cropTop = Math.max(0, -h.before)
  const cropLeft = Math.max(0, -w.before)
  const keptH = outHeight - cropTop - Math.max(0, -h.after)
  const keptW = outWidth - cropLeft - Math.max(0, -w.after)
  // Every output-gradient row lies outside the input's receptive field: the gradient is zero.
  if (keptH <= 0 || keptW <= 0) return zeros(backend, [n, height, width, inC])
  const cropped = keptH !== outHeight || keptW !== outWidth
  const source = cropped ? slice(backend, dy, [0, cropTop, cropLeft, 0], [n, keptH, keptW, dy.shape[3]!]) : dy
  const filters = phaseFilter(backend, filter, h, w)
  const grid = conv2d(backend, source, filters, [1, 1], [1, 1], [
    [0, 0],
    [Math.max(0, h.before), Math.max(0, h.after)],
    [Math.max(0, w.before), Math.max(0, w.after)],
    [0, 0]
  ])
  free(backend, filters, cropped ? source : undefined)
  const phases = h.stride * w.stride
  if (phases === 1 && h.offset === 0 && w.offset === 0 && h.count === height && w.count === width) return grid

  // Interleave: input pixel (i, j) is phase (ti mod s_h, tj mod s_w) of grid cell (ti / s_h, tj / s_w).
  const dx = backend.makeOutput([n, height, width, inC], "float32")
  const mem = heapF32(backend)
  const g0 = offsetOf(backend, grid)
  const d0 = offsetOf(backend, dx)
  const cellSize = phases * inC
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < height; i++) {
      const ti = i + h.offset
      const rowBase = g0 + (b * h.count + Math.floor(ti / h.stride)) * w.count * cellSize + (ti % h.stride) * w.stride * inC
      const dstRow = d0 + (b * height + i) * width * inC
      for (let j = 0; j < width; j++) {
        const tj = j + w.offset
        copyRun(mem, dstRow + j * inC, rowBase + Math.floor(tj / w.stride) * cellSize + (tj % w.stride) * inC, inC)
      }
    }
  }
  free(backend, grid)
  return dx
}

/** The kernel function; NCHW (which the networks never use) goes to the stock kernel. */
export const conv2dBackpropInputKernel =
  (stock: tf.KernelFunc | undefined): tf.KernelFunc =>
  (args) => {
    const backend = asWasm(args.backend)
    const { dy, filter } = args.inputs as { dy: Info; filter: Info }
    const attrs = args.attrs as unknown as tf.Conv2DBackpropInputAttrs
    if (attrs.dataFormat === "NCHW") {
      if (stock === undefined) throw new Error("Conv2DBackpropInput: NCHW is not supported on wasm")
      return stock(args)
    }
    const info = tf.backend_util.computeConv2DInfo(
      attrs.inputShape,
      filter.shape as [number, number, number, number],
      attrs.strides,
      1,
      attrs.pad,
      attrs.dimRoundingMode,
      false,
      "channelsLast"
    )
    return backpropInput(backend, dy, filter, info)
  }
