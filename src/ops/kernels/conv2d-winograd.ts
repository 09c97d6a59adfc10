/**
 * 3x3 stride-1 convolutions by Winograd's F(2x2, 3x3) (issue 10): 16 multiplies per 2x2 output
 * block instead of 36, so 2.25x fewer than the direct product (conv2d-gemm.ts), which already
 * runs near the core's fused multiply-add peak on the networks' 3x3 layers.
 *
 * The output is cut into 2x2 blocks (tiles), tile (b, ty, tx) reading the 4x4 input pixels from
 * (2ty - top, 2tx - left) of the zero-padded input. Per tile, V = Bᵀ d B (16 values per input
 * channel), U = G g Gᵀ per filter (ci, co), and M = Σ_ci U ⊙ V: 16 matrix products
 * M[ξ] [tiles, Cout] = V[ξ] [tiles, Cin] · U[ξ] [Cin, Cout] on the fused multiply-add product;
 * then Y = Aᵀ M A gives the tile's 4 output pixels (winograd-simd.ts has the matrices). The
 * transforms and the products run as lanes on every thread of the pool (gemm-pool.ts), each
 * output element computed the same way on any thread, so results are bit-identical on any thread
 * count. Differences from the direct product are float rounding (~1e-6 relative): the
 * transforms add and subtract inputs before multiplying.
 *
 * The filter gradient is the transposed map: dU[ξ] [Cin, Cout] = Σ_tiles V[ξ]ᵀ · Ŷ[ξ] with
 * Ŷ = A dy Aᵀ (dy's 2x2 tile, zero past an odd output), then dg = Gᵀ dU G.
 */
import type * as tf from "@tensorflow/tfjs"
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm"
import { chunkRows, columnBlock, offsetOf4, paddedInput, restride, skewed, tapTable } from "./conv2d-gemm.ts"
import { copyRuns, rowOfPixels } from "./copy-runs.ts"
import type { Gemm } from "./gemm-backend.ts"
import { type GemmCall, type KernelCall, piecesPerUnit, splitCall } from "./gemm-pool.ts"
import { wholeRowBlocks } from "./gemm-simd.ts"
import { copyRun, free, heapF32, type Info, offsetOf } from "./wasm-kernel-utils.ts"
import type { TransformName } from "./winograd-simd.ts"

/** 3x3, stride 1, no dilation: the geometries F(2x2, 3x3) computes. */
export const isWinogradGeometry = (info: tf.backend_util.Conv2DInfo): boolean =>
  info.filterHeight === 3 && info.filterWidth === 3 && info.strideHeight === 1 && info.strideWidth === 1 &&
  info.dilationHeight === 1 && info.dilationWidth === 1

/**
 * The geometries whose filter gradient takes Winograd's path (conv2d-backprop-filter.ts),
 * measured per geometry against the direct product at batch 4 (CPU time, one thread; README
 * "Engine"): 2-3.5x faster from 32 channels on maps of 3x3 to 32x32, 1.1-1.5x at 16-32 channels
 * on 64x64 and 128x128 maps, slower with 3 or 8 channels on either side (3 → 16: 0.5-0.6x;
 * 16 → 3 or 8: 0.8x), where the transforms move 16 values per tile for few multiplies. Maps under
 * 3x3 keep the per-tap products (conv2d-small-map.ts), which skip the taps over padding. The 16
 * matrices on each side take 4x the input's and the output's memory: past MAX_WINOGRAD_BYTES (a
 * width-1 network's inference on large slices) the direct product, which needs about 1x, stays.
 */
export const suitsWinogradFilterGrad = (info: tf.backend_util.Conv2DInfo): boolean =>
  isWinogradGeometry(info) && info.outHeight >= 3 && info.outWidth >= 3 &&
  info.inChannels >= MIN_WINOGRAD_CHANNELS && info.outChannels >= MIN_WINOGRAD_CHANNELS &&
  matrixBytes(info) <= MAX_WINOGRAD_BYTES

/**
 * The forward convolutions that take Winograd's path (conv2d.ts, and so the stride-1 input
 * gradients, which are forward convolutions): as the filter gradient's, but 16 → 16 stays on the
 * direct product: at 128x128 it measured 0.83-1.17x (median 0.95) under load, as its products
 * with k = 16 and its transforms are bound by memory, while the filter gradient's gains 1.1-1.3x.
 */
export const suitsWinograd = (info: tf.backend_util.Conv2DInfo): boolean =>
  suitsWinogradFilterGrad(info) && info.inChannels + info.outChannels > 2 * MIN_WINOGRAD_CHANNELS

/** Channels on each side below which the direct product is faster (see suitsWinogradFilterGrad). */
export const MIN_WINOGRAD_CHANNELS = 16

