/**
 * The Adam update of adam.ts as a small WebAssembly SIMD function running on the wasm backend's
 * own heap: four float32 lanes per instruction instead of JavaScript's scalar float64 divisions
 * and square roots, which made the scalar loop about three times slower than its memory traffic
 * (~200 ms per step on the width-1/4 RSTN's 18M parameters).
 *
 * Assembled with wasm-assembler.ts (no compiler toolchain here). `adam` and `adamDecay` (the
 * same with decoupled weight decay) take byte offsets of w, m, v, g and of the outputs w', m',
 * v', an element count that is a multiple of 4, and the byte offset of the nine float32
 * coefficients in memory (`adamCoefficients`): only int32 arguments, so that the product's
 * thread pool (gemm-pool.ts), whose commands are int32 words, can run them too — the functions
 * are also built into the product's module (gemm-simd.ts). float32 +, -, ·, / and sqrt are
 * correctly rounded, so each lane gives the bits adam.ts's scalar code (and the unfused op
 * chain) gives, whichever thread computes it.
 */
import type { AdamAttrs } from "./adam.ts"
import { I32, instantiateOn, op, V128, type WasmFunction, type WasmMemory } from "./wasm-assembler.ts"

const { localGet: get, localSet: set, i32Const } = op

// Parameters: 0..7 byte offsets w, m, v, g, w', m', v', element count n; 8 the coefficients'
// byte offset (β1, 1-β1, β2, 1-β2, c1, c2, ε, rate, decay as float32). Locals: 9 i (byte
// offset), 10 end, 11..19 the coefficients splatted to four lanes.
const [W, M, V, G, W2, M2, V2, N, COEF] = [0, 1, 2, 3, 4, 5, 6, 7, 8]
const I = 9
const END_AT = 10
const splat = (k: number) => 11 + k
const [B1, OB1, B2, OB2, C1, C2, EPS, RATE, DECAY] = [0, 1, 2, 3, 4, 5, 6, 7, 8].map(splat) as number[]

/** Float32 coefficients the functions read, in this order. */
export const ADAM_COEFFICIENTS = 9

/** The coefficients as the functions read them (float32, rounded from the caller's float64). */
export const adamCoefficients = (a: AdamAttrs): Float32Array =>
  Float32Array.of(a.beta1, 1 - a.beta1, a.beta2, 1 - a.beta2, a.c1, a.c2, a.epsilon, a.rate, a.decay)

const at = (base: number) => [...get(base), ...get(I), ...op.i32Add] // base + i
const load = (base: number) => [...at(base), ...op.v128Load]

const adam = (decay: boolean): WasmFunction => ({
  name: decay ? "adamDecay" : "adam",
  params: new Array<number>(9).fill(I32),
  locals: [[2, I32], [9, V128]],
  code: [
    // splat the coefficients; end = n * 4; i = 0
    ...[0, 1, 2, 3, 4, 5, 6, 7, 8].flatMap((k) => [...get(COEF), ...op.v128Load32SplatAt(4 * k), ...set(splat(k))]),
    ...get(N), ...i32Const(2), ...op.i32Shl, ...set(END_AT),
    ...i32Const(0), ...set(I),
    ...op.block, ...op.loop,
    ...get(I), ...get(END_AT), ...op.i32GeU, ...op.brIf(1),
    // m' = m·β1 + g·(1-β1)
    ...at(M2),
    ...load(M), ...get(B1), ...op.f32x4Mul, ...load(G), ...get(OB1), ...op.f32x4Mul, ...op.f32x4Add,
    ...op.v128Store,
    // v' = v·β2 + (g·g)·(1-β2)
    ...at(V2),
    ...load(V), ...get(B2), ...op.f32x4Mul, ...load(G), ...load(G), ...op.f32x4Mul, ...get(OB2), ...op.f32x4Mul, ...op.f32x4Add,
    ...op.v128Store,
    // w' = w - d·rate with d = (m'/c1) / (sqrt(v'/c2) + ε) [+ w·decay], m' and v' read back
    ...at(W2),
    ...load(W),
    ...load(M2), ...get(C1), ...op.f32x4Div,
    ...load(V2), ...get(C2), ...op.f32x4Div, ...op.f32x4Sqrt, ...get(EPS), ...op.f32x4Add,
    ...op.f32x4Div,
    ...(decay ? [...load(W), ...get(DECAY), ...op.f32x4Mul, ...op.f32x4Add] : []),
    ...get(RATE), ...op.f32x4Mul, ...op.f32x4Sub,
    ...op.v128Store,
    // i += 16
    ...get(I), ...i32Const(16), ...op.i32Add, ...set(I),
    ...op.br(0), ...op.end, ...op.end
  ]
})

/** The functions, for modules that include them (gemm-simd.ts). */
export const adamFunctions: ReadonlyArray<WasmFunction> = [adam(false), adam(true)]

export type AdamName = "adam" | "adamDecay"

/** (w, m, v, g, w', m', v', n, coefficients): byte offsets, an element count and the coefficients' offset. */
export type AdamFn = (w: number, m: number, v: number, g: number, w2: number, m2: number, v2: number, n: number, coef: number) => void
export type AdamSimd = Readonly<Record<AdamName, AdamFn>>

const cache = new WeakMap<WasmMemory, AdamSimd | null>()

/** The SIMD functions bound to `memory`, or null when this engine cannot run them (no SIMD). */
export const adamSimdFor = (memory: WasmMemory): AdamSimd | null => instantiateOn(cache, memory, () => adamFunctions)
