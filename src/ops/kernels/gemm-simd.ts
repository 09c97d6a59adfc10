/**
 * A matrix product with fused multiply-adds, in WebAssembly relaxed SIMD on the wasm backend's
 * heap (assembled with wasm-assembler.ts): the convolutions' arithmetic (issue 10).
 *
 * XNNPACK's wasm kernels multiply and add in separate instructions: the fixed-width SIMD set has
 * no fused multiply-add. Relaxed SIMD's `f32x4.relaxed_madd` compiles to the CPU's FMA, which
 * halves the arithmetic instructions of a product; V8 11 (Node 20) has it behind
 * `--experimental-wasm-relaxed-simd`, a flag that can be set at run time before a module is
 * compiled. Measured on this project's 2-core EPYC, one thread, CPU time: a 3x3 convolution of
 * 4x128x128x16 → 16 channels in 6.8 ms against XNNPACK's 10.5 ms; 4x32x32x64 → 64, 6.3 against
 * 9.4 ms. Results differ from XNNPACK's in the last bits (one rounding per multiply-add instead
 * of two; relative error ~3e-7) and are the same on every run on the same CPU.
 *
 * `gemm8` and `gemm4` compute, for blocks of 4 rows and 8 (or 4) columns,
 *
 *   C[i, j] = Σ_t Σ_k A[aOff_t + i·lda + k·aStep] · B[bOff_t + k·ldb + j]
 *
 * over a table of taps t: byte offset pairs (aOff_t, bOff_t) of int32, `chunk` rows (a multiple
 * of 4) at a time: every column block of a chunk before the next chunk, so that the chunk's A
 * rows are read from cache by all but the first. With `add` = 1 the sums are added to C's values. A convolution is one
 * call per image (conv2d-gemm.ts: the taps are the filter's, reading shifted rows of the padded
 * input), a filter gradient one call per tap and chunk of pixels; gemm-pool.ts spreads the calls
 * over threads in the threaded build. Arguments are byte offsets and byte strides; M must be a
 * multiple of 4 and N of the column block, and every A row read must lie in the memory.
 */
import { setFlagsFromString } from "node:v8"
import { adamFunctions, type AdamSimd } from "./adam-simd.ts"
import { batchNormFunctions, type BatchNormSimd } from "./batch-norm-simd.ts"
import { copyFunctions, type CopySimd } from "./copy-simd.ts"
import { type TransformFn, winogradFunctions } from "./winograd-simd.ts"
import { I32, instantiateOn, op, V128, type WasmFunction, type WasmMemory } from "./wasm-assembler.ts"

const { localGet: get, localSet: set, localTee: tee, i32Const } = op

/** Rows per block: 4 rows x 2 vectors = 8 accumulators, which with 2 B vectors and the splat fit x64's 16 registers. */
export const GEMM_ROWS = 4

/** `rows` rounded up to whole row blocks (the product's M). */
export const wholeRowBlocks = (rows: number): number => Math.ceil(rows / GEMM_ROWS) * GEMM_ROWS

