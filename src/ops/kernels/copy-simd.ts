/**
 * Strided block copies on the wasm heap in WebAssembly SIMD: the pads, crops and re-strides
 * around the convolutions' products (conv2d-gemm.ts, conv2d-winograd.ts). Written as JavaScript
 * loops of `copyRun` they cost a call per pixel where a pixel's channels are not contiguous with
 * the next's, and ran on the calling thread only; built into the product's module (gemm-simd.ts)
 * they also run as lanes of its pool (copy-runs.ts splits them). A copy moves bits: results are
 * the same whichever way it is split.
 *
 * copyRuns(dst, src, outer, inner, bytes, dstInner, srcInner, dstOuter, srcOuter), all in bytes:
 *   for o < outer, i < inner: copy `bytes` from src + o·srcOuter + i·srcInner to dst + o·dstOuter + i·dstInner
 * sixteen bytes at a time, the last bytes mod 16 four at a time (bytes must be a multiple of 4,
 * as floats are). Runs must not overlap.
 */
import { I32, instantiateOn, op, V128, type WasmFunction, type WasmMemory } from "./wasm-assembler.ts"

const { localGet: get, localSet: set, i32Const } = op

const [DST, SRC, OUTER, INNER, BYTES, DI, SI, DO, SO] = [0, 1, 2, 3, 4, 5, 6, 7, 8]
const [O, I, D, S, K, VEC] = [9, 10, 11, 12, 13, 14]

const copyRuns: WasmFunction = {
  name: "copyRuns",
  params: new Array<number>(9).fill(I32),
  locals: [[6, I32]],
  code: [
    // vec = bytes rounded down to 16
    ...get(BYTES), ...i32Const(-16), ...op.i32And, ...set(VEC),
    ...i32Const(0), ...set(O),
    ...op.block, ...op.loop,
    ...get(O), ...get(OUTER), ...op.i32GeU, ...op.brIf(1),
    ...i32Const(0), ...set(I),
    ...op.block, ...op.loop,
    ...get(I), ...get(INNER), ...op.i32GeU, ...op.brIf(1),
    // d = dst + o·dstOuter + i·dstInner; s likewise
    ...get(DST), ...get(O), ...get(DO), ...op.i32Mul, ...op.i32Add, ...get(I), ...get(DI), ...op.i32Mul, ...op.i32Add, ...set(D),
    ...get(SRC), ...get(O), ...get(SO), ...op.i32Mul, ...op.i32Add, ...get(I), ...get(SI), ...op.i32Mul, ...op.i32Add, ...set(S),
    ...i32Const(0), ...set(K),
    ...op.block, ...op.loop,
    ...get(K), ...get(VEC), ...op.i32GeU, ...op.brIf(1),
    ...get(D), ...get(K), ...op.i32Add, ...get(S), ...get(K), ...op.i32Add, ...op.v128Load, ...op.v128Store,
    ...get(K), ...i32Const(16), ...op.i32Add, ...set(K),
    ...op.br(0), ...op.end, ...op.end,
    // the tail, a float at a time (memory.copy here cost a call per run: a pixel's few channels)
    ...op.block, ...op.loop,
    ...get(K), ...get(BYTES), ...op.i32GeU, ...op.brIf(1),
    ...get(D), ...get(K), ...op.i32Add, ...get(S), ...get(K), ...op.i32Add, ...op.i32LoadAt(0), ...op.i32StoreAt(0),
    ...get(K), ...i32Const(4), ...op.i32Add, ...set(K),
    ...op.br(0), ...op.end, ...op.end,
    ...get(I), ...i32Const(1), ...op.i32Add, ...set(I),
    ...op.br(0), ...op.end, ...op.end,
    ...get(O), ...i32Const(1), ...op.i32Add, ...set(O),
    ...op.br(0), ...op.end, ...op.end
  ]
}

/** The function, for modules that include it (gemm-simd.ts). */
export const copyFunctions: ReadonlyArray<WasmFunction> = [copyRuns]

export type CopyName = "copyRuns"
export type CopySimd = Readonly<Record<CopyName, (...args: number[]) => void>>

const cache = new WeakMap<WasmMemory, CopySimd | null>()

/** The function bound to `memory`, or null when this engine cannot run it. */
export const copySimdFor = (memory: WasmMemory): CopySimd | null => instantiateOn(cache, memory, () => copyFunctions)
