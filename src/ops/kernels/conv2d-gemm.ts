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
import { copyRuns, rowOfPixels } from "./copy-runs.ts"
import { GEMM_ROWS, wholeRowBlocks } from "./gemm-simd.ts"
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
 * A stride-1 geometry's padded grid per image: Hp x Wp = (Ho + kh - 1) x (Wo + kw - 1), the
 * input with its padding (or cropped to what a 'valid' geometry reads).
 */
export const paddedGrid = (info: tf.backend_util.Conv2DInfo): { readonly hp: number; readonly wp: number } => ({
  hp: info.outHeight + info.filterHeight - 1,
  wp: info.outWidth + info.filterWidth - 1
})

/**
 * The input zero-padded to the geometry's Hp x Wp grid per image, images stacked as rows of Cin
 * floats `stride` apart, with zero rows up to `rows` (reads past the last image's grid meet zeros).
 */
export const paddedInput = (
  backend: BackendWasm,
  x: Info,
  info: tf.backend_util.Conv2DInfo,
  rows: number,
  stride = info.inChannels
): Info => {
  const { batchSize: n, inHeight: height, inWidth: width, inChannels: inC } = info
  const { top, left } = info.padInfo
  const { hp, wp } = paddedGrid(info)
  const padded = backend.makeOutput([rows, stride], "float32")
  const mem = heapF32(backend)
  const p0 = offsetOf(backend, padded)
  mem.fill(0, p0, p0 + rows * stride)
  // input rows and columns that land inside the grid (a 'valid' or cropping geometry reads fewer)
  const y0 = Math.max(0, -top)
  const y1 = Math.min(height, hp - top)
  const x0 = Math.max(0, -left)
  const x1 = Math.min(width, wp - left)
  const x0Off = offsetOf(backend, x)
  copyRuns(backend, Array.from({ length: n }, (_, b) => ({
    dst: p0 + ((b * hp + y0 + top) * wp + x0 + left) * stride,
    src: x0Off + ((b * height + y0) * width + x0) * inC,
    outer: Math.max(0, y1 - y0),
    dstOuter: wp * stride,
    srcOuter: width * inC,
    ...rowOfPixels(Math.max(0, x1 - x0), inC, stride, inC)
  })))
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
  const { hp, wp } = paddedGrid(info)
  // A 1x1 kernel's grid is the output itself: the images run on as one product, so that the
  // filter is read once for the whole batch (fc7 on a 4x4 map has 16 rows per image).
  if (unpadded1x1(info)) return pointwise(backend, gemm, x, filter, info)
  // one image's grid: its output rows at the padded width
  const rows = wholeRowBlocks(outHeight * wp)
  // the last image's last block reads up to the largest tap offset past its grid
  const paddedRows = (n - 1) * hp * wp + rows + (kh - 1) * wp + kw
  const cols = columnBlock(outC)

  const lda = skewed(inC)
  const padded = paddedInput(backend, x, info, paddedRows, lda)
  const grid = backend.makeOutput([n * rows, cols.padded], "float32")
  const weights = paddedFilter(backend, filter, outC, cols.padded)
  const taps: Array<readonly [number, number]> = []
  for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) taps.push([(i * wp + j) * lda * 4, (i * kw + j) * inC * cols.padded * 4])
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
      a: (p0 + b * hp * wp * lda) * 4, b: offsetOf(backend, weights) * 4, c: (g0 + b * rows * cols.padded) * 4,
      m: rows, n: cols.padded, k: inC,
      lda: lda * 4, ldb: cols.padded * 4, ldc: cols.padded * 4, aStep: 4,
      taps: offsetOf4(backend, table) * 4, nTaps: taps.length, chunk: chunkRows(inC), add: 0
    }
    calls.push(...splitCall(image, parts, b * parts))
  }
  gemm.run(calls)

  const o0 = offsetOf(backend, out)
  copyRuns(backend, Array.from({ length: n }, (_, b) => ({
    dst: o0 + b * outHeight * outWidth * outC,
    src: g0 + b * rows * cols.padded,
    outer: outHeight,
    dstOuter: outWidth * outC,
    srcOuter: wp * cols.padded,
    ...rowOfPixels(outWidth, outC, outC, cols.padded)
  })))
  free(backend, padded, grid, table, weights === filter ? undefined : weights)
  return out
}

