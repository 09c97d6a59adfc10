/**
 * The four loops of batch-norm.ts in WebAssembly SIMD, on the wasm backend's heap (assembled
 * with wasm-assembler.ts). Channels are the innermost NHWC axis, so each loop walks the tensor
 * once with a second offset `k` cycling over one pixel's channels to pick the per-channel
 * coefficients:
 *  - `stats`: float64 sums of x and x² per channel (two channels per f64x2 lane pair);
 *  - `affine`: y = x·a + s (four channels per f32x4);
 *  - `gradSums`: float64 sums of dy and dy·(x - μ) per channel;
 *  - `gradDx`: dx = a·((dy - mb) - (x - μ)·mg).
 * Offsets and sizes are in bytes; channel counts must be multiples of 4 (callers check).
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

const addr = (base: number, off: number) => [...get(base), ...get(off), ...op.i32Add]
/** base + (cb << shift) + k */
const coefficient = (base: number, CB: number, shift: number, K: number) =>
  shift < 0 ? addr(base, K) : [...get(base), ...get(CB), ...i32Const(shift), ...op.i32Shl, ...op.i32Add, ...get(K), ...op.i32Add]

// stats(x, bytes, cb, acc): acc f64 [2c] += (x, x²)
const stats = (): WasmFunction => {
  const [X, BYTES, CB, ACC, I, K, A, V] = [0, 1, 2, 3, 4, 5, 6, 7]
  return {
    name: "stats",
    params: [I32, I32, I32, I32],
    locals: [[3, I32], [1, V128]],
    code: walk(I, K, BYTES, CB, 8, [
      ...addr(X, I), ...op.v128Load64Zero, ...op.f64x2PromoteLow, ...set(V),
      // A = acc + 2k (float64 slots)
      ...get(ACC), ...get(K), ...i32Const(1), ...op.i32Shl, ...op.i32Add, ...tee(A),
      ...get(A), ...op.v128Load, ...get(V), ...op.f64x2Add, ...op.v128Store,
      // acc + 2cb + 2k
      ...get(A), ...get(CB), ...i32Const(1), ...op.i32Shl, ...op.i32Add, ...tee(A),
      ...get(A), ...op.v128Load, ...get(V), ...get(V), ...op.f64x2Mul, ...op.f64x2Add, ...op.v128Store
    ])
  }
}

// affine(x, y, bytes, cb, coef): y = x·a + s with coef f32 [a (c), s (c)]
const affine = (): WasmFunction => {
  const [X, Y, BYTES, CB, COEF, I, K] = [0, 1, 2, 3, 4, 5, 6]
  return {
    name: "affine",
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

// gradSums(dy, x, bytes, cb, mu, acc): mu f64 [c]; acc f64 [2c] += (dy, dy·(x - μ))
const gradSums = (): WasmFunction => {
  const [DY, X, BYTES, CB, MU, ACC, I, K, A, D, XC] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
  return {
    name: "gradSums",
    params: [I32, I32, I32, I32, I32, I32],
    locals: [[3, I32], [2, V128]],
    code: walk(I, K, BYTES, CB, 8, [
      ...addr(DY, I), ...op.v128Load64Zero, ...op.f64x2PromoteLow, ...set(D),
      ...addr(X, I), ...op.v128Load64Zero, ...op.f64x2PromoteLow,
      ...get(MU), ...get(K), ...i32Const(1), ...op.i32Shl, ...op.i32Add, ...op.v128Load, ...op.f64x2Sub, ...set(XC),
      ...get(ACC), ...get(K), ...i32Const(1), ...op.i32Shl, ...op.i32Add, ...tee(A),
      ...get(A), ...op.v128Load, ...get(D), ...op.f64x2Add, ...op.v128Store,
      ...get(A), ...get(CB), ...i32Const(1), ...op.i32Shl, ...op.i32Add, ...tee(A),
      ...get(A), ...op.v128Load, ...get(D), ...get(XC), ...op.f64x2Mul, ...op.f64x2Add, ...op.v128Store
    ])
  }
}

// gradDx(dy, x, dx, bytes, cb, coef): coef f32 [a, mb, mu, mg] (c each); dx = a·((dy - mb) - (x - μ)·mg)
const gradDx = (): WasmFunction => {
  const [DY, X, DX, BYTES, CB, COEF, I, K] = [0, 1, 2, 3, 4, 5, 6, 7]
  return {
    name: "gradDx",
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

type Fn = (...args: number[]) => void
export interface BatchNormSimd {
  readonly stats: Fn
  readonly affine: Fn
  readonly gradSums: Fn
  readonly gradDx: Fn
}

const cache = new WeakMap<WasmMemory, BatchNormSimd | null>()

/** The SIMD loops bound to `memory`, or null when this engine cannot run them. */
export const batchNormSimdFor = (memory: WasmMemory): BatchNormSimd | null =>
  instantiateOn(cache, memory, () => [stats(), affine(), gradSums(), gradDx()])
