/**
 * The four loops of batch-norm.ts in WebAssembly SIMD, on the wasm backend's heap (assembled
 * with wasm-assembler.ts). Channels are the innermost NHWC axis:
 *  - `bnStats`: float64 sums of x and x² per channel (two channels per f64x2 lane pair);
 *  - `bnAffine`: y = x·a + s (four channels per f32x4);
 *  - `bnGradSums`: float64 sums of dy and dy·(x - μ) per channel;
 *  - `bnGradDx`: dx = a·((dy - mb) - (x - μ)·mg).
 * The elementwise pair walks the tensor once with a second offset `k` cycling over one pixel's
 * channels to pick the per-channel coefficients, so a call may cover any range of whole pixels.
 * The sums walk the pixels in order over a range of channels (`wb` bytes of each `cb`-byte
 * pixel): split by channels, every channel's sum adds the same values in the same order on any
 * thread (gemm-pool.ts runs slices of these calls on its threads; batch-norm.ts splits them).
 * Offsets and sizes are in bytes; channel counts must be multiples of 4 (callers check). All
 * arguments are int32, and the functions are also built into the product's module
 * (gemm-simd.ts), whose pool runs int32 commands.
 */
import { I32, instantiateOn, op, V128, type WasmFunction, type WasmMemory } from "./wasm-assembler.ts"

const { localGet: get, localSet: set, localTee: tee, i32Const } = op

/** Advance i by `step` bytes and k by `step` bytes, wrapping k to 0 at the row length `cb`. */
const advance = (I: number, K: number, CB: number, step: number) => [
  ...get(I), ...i32Const(step), ...op.i32Add, ...set(I),
  ...i32Const(0), ...get(K), ...i32Const(step), ...op.i32Add, ...tee(K), ...get(K), ...get(CB), ...op.i32Eq, ...op.select, ...set(K)
]

/** i = k = 0; block { loop { if (i >= bytes) break; body; advance; continue } } */
const walk = (I: number, K: number, BYTES: number, CB: number, step: number, body: ReadonlyArray<number>) => [
  ...i32Const(0), ...set(I), ...i32Const(0), ...set(K),
  ...op.block, ...op.loop,
  ...get(I), ...get(BYTES), ...op.i32GeU, ...op.brIf(1),
  ...body,
  ...advance(I, K, CB, step),
  ...op.br(0), ...op.end, ...op.end
]

/**
 * for (row = 0; row < rows·cb; row += cb) for (k = 0; k < wb; k += step) { i = row + k; body }:
 * a range of channels of every pixel.
 */
const columns = (ROW: number, K: number, I: number, ROWS: number, CB: number, WB: number, step: number, body: ReadonlyArray<number>) => [
  ...get(ROWS), ...get(CB), ...op.i32Mul, ...set(ROWS), // rows·cb: the end
  ...i32Const(0), ...set(ROW),
  ...op.block, ...op.loop,
  ...get(ROW), ...get(ROWS), ...op.i32GeU, ...op.brIf(1),
  ...i32Const(0), ...set(K),
  ...op.block, ...op.loop,
  ...get(K), ...get(WB), ...op.i32GeU, ...op.brIf(1),
  ...get(ROW), ...get(K), ...op.i32Add, ...set(I),
  ...body,
  ...get(K), ...i32Const(step), ...op.i32Add, ...set(K),
  ...op.br(0), ...op.end, ...op.end,
  ...get(ROW), ...get(CB), ...op.i32Add, ...set(ROW),
  ...op.br(0), ...op.end, ...op.end
]

const addr = (base: number, off: number) => [...get(base), ...get(off), ...op.i32Add]
/** base + (cb << shift) + k */
const coefficient = (base: number, CB: number, shift: number, K: number) =>
  shift < 0 ? addr(base, K) : [...get(base), ...get(CB), ...i32Const(shift), ...op.i32Shl, ...op.i32Add, ...get(K), ...op.i32Add]

// bnStats(x, rows, cb, wb, acc, acc2): acc f64 [wb/4] += x, acc2 f64 [wb/4] += x² over channels [0, wb/4) of x's pixels
const stats = (): WasmFunction => {
  const [X, ROWS, CB, WB, ACC, ACC2, ROW, K, I, A, V] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
  return {
    name: "bnStats",
    params: new Array<number>(6).fill(I32),
    locals: [[4, I32], [1, V128]],
    code: columns(ROW, K, I, ROWS, CB, WB, 8, [
      ...addr(X, I), ...op.v128Load64Zero, ...op.f64x2PromoteLow, ...set(V),
      // A = acc + 2k (float64 slots)
      ...get(ACC), ...get(K), ...i32Const(1), ...op.i32Shl, ...op.i32Add, ...tee(A),
      ...get(A), ...op.v128Load, ...get(V), ...op.f64x2Add, ...op.v128Store,
      ...get(ACC2), ...get(K), ...i32Const(1), ...op.i32Shl, ...op.i32Add, ...tee(A),
      ...get(A), ...op.v128Load, ...get(V), ...get(V), ...op.f64x2Mul, ...op.f64x2Add, ...op.v128Store
    ])
  }
}