/**
 * A row stride for `n` floats that is no multiple of 2 KB: rows 2 or 4 KB apart (fc6's and fc7's
 * 512 or 1024 channels) fall into the same few sets of the L1 cache, and a product reading 4 such
 * rows of A and a column panel of B evicts its own lines (fc7's product ran at half speed).
 */
export const skewed = (n: number): number => ((n * 4) % 2048 === 0 ? n + 8 : n)

/** Copies `rows` rows of `width` floats at stride `from` into a new [rows, to] matrix (zeros past `count` rows and `width` columns). */
export const restride = (backend: BackendWasm, src: Info, count: number, rows: number, width: number, from: number, to: number): Info => {
  const out = backend.makeOutput([rows, to], "float32")
  const mem = heapF32(backend)
  const s0 = offsetOf(backend, src)
  const d0 = offsetOf(backend, out)
  mem.fill(0, d0, d0 + rows * to)
  copyRuns(backend, [{ dst: d0, src: s0, outer: count, inner: 1, length: width, dstInner: 0, srcInner: 0, dstOuter: to, srcOuter: from }])
  return out
}

/** Runs one product call split into lanes for every thread of the pool (bit-identical to the whole call). */
export const runSplit = (gemm: Gemm, call: GemmCall): void => gemm.run(splitCall(call, piecesPerUnit(1, gemm.threads), 0))

/** A 1x1 kernel without padding: the output's pixels are the input's. */
export const unpadded1x1 = (info: tf.backend_util.Conv2DInfo): boolean =>
  info.filterHeight === 1 && info.filterWidth === 1 && info.outHeight === info.inHeight && info.outWidth === info.inWidth

/** forwardByGemm for a 1x1 kernel (whose 'same' or 'valid' padding is none): one product over every pixel. */
const pointwise = (backend: BackendWasm, gemm: Gemm, x: Info, filter: Info, info: tf.backend_util.Conv2DInfo): Info => {
  const { batchSize: n, inChannels: inC, outChannels: outC, outHeight, outWidth } = info
  const pixels = n * outHeight * outWidth
  const rows = wholeRowBlocks(pixels)
  const cols = columnBlock(outC)
  const lda = skewed(inC)
  const ldb = skewed(cols.padded)
  const exact = rows === pixels && cols.padded === outC
  // rows past the last pixel read zeros; a grid with padded columns is copied out after
  const input = rows === pixels && lda === inC ? x : restride(backend, x, pixels, rows, inC, inC, lda)
  const out = backend.makeOutput([n, outHeight, outWidth, outC], "float32")
  const grid = exact ? out : backend.makeOutput([rows, cols.padded], "float32")
  const weights = ldb === outC ? filter : restride(backend, filter, inC, inC, outC, outC, ldb)
  const table = tapTable(backend, [[0, 0]])
  runSplit(gemm, {
    lane: 0, width: cols.width,
    a: offsetOf(backend, input) * 4, b: offsetOf(backend, weights) * 4, c: offsetOf(backend, grid) * 4,
    m: rows, n: cols.padded, k: inC,
    lda: lda * 4, ldb: ldb * 4, ldc: cols.padded * 4, aStep: 4,
    taps: offsetOf4(backend, table) * 4, nTaps: 1, chunk: chunkRows(inC), add: 0
  })
  if (!exact) {
    const g0 = offsetOf(backend, grid)
    const o0 = offsetOf(backend, out)
    copyRuns(backend, [{ dst: o0, src: g0, outer: pixels, inner: 1, length: outC, dstInner: 0, srcInner: 0, dstOuter: outC, srcOuter: cols.padded }])
  }
  free(backend, table, input === x ? undefined : input, grid === out ? undefined : grid, weights === filter ? undefined : weights)
  return out
}

