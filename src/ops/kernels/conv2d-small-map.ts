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
import { columnBlock, offsetOf4, skewed, tapTable } from "./conv2d-gemm.ts"
import { copyRuns, rowOfPixels, type Runs } from "./copy-runs.ts"
import { blockSimdFor } from "./block-simd.ts"
import type { Gemm } from "./gemm-backend.ts"
import { type GemmCall, piecesPerUnit, splitCall } from "./gemm-pool.ts"
import { GEMM_ROWS, wholeRowBlocks } from "./gemm-simd.ts"
import { backendSimd } from "./wasm-assembler.ts"
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

/** Stride 1 and most of the kernel's taps over padding: per-tap products skip that work. */
export const sparseTaps = (info: tf.backend_util.Conv2DInfo): boolean => {
  if (info.strideHeight !== 1 || info.strideWidth !== 1 || info.dilationHeight !== 1 || info.dilationWidth !== 1) return false
  const pairs = tapsOf(info).reduce((s, t) => s + (t.oh1 - t.oh0) * (t.ow1 - t.ow0), 0)
  return pairs < MAX_USEFUL_FRACTION * info.outHeight * info.outWidth * info.filterHeight * info.filterWidth
}

/** True for a geometry the per-tap XNNPACK products compute faster than the backend's convolution. */
export const suitsTaps = (info: tf.backend_util.Conv2DInfo): boolean =>
  info.inChannels * info.outChannels >= MIN_TAP_WEIGHTS && sparseTaps(info)

/**
 * True where the fused multiply-add product can run the per-tap products: it reads each tap's
 * weights in place (no packing, so it pays in inference and for small filters too), and needs
 * whole column blocks on the side it writes and whole row blocks on the filter gradient's side.
 */
