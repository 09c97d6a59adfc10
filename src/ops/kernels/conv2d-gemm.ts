/**
 * Stride-1 NHWC convolutions as one fused-multiply-add product (gemm-simd.ts) over shifted rows
 * of the padded input, with no im2col copy.
 *
 * The input is zero-padded to Hp x Wp = (Ho + kh - 1) x (Wo + kw - 1) per image and the images
 * stacked as rows of Cin floats. Output pixel (b, oh, ow) is computed at row q = (b·Hp + oh)·Wp +
 * ow of an output grid as wide as the padded input, and filter tap (i, j) reads input row
 * q + i·Wp + j: one constant offset per tap. So the whole convolution is
 *
 *   grid[q, co] = Σ_(i,j) Σ_ci padded[q + i·Wp + j, ci] · filter[i, j, ci, co]
 *
 * with the filter (HWIO) read as it is, one product per image (in the threaded build, the images'
 * rows are lanes that gemm-pool.ts spreads over the threads). The grid's rows outside the output
 * (the kw - 1 columns past each row's end) are computed and dropped: 1.5% of the work at
 * 128x128, at most a third (suitsGemm). Used for the forward convolutions
 * and, through conv2d-backprop-input.ts (which is made of forward convolutions), their input
 * gradients and the transposed convolutions.
 */
import type * as tf from "@tensorflow/tfjs"
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm"
import type { Gemm } from "./gemm-backend.ts"
import { type GemmCall, piecesPerUnit, splitCall } from "./gemm-pool.ts"
import { GEMM_ROWS } from "./gemm-simd.ts"
import { copyRun, free, heapF32, type Info, offsetOf } from "./wasm-kernel-utils.ts"

/**
 * Stride 1, no dilation, and a grid at most 1.5x as wide as the output: a large kernel on a small
 * map (fc6's 7x7 on 4x4, the filter gradients' convolutions with the output gradient as kernel)
 * would mostly compute rows it drops, and stays with XNNPACK or conv2d-small-map.ts.
 */
export const suitsGemm = (info: tf.backend_util.Conv2DInfo): boolean =>
  info.strideHeight === 1 && info.strideWidth === 1 && info.dilationHeight === 1 && info.dilationWidth === 1 &&
  2 * (info.filterWidth - 1) <= info.outWidth

/** Rows per chunk of the product: about 256 KB of input rows, which stay in the core's L2 cache. */
export const chunkRows = (inC: number): number => Math.max(GEMM_ROWS, Math.floor(65536 / inC / GEMM_ROWS) * GEMM_ROWS)

/** Columns per block and the padded column count for `n` output channels. */
export const columnBlock = (n: number): { readonly width: 4 | 8; readonly padded: number } => {
  const width = n % 8 === 0 || n > 32 ? 8 : 4
  return { width, padded: Math.ceil(n / width) * width }
}

/** An int32 table of (aOff, bOff) byte-offset pairs on the heap, for the product's taps. */
export const tapTable = (backend: BackendWasm, pairs: ReadonlyArray<readonly [number, number]>): Info => {
  const table = backend.makeOutput([pairs.length * 2], "int32")
  const at = offsetOf4(backend, table)
  const i32 = new Int32Array(heapF32(backend).buffer)
  pairs.forEach(([a, b], t) => {
    i32[at + 2 * t] = a
    i32[at + 2 * t + 1] = b
  })
  return table
}

/** Offset in 4-byte words of any 4-byte tensor's data (offsetOf checks for float32). */
export const offsetOf4 = (backend: BackendWasm, info: Info): number => {
  const data = backend.dataIdMap.get(info.dataId)
  if (data === undefined) throw new Error("tensor data is not on the wasm backend")
  return data.memoryOffset / 4
}

/** The filter as [kh·kw·Cin, padded] with zero columns past Cout (the filter itself when no padding is needed). */
const paddedFilter = (backend: BackendWasm, filter: Info, outC: number, padded: number): Info => {
  if (padded === outC) return filter
  const rows = filter.shape.slice(0, 3).reduce((a, b) => a * b, 1)
  const out = backend.makeOutput([rows, padded], "float32")
  const mem = heapF32(backend)
  const src = offsetOf(backend, filter)
  const dst = offsetOf(backend, out)
  mem.fill(0, dst, dst + rows * padded)
  for (let r = 0; r < rows; r++) copyRun(mem, dst + r * padded, src + r * outC, outC)
  return out
}