/**
 * The input gradient of a 1x1 stride-1 convolution (fc7, the score layers): dx = dy · Wᵀ,
 * computed transposed, dxᵀ [Cin, P] = W [Cin, Cout] · dyᵀ [Cout, P], so that the filter is read
 * as it is stored (a row per input channel) instead of transposed first; only dy and dx, small
 * where this matters (fc7 on a 4x4 map: 64 pixels), are transposed. Cin must be whole row blocks.
 */
export const pointwiseInputGrad = (backend: BackendWasm, gemm: Gemm, dy: Info, filter: Info, info: tf.backend_util.Conv2DInfo): Info => {
  const { batchSize: n, inChannels: inC, outChannels: outC, inHeight, inWidth } = info
  const pixels = n * inHeight * inWidth
  const cols = columnBlock(pixels)
  const lda = skewed(outC)
  const ldb = skewed(cols.padded)
  const weights = lda === outC ? filter : restride(backend, filter, inC, inC, outC, outC, lda)
  const dyT = backend.makeOutput([outC, ldb], "float32")
  const dxT = backend.makeOutput([inC, ldb], "float32")
  const table = tapTable(backend, [[0, 0]])
  const dx = backend.makeOutput([n, inHeight, inWidth, inC], "float32")
  const mem = heapF32(backend)
  const [d0, t0, x0, r0] = [dy, dyT, dxT, dx].map((i) => offsetOf(backend, i)) as [number, number, number, number]
  mem.fill(0, t0, t0 + outC * ldb)
  for (let p = 0; p < pixels; p++) for (let c = 0; c < outC; c++) mem[t0 + c * ldb + p] = mem[d0 + p * outC + c]!
  runSplit(gemm, {
    lane: 0, width: cols.width,
    a: offsetOf(backend, weights) * 4, b: t0 * 4, c: x0 * 4,
    m: inC, n: cols.padded, k: outC,
    lda: lda * 4, ldb: ldb * 4, ldc: ldb * 4, aStep: 4,
    taps: offsetOf4(backend, table) * 4, nTaps: 1, chunk: inC, add: 0
  })
  for (let c = 0; c < inC; c++) for (let p = 0; p < pixels; p++) mem[r0 + p * inC + c] = mem[x0 + c * ldb + p]!
  free(backend, dyT, dxT, table, weights === filter ? undefined : weights)
  return dx
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
  const { hp, wp } = paddedGrid(info)
  const grid = n * hp * wp
  const rows = wholeRowBlocks(inC)
  const cols = columnBlock(outC)
  // the last tap reads (kh-1)·Wp + kw-1 rows past the grid, and rows past Cin read into the next pixel
  // row strides off 2 KB multiples (skewed)
  const lda = skewed(inC)
  const ldb = skewed(cols.padded)
  const padded = paddedInput(backend, x, info, grid + (kh - 1) * wp + kw, lda)
  const dyGrid = backend.makeOutput([grid, ldb], "float32")
  const sums = backend.makeOutput([kh * kw, rows, cols.padded], "float32")
  const taps: Array<readonly [number, number]> = []
  for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) taps.push([(i * wp + j) * lda * 4, 0])
  const table = tapTable(backend, taps)
  const dw = backend.makeOutput([kh, kw, inC, outC], "float32")

  const mem = heapF32(backend)
  const g0 = offsetOf(backend, dyGrid)
  mem.fill(0, g0, g0 + grid * ldb)
  const d0 = offsetOf(backend, dy)
  copyRuns(backend, Array.from({ length: n }, (_, b) => ({
    dst: g0 + b * hp * wp * ldb,
    src: d0 + b * outHeight * outWidth * outC,
    outer: outHeight,
    dstOuter: wp * ldb,
    srcOuter: outWidth * outC,
    ...rowOfPixels(outWidth, outC, ldb, outC)
  })))

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
        a: (p0 + k0 * lda) * 4, b: (g0 + k0 * ldb) * 4, c: (s0 + t * rows * cols.padded) * 4,
        m: rows, n: cols.padded, k,
        lda: 4, ldb: ldb * 4, ldc: cols.padded * 4, aStep: lda * 4,
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
