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
import { chunkRows, columnBlock, offsetOf4, paddedInput, skewed, tapTable } from "./conv2d-gemm.ts"
import type { Gemm } from "./gemm-backend.ts"
import { type GemmCall, type KernelCall, piecesPerUnit, splitCall } from "./gemm-pool.ts"
import { wholeRowBlocks } from "./gemm-simd.ts"
import { copyRun, free, heapF32, type Info, offsetOf } from "./wasm-kernel-utils.ts"
import type { TransformName } from "./winograd-simd.ts"

/** 3x3, stride 1, no dilation: the geometries F(2x2, 3x3) computes. */
export const isWinogradGeometry = (info: tf.backend_util.Conv2DInfo): boolean =>
  info.filterHeight === 3 && info.filterWidth === 3 && info.strideHeight === 1 && info.strideWidth === 1 &&
  info.dilationHeight === 1 && info.dilationWidth === 1

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

/** U = G g Gᵀ for every (ci, co) of an HWIO 3x3 filter: 16 matrices [Cin, ld] at `stride` floats apart. */
const filterTransform = (mem: Float32Array, filter: number, inC: number, outC: number, u: number, ld: number, stride: number): void => {
  const tap = inC * outC
  for (let ci = 0; ci < inC; ci++) {
    for (let co = 0; co < outC; co++) {
      const g = filter + ci * outC + co
      const row = u + ci * ld + co
      for (let j = 0; j < 3; j++) {
        // column j of G g: rows 0..3
        const g0 = mem[g + j * tap]!
        const g1 = mem[g + (3 + j) * tap]!
        const g2 = mem[g + (6 + j) * tap]!
        gg[j] = g0
        gg[3 + j] = (g0 + g1 + g2) / 2
        gg[6 + j] = (g0 - g1 + g2) / 2
        gg[9 + j] = g2
      }
      for (let p = 0; p < 4; p++) {
        const t0 = gg[3 * p]!
        const t1 = gg[3 * p + 1]!
        const t2 = gg[3 * p + 2]!
        const at = row + 4 * p * stride
        mem[at] = t0
        mem[at + stride] = (t0 + t1 + t2) / 2
        mem[at + 2 * stride] = (t0 - t1 + t2) / 2
        mem[at + 3 * stride] = t2
      }
    }
  }
}
const gg = new Float64Array(12)

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
  const { th, tw, rows, hp, wp } = tiling
  const inV = vectors4(inC)
  const outV = vectors4(outC)
  const cols = columnBlock(outC)
  const ldv = skewed(inV)
  const ldm = skewed(cols.padded)
  const vStride = matrixStride(rows * ldv)
  const mStride = matrixStride(rows * ldm)
  const uStride = inC * cols.padded

  const padded = paddedInput(backend, x, { ...info, outHeight: 2 * th, outWidth: 2 * tw }, n * hp * wp, inV)
  const v = backend.makeOutput([16 * vStride], "float32")
  const u = backend.makeOutput([16 * uStride], "float32")
  const m = backend.makeOutput([16 * mStride], "float32")
  const table = tapTable(backend, [[0, 0]])
  const out = backend.makeOutput([n, outHeight, outWidth, outC], "float32")
  // the output transform writes whole tiles of whole vectors: into the output itself when it has them
  const exact = outHeight === 2 * th && outWidth === 2 * tw && outV === outC
  const grid = exact ? out : backend.makeOutput([n * 2 * th * 2 * tw * outV], "float32")

  const mem = heapF32(backend)
  const [p0, v0, u0, m0, g0] = [padded, v, u, m, grid].map((i) => offsetOf(backend, i)) as [number, number, number, number, number]
  // rows past the last tile are read by the product's last row block: zeros, not stale NaNs
  for (let xi = 0; xi < 16; xi++) mem.fill(0, v0 + xi * vStride + tiling.tiles * ldv, v0 + xi * vStride + rows * ldv)
  if (cols.padded !== outC) mem.fill(0, u0, u0 + 16 * uStride)
  filterTransform(mem, offsetOf(backend, filter), inC, outC, u0, cols.padded, uStride)

  const parts = piecesPerUnit(n, gemm.threads)
  gemm.run(transformCalls(
    "winogradInput", tiling, n, parts,
    { base: p0 * 4, image: hp * wp * inV * 4, line: wp * inV * 4, pixel: inV * 4 },
    { base: v0 * 4, ld: ldv * 4, mstride: vStride * 4 },
    inV * 4
  ))

  const products: GemmCall[] = []
  const perMatrix = piecesPerUnit(16, gemm.threads)
  for (let xi = 0; xi < 16; xi++) {
    const product: GemmCall = {
      lane: 0, width: cols.width,
      a: (v0 + xi * vStride) * 4, b: (u0 + xi * uStride) * 4, c: (m0 + xi * mStride) * 4,
      m: rows, n: cols.padded, k: inC,
      lda: ldv * 4, ldb: cols.padded * 4, ldc: ldm * 4, aStep: 4,
      taps: offsetOf4(backend, table) * 4, nTaps: 1, chunk: chunkRows(inC), add: 0
    }
    products.push(...splitCall(product, perMatrix, xi * perMatrix))
  }
  gemm.run(products)

  gemm.run(transformCalls(
    "winogradOutput", tiling, n, parts,
    { base: g0 * 4, image: 4 * th * tw * outV * 4, line: 2 * tw * outV * 4, pixel: outV * 4 },
    { base: m0 * 4, ld: ldm * 4, mstride: mStride * 4 },
    outV * 4
  ))

  if (!exact) {
    const o0 = offsetOf(backend, out)
    for (let b = 0; b < n; b++) {
      for (let y = 0; y < outHeight; y++) {
        const src = g0 + (b * 2 * th + y) * 2 * tw * outV
        const dst = o0 + (b * outHeight + y) * outWidth * outC
        if (outV === outC) copyRun(mem, dst, src, outWidth * outC)
        else for (let xx = 0; xx < outWidth; xx++) copyRun(mem, dst + xx * outC, src + xx * outV, outC)
      }
    }
  }
  free(backend, padded, v, u, m, table, grid === out ? undefined : grid)
  return out
}