/**
 * The input zero-padded to the geometry's Hp x Wp grid per image, images stacked as rows of Cin
 * floats, with zero rows up to `rows` (reads past the last image's grid meet zeros).
 */
export const paddedInput = (backend: BackendWasm, x: Info, info: tf.backend_util.Conv2DInfo, rows: number): Info => {
  const { batchSize: n, inHeight: height, inWidth: width, inChannels: inC } = info
  const { top, left } = info.padInfo
  const hp = info.outHeight + info.filterHeight - 1
  const wp = info.outWidth + info.filterWidth - 1
  const padded = backend.makeOutput([rows, inC], "float32")
  const mem = heapF32(backend)
  const p0 = offsetOf(backend, padded)
  mem.fill(0, p0, p0 + rows * inC)
  // input rows and columns that land inside the grid (a 'valid' or cropping geometry reads fewer)
  const y0 = Math.max(0, -top)
  const y1 = Math.min(height, hp - top)
  const x0 = Math.max(0, -left)
  const x1 = Math.min(width, wp - left)
  const x0Off = offsetOf(backend, x)
  for (let b = 0; b < n; b++) {
    for (let y = y0; y < y1; y++) {
      const src = x0Off + ((b * height + y) * width + x0) * inC
      copyRun(mem, p0 + ((b * hp + y + top) * wp + x0 + left) * inC, src, (x1 - x0) * inC)
    }
  }
  return padded
}

/** The forward convolution [N, Ho, Wo, Cout] of an NHWC input with a stride-1 geometry. */
export const forwardByGemm = (
  backend: BackendWasm,
  gemm: Gemm,
  x: Info,
  filter: Info,
  info: tf.backend_util.Conv2DInfo
): Info => {
  const { batchSize: n, inChannels: inC, outChannels: outC } = info
  const { outHeight, outWidth, filterHeight: kh, filterWidth: kw } = info
  const hp = outHeight + kh - 1
  const wp = outWidth + kw - 1
  // one image's grid: its output rows at the padded width
  const rows = Math.ceil((outHeight * wp) / GEMM_ROWS) * GEMM_ROWS
  // the last image's last block reads up to the largest tap offset past its grid
  const paddedRows = (n - 1) * hp * wp + rows + (kh - 1) * wp + kw
  const cols = columnBlock(outC)

  const padded = paddedInput(backend, x, info, paddedRows)
  const grid = backend.makeOutput([n * rows, cols.padded], "float32")
  const weights = paddedFilter(backend, filter, outC, cols.padded)
  const taps: Array<readonly [number, number]> = []
  for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) taps.push([(i * wp + j) * inC * 4, (i * kw + j) * inC * cols.padded * 4])
  const table = tapTable(backend, taps)
  const out = backend.makeOutput([n, outHeight, outWidth, outC], "float32")

  const mem = heapF32(backend)
  const p0 = offsetOf(backend, padded)
  const g0 = offsetOf(backend, grid)
  // one dispatch: each image's rows in `parts` lanes
  const parts = piecesPerUnit(n, gemm.threads)
  const calls: GemmCall[] = []
  for (let b = 0; b < n; b++) {
    const image: GemmCall = {
      lane: 0, width: cols.width,
      a: (p0 + b * hp * wp * inC) * 4, b: offsetOf(backend, weights) * 4, c: (g0 + b * rows * cols.padded) * 4,
      m: rows, n: cols.padded, k: inC,
      lda: inC * 4, ldb: cols.padded * 4, ldc: cols.padded * 4, aStep: 4,
      taps: offsetOf4(backend, table) * 4, nTaps: taps.length, chunk: chunkRows(inC), add: 0
    }
    calls.push(...splitCall(image, parts, b * parts))
  }
  gemm.run(calls)

  const o0 = offsetOf(backend, out)
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < outHeight; y++) {
      const src = g0 + (b * rows + y * wp) * cols.padded
      const dst = o0 + (b * outHeight + y) * outWidth * outC
      if (cols.padded === outC) copyRun(mem, dst, src, outWidth * outC)
      else for (let xx = 0; xx < outWidth; xx++) copyRun(mem, dst + xx * outC, src + xx * cols.padded, outC)
    }
  }
  free(backend, padded, grid, table, weights === filter ? undefined : weights)
  return out
}