/** Bytes of the 16 matrices of both sides (V and M, or V and Ŷ). */
const matrixBytes = (info: tf.backend_util.Conv2DInfo): number =>
  16 * tilingOf(info).rows * (skewed(vectors4(info.inChannels)) + skewed(columnBlock(info.outChannels).padded)) * 4

/** At most this much memory for the matrices (the wasm heap holds 2-4 GB, and the rest of the step). */
export const MAX_WINOGRAD_BYTES = 256 * 2 ** 20

/** Channels rounded up to whole vectors of 4. */
const vectors4 = (c: number): number => Math.ceil(c / 4) * 4

/**
 * Floats between two of the 16 matrices: whole 4 KB pages plus 64 bytes, so that a tile's 16
 * rows, written or read together, fall into different sets of the L1 cache.
 */
const matrixStride = (floats: number): number => Math.ceil(floats / 1024) * 1024 + 16

/** The tiling of a geometry: 2x2 output blocks per image and the padded input they read. */
interface Tiling {
  readonly th: number
  readonly tw: number
  /** Tiles of all images, and rounded up to whole row blocks of the product. */
  readonly tiles: number
  readonly rows: number
  /** The padded input grid per image: (2·th + 2) x (2·tw + 2). */
  readonly hp: number
  readonly wp: number
}

const tilingOf = (info: tf.backend_util.Conv2DInfo): Tiling => {
  const th = Math.ceil(info.outHeight / 2)
  const tw = Math.ceil(info.outWidth / 2)
  const tiles = info.batchSize * th * tw
  return { th, tw, tiles, rows: wholeRowBlocks(tiles), hp: 2 * th + 2, wp: 2 * tw + 2 }
}

/**
 * One transform over every tile, as calls of whole tile rows, each image's in `parts` lanes.
 * `pixels` is the pixel side's image base (bytes), its rows `line` bytes apart and its pixels
 * `pixel` bytes; `matrices` the first matrix's base, rows `ld` bytes apart, `mstride` between them.
 */
const transformCalls = (
  fn: TransformName,
  tiling: Tiling,
  n: number,
  parts: number,
  pixels: { readonly base: number; readonly image: number; readonly line: number; readonly pixel: number },
  matrices: { readonly base: number; readonly ld: number; readonly mstride: number },
  chanBytes: number
): KernelCall[] => {
  const { th, tw } = tiling
  const calls: KernelCall[] = []
  for (let b = 0; b < n; b++) {
    for (let p = 0; p < parts; p++) {
      const r0 = Math.floor((p * th) / parts)
      const r1 = Math.floor(((p + 1) * th) / parts)
      if (r1 === r0) continue
      const args = [
        pixels.base + b * pixels.image + r0 * 2 * pixels.line,
        matrices.base + (b * th + r0) * tw * matrices.ld,
        tw, r1 - r0, 2 * pixels.line, pixels.line, pixels.pixel, chanBytes, matrices.ld, matrices.mstride
      ]
      // about a multiply-add per float moved: the transforms are bound by memory
      calls.push({ lane: b * parts + p, fn, args, work: (r1 - r0) * tw * chanBytes * 8 })
    }
  }
  return calls
}

/**
 * Calls of the filter transforms over Cin rows of 3x3 taps [3, 3, Cin, cols] (HWIO with `cols`
 * floats per row) and 16 matrices [Cin, ld], the rows in `parts` lanes.
 */
const filterCalls = (
  fn: "winogradFilter" | "winogradFilterGradient",
  taps: number, inC: number, cols: number, matrices: number, ld: number, mstride: number, parts: number
): KernelCall[] => {
  const calls: KernelCall[] = []
  for (let p = 0; p < parts; p++) {
    const r0 = Math.floor((p * inC) / parts)
    const r1 = Math.floor(((p + 1) * inC) / parts)
    if (r1 === r0) continue
    const args = [taps + r0 * cols * 4, matrices + r0 * ld * 4, 1, r1 - r0, cols * 4, 3 * inC * cols * 4, inC * cols * 4, cols * 4, ld * 4, mstride * 4]
    calls.push({ lane: p, fn, args, work: (r1 - r0) * cols * 16 })
  }
  return calls
}

/**
 * The input side of both maps: the input zero-padded to the tiles' grid with whole vectors of
 * channels, and the 16 matrices V[ξ] [rows, ld] it transforms into (rows past the last tile
 * zero: the product's last row block reads them), with the calls that fill them.
 */