const gemm = (vectors: 1 | 2): WasmFunction => {
  const MR = GEMM_ROWS
  const [A, B, C, M, N, K, LDA, LDB, LDC, ASTEP, TAPS, NTAPS, CHUNK, ADD] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]
  const [I, J, KK, BP, T, TEND, I0, IEND] = [14, 15, 16, 17, 18, 19, 20, 21]
  const AP = 22 // AP + r: row r's A pointer
  const i32Locals = 8 + MR
  const v = (k: number) => 14 + i32Locals + k
  const acc = (r: number, h: number) => v(r * vectors + h)
  const bv = (h: number) => v(MR * vectors + h)
  const AV = v(MR * vectors + vectors)
  const cols = 4 * vectors
  const rowPointer = (base: number, r: number, ld: number) => [
    ...get(I), ...i32Const(r), ...op.i32Add, ...get(ld), ...op.i32Mul, ...get(base), ...op.i32Add
  ]
  const code: number[] = [
    // tEnd = taps + 8·nTaps
    ...get(TAPS), ...get(NTAPS), ...i32Const(3), ...op.i32Shl, ...op.i32Add, ...set(TEND),
    ...i32Const(0), ...set(I0),
    ...op.block, ...op.loop, // chunks of `chunk` rows, so that their A rows stay in cache across the column blocks
    ...get(I0), ...get(M), ...op.i32GeU, ...op.brIf(1),
    ...get(I0), ...get(CHUNK), ...op.i32Add, ...tee(IEND), ...get(M), ...get(IEND), ...get(M), ...op.i32LtU, ...op.select, ...set(IEND),
    ...i32Const(0), ...set(J),
    ...op.block, ...op.loop, // columns, `cols` at a time
    ...get(J), ...get(N), ...op.i32GeU, ...op.brIf(1),
    ...get(I0), ...set(I),
    ...op.block, ...op.loop, // the chunk's rows, MR at a time
    ...get(I), ...get(IEND), ...op.i32GeU, ...op.brIf(1),
    // accumulators: zero, or C's block when adding to it
    ...Array.from({ length: MR }, (_, r) => Array.from({ length: vectors }, (_, h) => [
      ...rowPointer(C, r, LDC), ...get(J), ...i32Const(2), ...op.i32Shl, ...op.i32Add, ...op.v128LoadAt(16 * h),
      ...op.v128Zero,
      ...get(ADD), ...op.selectV128, ...set(acc(r, h))
    ]).flat()).flat(),
    ...get(TAPS), ...set(T),
    ...op.block, ...op.loop, // taps
    ...get(T), ...get(TEND), ...op.i32GeU, ...op.brIf(1),
    ...Array.from({ length: MR }, (_, r) => [...rowPointer(A, r, LDA), ...get(T), ...op.i32LoadAt(0), ...op.i32Add, ...set(AP + r)]).flat(),
    ...get(B), ...get(T), ...op.i32LoadAt(4), ...op.i32Add, ...get(J), ...i32Const(2), ...op.i32Shl, ...op.i32Add, ...set(BP),
    ...get(K), ...set(KK),
    ...op.block, ...op.loop, // k
    ...get(KK), ...op.i32Eqz, ...op.brIf(1),
    ...Array.from({ length: vectors }, (_, h) => [...get(BP), ...op.v128LoadAt(16 * h), ...set(bv(h))]).flat(),
    ...Array.from({ length: MR }, (_, r) => [
      ...get(AP + r), ...op.v128Load32Splat, ...set(AV),
      ...Array.from({ length: vectors }, (_, h) => [...get(AV), ...get(bv(h)), ...get(acc(r, h)), ...op.f32x4RelaxedMadd, ...set(acc(r, h))]).flat(),
      ...get(AP + r), ...get(ASTEP), ...op.i32Add, ...set(AP + r)
    ]).flat(),
    ...get(BP), ...get(LDB), ...op.i32Add, ...set(BP),
    ...get(KK), ...i32Const(1), ...op.i32Sub, ...set(KK),
    ...op.br(0), ...op.end, ...op.end,
    ...get(T), ...i32Const(8), ...op.i32Add, ...set(T),
    ...op.br(0), ...op.end, ...op.end,
    // store the block: C + (i + r)·ldc + 4j
    ...Array.from({ length: MR }, (_, r) => [
      ...rowPointer(C, r, LDC), ...get(J), ...i32Const(2), ...op.i32Shl, ...op.i32Add, ...tee(BP),
      ...get(acc(r, 0)), ...op.v128StoreAt(0),
      ...(vectors === 2 ? [...get(BP), ...get(acc(r, 1)), ...op.v128StoreAt(16)] : [])
    ]).flat(),
    ...get(I), ...i32Const(MR), ...op.i32Add, ...set(I),
    ...op.br(0), ...op.end, ...op.end,
    ...get(J), ...i32Const(cols), ...op.i32Add, ...set(J),
    ...op.br(0), ...op.end, ...op.end,
    ...get(IEND), ...set(I0),
    ...op.br(0), ...op.end, ...op.end
  ]
  return {
    name: vectors === 2 ? "gemm8" : "gemm4",
    params: new Array<number>(14).fill(I32),
    locals: [[i32Locals, I32], [MR * vectors + vectors + 1, V128]],
    code
  }
}

type GemmFn = (
  a: number, b: number, c: number, m: number, n: number, k: number,
  lda: number, ldb: number, ldc: number, aStep: number, taps: number, nTaps: number, chunk: number,
  add: 0 | 1
) => void
/**
 * The product, Winograd's transforms, Adam's and batch norm's loops (adam-simd.ts,
 * batch-norm-simd.ts) and strided copies (copy-simd.ts): everything the pool's workers run.
 */
export interface GemmSimd extends AdamSimd, BatchNormSimd, CopySimd {
  readonly gemm8: GemmFn
  readonly gemm4: GemmFn
  // Winograd's tile transforms (winograd-simd.ts), in this module so that the pool's workers have them
  readonly winogradInput: TransformFn
  readonly winogradOutput: TransformFn
  readonly winogradGradient: TransformFn
  readonly winogradFilter: TransformFn
  readonly winogradFilterGradient: TransformFn
  /** The compiled module, which worker threads instantiate on the same shared memory (gemm-pool.ts). */
  readonly module: object
}

const cache = new WeakMap<WasmMemory, GemmSimd | null>()

let relaxedSimd = false
/**
 * Turns on V8's relaxed-SIMD flag, once: every kernel that runs on the product's module looks it
 * up here, and setting a V8 flag costs tens of microseconds (a second of a predict run's 20 when
 * it was set on every lookup).
 */
const relaxedSimdOn = (): void => {
  if (relaxedSimd) return
  setFlagsFromString("--experimental-wasm-relaxed-simd")
  relaxedSimd = true
}

/**
 * The product bound to `memory`, or null where the engine cannot compile relaxed SIMD (then the
 * callers keep XNNPACK's kernels). Turns on V8's relaxed-SIMD flag first.
 */
export const gemmSimdFor = (memory: WasmMemory): GemmSimd | null => {
  relaxedSimdOn()
  return instantiateOn(cache, memory, () => [gemm(2), gemm(1), ...winogradFunctions, ...adamFunctions, ...batchNormFunctions, ...copyFunctions], (exports, module) => ({ ...(exports as Omit<GemmSimd, "module">), module }))
}