/**
 * The filter gradient [kh, kw, Cin, Cout] of a stride-1 convolution: per tap (i, j),
 *
 *   dW[i, j, ci, co] = Σ_q padded[q + i·Wp + j, ci] · dyGrid[q, co]
 *
 * with the output gradient placed on the same grid as the forward pass's output (rows past each
 * output row and image zero), so positions that wrap into the next row or image contribute
 * nothing. The product's rows are the input channels (A read with a 4-byte row stride and the
 * pixel as k) and its k runs over the whole grid, in chunks that stay in cache across the taps,
 * each adding to the sums of the chunks before.
 */
export const filterGradByGemm = (
  backend: BackendWasm,
  gemm: Gemm,
  x: Info,
  dy: Info,
  info: tf.backend_util.Conv2DInfo
): Info => {
  const { batchSize: n, inChannels: inC, outChannels: outC } = info
  const { outHeight, outWidth, filterHeight: kh, filterWidth: kw } = info
  const hp = outHeight + kh - 1
  const wp = outWidth + kw - 1
  const grid = n * hp * wp
  const rows = Math.ceil(inC / GEMM_ROWS) * GEMM_ROWS
  const cols = columnBlock(outC)
  // the last tap reads (kh-1)·Wp + kw-1 rows past the grid, and rows past Cin read into the next pixel
  const padded = paddedInput(backend, x, info, grid + (kh - 1) * wp + kw)
  const dyGrid = backend.makeOutput([grid, cols.padded], "float32")
  const sums = backend.makeOutput([kh * kw, rows, cols.padded], "float32")
  const taps: Array<readonly [number, number]> = []
  for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) taps.push([(i * wp + j) * inC * 4, 0])
  const table = tapTable(backend, taps)
  const dw = backend.makeOutput([kh, kw, inC, outC], "float32")

  const mem = heapF32(backend)
  const g0 = offsetOf(backend, dyGrid)
  mem.fill(0, g0, g0 + grid * cols.padded)
  const d0 = offsetOf(backend, dy)
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < outHeight; y++) {
      const src = d0 + (b * outHeight + y) * outWidth * outC
      const dst = g0 + (b * hp + y) * wp * cols.padded
      if (cols.padded === outC) copyRun(mem, dst, src, outWidth * outC)
      else for (let xx = 0; xx < outWidth; xx++) copyRun(mem, dst + xx * cols.padded, src + xx * outC, outC)
    }
  }

  const p0 = offsetOf(backend, padded)
  const s0 = offsetOf(backend, sums)
  const t0 = offsetOf4(backend, table)
  // about 256 KB of A and B rows per chunk
  const chunk = Math.max(64, Math.floor(65536 / (inC + cols.padded)))
  // one dispatch: each tap's sums in `parts` lanes, which add up the chunks in order
  const parts = piecesPerUnit(taps.length, gemm.threads)
  const calls: GemmCall[] = []
  for (let k0 = 0; k0 < grid; k0 += chunk) {
    const k = Math.min(chunk, grid - k0)
    for (let t = 0; t < taps.length; t++) {
      const tap: GemmCall = {
        lane: 0, width: cols.width,
        a: (p0 + k0 * inC) * 4, b: (g0 + k0 * cols.padded) * 4, c: (s0 + t * rows * cols.padded) * 4,
        m: rows, n: cols.padded, k,
        lda: 4, ldb: cols.padded * 4, ldc: cols.padded * 4, aStep: inC * 4,
        taps: (t0 + 2 * t) * 4, nTaps: 1, chunk: rows, add: k0 === 0 ? 0 : 1
      }
      calls.push(...splitCall(tap, parts, t * parts))
    }
  }
  gemm.run(calls)

  const w0 = offsetOf(backend, dw)
  for (let t = 0; t < taps.length; t++) {
    for (let ci = 0; ci < inC; ci++) copyRun(mem, w0 + (t * inC + ci) * outC, s0 + (t * rows + ci) * cols.padded, outC)
  }
  free(backend, padded, dyGrid, sums, table)
  return dw
}