const inputMatrices = (backend: BackendWasm, x: Info, info: tf.backend_util.Conv2DInfo, tiling: Tiling, parts: number) => {
  const { batchSize: n, inChannels: inC } = info
  const { th, tw, tiles, rows, hp, wp } = tiling
  const inV = vectors4(inC)
  const ld = skewed(inV)
  const stride = matrixStride(rows * ld)
  const padded = paddedInput(backend, x, { ...info, outHeight: 2 * th, outWidth: 2 * tw }, n * hp * wp, inV)
  const v = backend.makeOutput([16 * stride], "float32")
  const mem = heapF32(backend)
  const v0 = offsetOf(backend, v)
  for (let xi = 0; xi < 16; xi++) mem.fill(0, v0 + xi * stride + tiles * ld, v0 + xi * stride + rows * ld)
  const calls = transformCalls(
    "winogradInput", tiling, n, parts,
    { base: offsetOf(backend, padded) * 4, image: hp * wp * inV * 4, line: wp * inV * 4, pixel: inV * 4 },
    { base: v0 * 4, ld: ld * 4, mstride: stride * 4 },
    inV * 4
  )
  return { padded, v, inV, ld, stride, calls }
}

/**
 * The output side: a tensor [N, Ho, Wo, C] as the tiles' pixel grid [N, 2·th, 2·tw, C rounded to
 * vectors]: the tensor itself when it is one (even sizes, whole vectors), else a grid whose
 * pixels past the tensor's are zero (`copyIn`) or dropped (`copyOut`).
 */
const pixelGrid = (backend: BackendWasm, tensor: Info, tiling: Tiling) => {
  const [n, height, width, c] = tensor.shape as [number, number, number, number]
  const cv = vectors4(c)
  const gh = 2 * tiling.th
  const gw = 2 * tiling.tw
  const exact = height === gh && width === gw && cv === c
  const grid = exact ? tensor : backend.makeOutput([n * gh * gw * cv], "float32")
  const copy = (toGrid: boolean): void => {
    if (exact) return
    const t0 = offsetOf(backend, tensor)
    const g0 = offsetOf(backend, grid)
    if (toGrid) heapF32(backend).fill(0, g0, g0 + n * gh * gw * cv)
    // image b's rows: the tensor's are width·c apart, the grid's gw·cv
    const side = (b: number, onGrid: boolean) =>
      onGrid ? { at: g0 + b * gh * gw * cv, row: gw * cv, pixel: cv } : { at: t0 + b * height * width * c, row: width * c, pixel: c }
    copyRuns(backend, Array.from({ length: n }, (_, b) => {
      const [d, s] = [side(b, toGrid), side(b, !toGrid)]
      return { dst: d.at, src: s.at, outer: height, dstOuter: d.row, srcOuter: s.row, ...rowOfPixels(width, c, d.pixel, s.pixel) }
    }))
  }
  return {
    grid,
    cv,
    pixels: { base: offsetOf(backend, grid) * 4, image: gh * gw * cv * 4, line: gw * cv * 4, pixel: cv * 4 },
    copyIn: () => copy(true),
    copyOut: () => copy(false),
    release: () => free(backend, exact ? undefined : grid)
  }
}

/** The forward convolution [N, Ho, Wo, Cout] of an NHWC input with a 3x3 stride-1 geometry (isWinogradGeometry). */
export const forwardByWinograd = (
  backend: BackendWasm,
  gemm: Gemm,
  x: Info,
  filter: Info,
  info: tf.backend_util.Conv2DInfo
): Info => {
  const { batchSize: n, inChannels: inC, outChannels: outC, outHeight, outWidth } = info
  const tiling = tilingOf(info)
  const outV = vectors4(outC)
  const cols = columnBlock(outC)
  const ldm = skewed(cols.padded)
  const mStride = matrixStride(tiling.rows * ldm)
  const uStride = inC * cols.padded
  const parts = piecesPerUnit(n, gemm.threads)

  const input = inputMatrices(backend, x, info, tiling, parts)
  // the filter transform reads whole vectors of output channels
  const taps = outV === outC ? filter : restride(backend, filter, 9 * inC, 9 * inC, outC, outC, outV)
  const u = backend.makeOutput([16 * uStride], "float32")
  const m = backend.makeOutput([16 * mStride], "float32")
  const table = tapTable(backend, [[0, 0]])
  const out = backend.makeOutput([n, outHeight, outWidth, outC], "float32")
  const output = pixelGrid(backend, out, tiling)
  const [v0, u0, m0] = [input.v, u, m].map((i) => offsetOf(backend, i)) as [number, number, number]

  // U's columns past Cout only meet M's columns past Cout, which the output transform drops
  gemm.run([
    ...input.calls,
    ...filterCalls("winogradFilter", offsetOf(backend, taps) * 4, inC, outV, u0 * 4, cols.padded, uStride, piecesPerUnit(1, gemm.threads))
      .map((c) => ({ ...c, lane: c.lane + n * parts }))
  ])
  const products: GemmCall[] = []
  const perMatrix = piecesPerUnit(16, gemm.threads)
  for (let xi = 0; xi < 16; xi++) {
    const product: GemmCall = {
      lane: 0, width: cols.width,
      a: (v0 + xi * input.stride) * 4, b: (u0 + xi * uStride) * 4, c: (m0 + xi * mStride) * 4,
      m: tiling.rows, n: cols.padded, k: inC,
      lda: input.ld * 4, ldb: cols.padded * 4, ldc: ldm * 4, aStep: 4,
      taps: offsetOf4(backend, table) * 4, nTaps: 1, chunk: chunkRows(inC), add: 0
    }
    products.push(...splitCall(product, perMatrix, xi * perMatrix))
  }
  gemm.run(products)
  gemm.run(transformCalls("winogradOutput", tiling, n, parts, output.pixels, { base: m0 * 4, ld: ldm * 4, mstride: mStride * 4 }, outV * 4))
  output.copyOut()
  output.release()
  free(backend, input.padded, input.v, u, m, table, taps === filter ? undefined : taps)
  return out
}