export const suitsTapsGemm = (info: tf.backend_util.Conv2DInfo): boolean =>
  sparseTaps(info) &&
  info.inChannels % GEMM_ROWS === 0 &&
  columnBlock(info.inChannels).padded === info.inChannels &&
  columnBlock(info.outChannels).padded === info.outChannels

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
  forward: boolean,
  simd: Gemm | null
): void => {
  const n = info.batchSize
  const { top, left } = info.padInfo
  const [fromH, fromW, fromC] = forward ? [info.inHeight, info.inWidth, info.inChannels] : [info.outHeight, info.outWidth, info.outChannels]
  const [toH, toW, toC] = forward ? [info.outHeight, info.outWidth, info.outChannels] : [info.inHeight, info.inWidth, info.inChannels]
  if (simd !== null) return walkByGemm(backend, simd, info, from, to, weights, forward)
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

/**
 * The copies that gather the pixels of `runs` (runs of `width` from flat pixel indices) as rows
 * `stride` floats apart at `a0` (for copyRuns, which runs them on the product's pool).
 */
const gatherRows = (a0: number, f0: number, runs: ReadonlyArray<number>, width: number, channels: number, stride: number): Runs[] =>
  runs.map((start, r) => ({
    dst: a0 + r * width * stride,
    src: f0 + start * channels,
    outer: 1,
    dstOuter: 0,
    srcOuter: 0,
    ...rowOfPixels(width, channels, stride, channels)
  }))

/**
 * Tap `t`'s pixel pairs as runs of `ws` consecutive pixels: the first pixel of each run on the
 * output side and on the input side (flat pixel indices, NHWC without the channels).
 */
const pixelRuns = (info: tf.backend_util.Conv2DInfo, t: Tap): { readonly out: number[]; readonly in: number[] } => {
  const { top, left } = info.padInfo
  const out: number[] = []
  const inp: number[] = []
  for (let b = 0; b < info.batchSize; b++) {
    for (let oh = t.oh0; oh < t.oh1; oh++) {
      out.push((b * info.outHeight + oh) * info.outWidth + t.ow0)
      inp.push((b * info.inHeight + oh + t.i - top) * info.inWidth + t.ow0 + t.j - left)
    }
  }
  return { out, in: inp }
}

/** Each tap's pixel runs and where its rows start in the stacked matrices (row blocks whole per tap). */
const stackTaps = (info: tf.backend_util.Conv2DInfo, taps: ReadonlyArray<Tap>) => {
  let rows = 0
  const stacked = taps.map((t) => {
    const runs = pixelRuns(info, t)
    const count = runs.in.length * (t.ow1 - t.ow0)
    const at = rows
    rows += wholeRowBlocks(count)
    return { tap: t, runs, count, at }
  })
  return { stacked, rows }
}

/**
 * walk() with the fused multiply-add product: every tap's source rows are gathered into one
 * stacked matrix (zero rows up to a whole row block per tap), each tap's block multiplied by the
 * tap's weight block in one dispatch over the pool's threads (gemm-pool.ts; lanes per tap, which
 * write disjoint rows), then the products added to the target pixels. Only the pairs inside the
 * map are multiplied. Forward, the weight blocks are first copied to rows off 2 KB multiples
 * (conv2d-gemm.ts, skewed), which fc6's 1024 output channels need.
 */
const walkByGemm = (
  backend: BackendWasm,
  gemm: Gemm,
  info: tf.backend_util.Conv2DInfo,
  from: Info,
  to: Info,
  weights: Info,
  forward: boolean
): void => {
  const [fromC, toC] = forward ? [info.inChannels, info.outChannels] : [info.outChannels, info.inChannels]
  const { stacked, rows } = stackTaps(info, tapsOf(info))
  const [lda, ldc] = [skewed(fromC), skewed(toC)]
  const a = zeros(backend, [rows, lda])
  const c = backend.makeOutput([rows, ldc], "float32")
  const skew = ldc !== toC
  const blocks = skew ? backend.makeOutput([stacked.length, fromC, ldc], "float32") : undefined
  const table = tapTable(backend, [[0, 0]])
  const simd = backendSimd(backend.wasm, blockSimdFor)
  const mem = heapF32(backend)
  const [a0, c0, f0, t0, w0] = [a, c, from, to, weights].map((i) => offsetOf(backend, i)) as [number, number, number, number, number]
  const b0 = blocks === undefined ? -1 : offsetOf(backend, blocks)
  const parts = piecesPerUnit(stacked.length, gemm.threads)
  const calls: GemmCall[] = []
  const copies: Runs[] = []
  stacked.forEach(({ tap: t, runs, count, at }, n) => {
    const ws = t.ow1 - t.ow0
    copies.push(...gatherRows(a0 + at * lda, f0, forward ? runs.in : runs.out, ws, fromC, lda))
    const w = w0 + (t.i * info.filterWidth + t.j) * fromC * toC
    const b = skew ? b0 + n * fromC * ldc : w
    if (skew) copies.push({ dst: b, src: w, outer: fromC, inner: 1, length: toC, dstInner: 0, srcInner: 0, dstOuter: ldc, srcOuter: toC })
    const call: GemmCall = {
      lane: 0, width: columnBlock(toC).width,
      a: (a0 + at * lda) * 4, b: b * 4, c: (c0 + at * ldc) * 4,
      m: wholeRowBlocks(count), n: toC, k: fromC,
      lda: lda * 4, ldb: (skew ? ldc : toC) * 4, ldc: ldc * 4, aStep: 4,
      taps: offsetOf4(backend, table) * 4, nTaps: 1, chunk: rows, add: 0
    }
    calls.push(...splitCall(call, parts, n * parts))
  })
  copyRuns(backend, copies)
  gemm.run(calls)
  for (const { tap: t, runs, count, at } of stacked) {
    const ws = t.ow1 - t.ow0
    const target = forward ? runs.out : runs.in
    for (let r = 0; r < count; r++) {
      const dst = t0 + (target[Math.floor(r / ws)]! + (r % ws)) * toC
      const src = c0 + (at + r) * ldc
      if (simd !== null) simd.addInto(dst * 4, src * 4, toC * 4)
      else for (let k = 0; k < toC; k++) mem[dst + k] = mem[dst + k]! + mem[src + k]!
    }
  }
  free(backend, a, c, table, blocks)
}

/** y = conv2d(x, filter) for a geometry where `suitsTaps(info)` (or `suitsTapsGemm` with `simd`). */
export const forwardByTaps = (
  backend: BackendWasm,
  x: Info,
  filter: Info,
  info: tf.backend_util.Conv2DInfo,
  simd: Gemm | null = null
): Info => {
  const y = zeros(backend, [info.batchSize, info.outHeight, info.outWidth, info.outChannels])
  walk(backend, info, x, y, filter, true, simd)
  return y
}

/**
 * The filter as HWOI. With the fused product's SIMD at hand, only the taps the map uses are
 * transposed (fc6 on a 3x3 map: 25 of 49), by block-simd.ts; the others are left unwritten.
 */
const swappedTaps = (backend: BackendWasm, filter: Info, info: tf.backend_util.Conv2DInfo, simd: Gemm | null): Info => {
  const { inChannels: inC, outChannels: outC, filterWidth: kw } = info
  const blocks = simd !== null && inC % 4 === 0 && outC % 4 === 0 ? backendSimd(backend.wasm, blockSimdFor) : null
  if (blocks === null) return transpose(backend, filter, [0, 1, 3, 2])
  const swapped = backend.makeOutput([info.filterHeight, kw, outC, inC], "float32")
  const [f0, s0] = [offsetOf(backend, filter), offsetOf(backend, swapped)]
  for (const t of tapsOf(info)) {
    const at = (t.i * kw + t.j) * inC * outC
    blocks.transpose4((f0 + at) * 4, (s0 + at) * 4, inC, outC, outC * 4, inC * 4)
  }
  return swapped
}

/** dx of conv2d(x, filter) given dy, for a geometry where `suitsTaps(info)` (or `suitsTapsGemm` with `simd`). */
export const backpropInputByTaps = (
  backend: BackendWasm,
  dy: Info,
  filter: Info,
  info: tf.backend_util.Conv2DInfo,
  simd: Gemm | null = null
): Info => {
  const dx = zeros(backend, [info.batchSize, info.inHeight, info.inWidth, info.inChannels])
  const swapped = swappedTaps(backend, filter, info, simd) // HWOI: each tap's [Cout, Cin] block contiguous
  walk(backend, info, dy, dx, swapped, false, simd)
  free(backend, swapped)
  return dx
}

/**
 * dW of conv2d(x, filter) given dy, for a geometry where `suitsTapsGemm(info)`: per tap,
 * dW[i, j] = Xᵀ D over the tap's pixel pairs only, with X [pairs, Cin] and D [pairs, Cout]
 * gathered and the product's rows the input channels (X read transposed, pixel as k).
 */
export const filterGradByTaps = (
  backend: BackendWasm,
  gemm: Gemm,
  x: Info,
  dy: Info,
  info: tf.backend_util.Conv2DInfo
): Info => {
  const { inChannels: inC, outChannels: outC, filterHeight: kh, filterWidth: kw } = info
  const { stacked, rows } = stackTaps(info, tapsOf(info))
  const dw = zeros(backend, [kh, kw, inC, outC])
  const ldd = skewed(outC) // conv2d-gemm.ts
  const xs = backend.makeOutput([rows, inC], "float32")
  const ds = backend.makeOutput([rows, ldd], "float32")
  const table = tapTable(backend, [[0, 0]])
  const [x0, d0, xs0, ds0, w0] = [x, dy, xs, ds, dw].map((i) => offsetOf(backend, i)) as [number, number, number, number, number]
  // one dispatch: lanes per tap, each writing its own block of dW
  const parts = piecesPerUnit(stacked.length, gemm.threads)
  const calls: GemmCall[] = []
  const copies: Runs[] = []
  stacked.forEach(({ tap: t, runs, count, at }, n) => {
    const ws = t.ow1 - t.ow0
    copies.push(...gatherRows(xs0 + at * inC, x0, runs.in, ws, inC, inC), ...gatherRows(ds0 + at * ldd, d0, runs.out, ws, outC, ldd))
    const call: GemmCall = {
      lane: 0, width: columnBlock(outC).width,
      a: (xs0 + at * inC) * 4, b: (ds0 + at * ldd) * 4, c: (w0 + (t.i * kw + t.j) * inC * outC) * 4,
      m: inC, n: outC, k: count,
      lda: 4, ldb: ldd * 4, ldc: outC * 4, aStep: inC * 4,
      taps: offsetOf4(backend, table) * 4, nTaps: 1, chunk: inC, add: 0
    }
    calls.push(...splitCall(call, parts, n * parts))
  })
  copyRuns(backend, copies)
  gemm.run(calls)
  free(backend, xs, ds, table)
  return dw
}