// bnAffine(x, y, bytes, cb, coef): y = x·a + s with coef f32 [a (c), s (c)]
const affine = (): WasmFunction => {
  const [X, Y, BYTES, CB, COEF, I, K] = [0, 1, 2, 3, 4, 5, 6]
  return {
    name: "bnAffine",
    params: [I32, I32, I32, I32, I32],
    locals: [[2, I32]],
    code: walk(I, K, BYTES, CB, 16, [
      ...addr(Y, I),
      ...addr(X, I), ...op.v128Load,
      ...coefficient(COEF, CB, -1, K), ...op.v128Load, ...op.f32x4Mul,
      ...coefficient(COEF, CB, 0, K), ...op.v128Load, ...op.f32x4Add,
      ...op.v128Store
    ])
  }
}

// bnGradSums(dy, x, rows, cb, wb, mu, acc, acc2): mu f64 [wb/4]; acc += dy, acc2 += dy·(x - μ) (f64 [wb/4] each)
const gradSums = (): WasmFunction => {
  const [DY, X, ROWS, CB, WB, MU, ACC, ACC2, ROW, K, I, A, D, XC] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]
  return {
    name: "bnGradSums",
    params: new Array<number>(8).fill(I32),
    locals: [[4, I32], [2, V128]],
    code: columns(ROW, K, I, ROWS, CB, WB, 8, [
      ...addr(DY, I), ...op.v128Load64Zero, ...op.f64x2PromoteLow, ...set(D),
      ...addr(X, I), ...op.v128Load64Zero, ...op.f64x2PromoteLow,
      ...get(MU), ...get(K), ...i32Const(1), ...op.i32Shl, ...op.i32Add, ...op.v128Load, ...op.f64x2Sub, ...set(XC),
      ...get(ACC), ...get(K), ...i32Const(1), ...op.i32Shl, ...op.i32Add, ...tee(A),
      ...get(A), ...op.v128Load, ...get(D), ...op.f64x2Add, ...op.v128Store,
      ...get(ACC2), ...get(K), ...i32Const(1), ...op.i32Shl, ...op.i32Add, ...tee(A),
      ...get(A), ...op.v128Load, ...get(D), ...get(XC), ...op.f64x2Mul, ...op.f64x2Add, ...op.v128Store
    ])
  }
}

// bnGradDx(dy, x, dx, bytes, cb, coef): coef f32 [a, mb, mu, mg] (c each); dx = a·((dy - mb) - (x - μ)·mg)
const gradDx = (): WasmFunction => {
  const [DY, X, DX, BYTES, CB, COEF, I, K] = [0, 1, 2, 3, 4, 5, 6, 7]
  return {
    name: "bnGradDx",
    params: [I32, I32, I32, I32, I32, I32],
    locals: [[2, I32]],
    code: walk(I, K, BYTES, CB, 16, [
      ...addr(DX, I),
      ...coefficient(COEF, CB, -1, K), ...op.v128Load, // a
      ...addr(DY, I), ...op.v128Load,
      ...coefficient(COEF, CB, 0, K), ...op.v128Load, ...op.f32x4Sub, // dy - mb
      ...addr(X, I), ...op.v128Load,
      ...coefficient(COEF, CB, 1, K), ...op.v128Load, ...op.f32x4Sub, // x - μ
      ...get(COEF), ...get(CB), ...i32Const(3), ...op.i32Mul, ...op.i32Add, ...get(K), ...op.i32Add, ...op.v128Load, // mg
      ...op.f32x4Mul, ...op.f32x4Sub, ...op.f32x4Mul,
      ...op.v128Store
    ])
  }
}

/** The functions, for modules that include them (gemm-simd.ts). */
export const batchNormFunctions: ReadonlyArray<WasmFunction> = [stats(), affine(), gradSums(), gradDx()]

export type BatchNormName = "bnStats" | "bnAffine" | "bnGradSums" | "bnGradDx"
export type BatchNormSimd = Readonly<Record<BatchNormName, (...args: number[]) => void>>

const cache = new WeakMap<WasmMemory, BatchNormSimd | null>()

/** The SIMD loops bound to `memory`, or null when this engine cannot run them. */
export const batchNormSimdFor = (memory: WasmMemory): BatchNormSimd | null => instantiateOn(cache, memory, () => batchNormFunctions)