/**
 * The filter gradient [3, 3, Cin, Cout] of a 3x3 stride-1 convolution (isWinogradGeometry):
 * dU[ξ] [Cin, Cout] = Σ_tiles V[ξ]ᵀ · Ŷ[ξ], the product's rows the input channels (V read
 * transposed: a 4-byte row stride, the tile as k), its k the tiles in chunks that stay in
 * cache, each adding to the sums of the chunks before in the same lane; then dg = Gᵀ dU G.
 */
export const filterGradByWinograd = (
  backend: BackendWasm,
  gemm: Gemm,
  x: Info,
  dy: Info,
  info: tf.backend_util.Conv2DInfo
): Info => {
  const { batchSize: n, inChannels: inC, outChannels: outC } = info
  const tiling = tilingOf(info)
  const cols = columnBlock(outC)
  const ldy = skewed(cols.padded)
  const yStride = matrixStride(tiling.tiles * ldy)
  const parts = piecesPerUnit(n, gemm.threads)

  const input = inputMatrices(backend, x, info, tiling, parts)
  const gradient = pixelGrid(backend, dy, tiling)
  gradient.copyIn()
  const outV = gradient.cv
  const y = backend.makeOutput([16 * yStride], "float32")
  const duStride = matrixStride(input.inV * ldy)
  const du = backend.makeOutput([16 * duStride], "float32")
  const table = tapTable(backend, [[0, 0]])
  const dw = backend.makeOutput([3, 3, inC, outC], "float32")
  const taps = outV === outC ? dw : backend.makeOutput([9 * inC * outV], "float32")
  const [v0, y0, du0] = [input.v, y, du].map((i) => offsetOf(backend, i)) as [number, number, number]

  gemm.run([
    ...input.calls,
    ...transformCalls("winogradGradient", tiling, n, parts, gradient.pixels, { base: y0 * 4, ld: ldy * 4, mstride: yStride * 4 }, outV * 4)
      .map((c) => ({ ...c, lane: c.lane + n * parts }))
  ])
  // Ŷ's columns past Cout (not written) only meet dU's, which the last transform never reads
  const chunk = Math.max(64, Math.floor(65536 / (input.inV + cols.padded)))
  const perMatrix = piecesPerUnit(16, gemm.threads)
  const products: GemmCall[] = []
  for (let k0 = 0; k0 < tiling.tiles; k0 += chunk) {
    for (let xi = 0; xi < 16; xi++) {
      const product: GemmCall = {
        lane: 0, width: cols.width,
        a: (v0 + xi * input.stride + k0 * input.ld) * 4, b: (y0 + xi * yStride + k0 * ldy) * 4, c: (du0 + xi * duStride) * 4,
        m: input.inV, n: cols.padded, k: Math.min(chunk, tiling.tiles - k0),
        lda: 4, ldb: ldy * 4, ldc: ldy * 4, aStep: input.ld * 4,
        taps: offsetOf4(backend, table) * 4, nTaps: 1, chunk: input.inV, add: k0 === 0 ? 0 : 1
      }
      products.push(...splitCall(product, perMatrix, xi * perMatrix))
    }
  }
  gemm.run(products)
  gemm.run(filterCalls("winogradFilterGradient", offsetOf(backend, taps) * 4, inC, outV, du0 * 4, ldy, duStride, piecesPerUnit(1, gemm.threads)))
  if (taps !== dw) {
    const mem = heapF32(backend)
    const t0 = offsetOf(backend, taps)
    const w0 = offsetOf(backend, dw)
    for (let r = 0; r < 9 * inC; r++) copyRun(mem, w0 + r * outC, t0 + r * outV, outC)
  }
  gradient.release()
  free(backend, input.padded, input.v, y, du, table, taps === dw ? undefined : taps)
  return dw
}
