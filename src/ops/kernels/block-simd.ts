/**
 * Two memory-bound helpers of the per-tap products (conv2d-small-map.ts), in WebAssembly SIMD on
 * the wasm backend's heap: a matrix transpose by 4x4 blocks of lane shuffles, and an in-place
 * vector sum. fc6's input gradient transposes its 25 MB filter once per step, which XNNPACK's
 * generic transpose did in 11 ms; the per-tap sums were a scalar JavaScript loop.
 */
import { I32, instantiateOn, op, V128, type WasmFunction, type WasmMemory } from "./wasm-assembler.ts"

const { localGet: get, localSet: set, i32Const } = op

// transpose4(src, dst, rows, cols, srcStride, dstStride): dst[j, i] = src[i, j], byte offsets
// and strides, rows and cols multiples of 4. Locals: i, j, s, d, then 8 vectors.
const [SRC, DST, ROWS, COLS, SS, DS] = [0, 1, 2, 3, 4, 5]
const [I, J, S, D] = [6, 7, 8, 9]
const r = (k: number) => 10 + k // r0..r3, then t0..t3 as r(4..7)

const transpose: WasmFunction = {
  name: "transpose4",
  params: [I32, I32, I32, I32, I32, I32],
  locals: [[4, I32], [8, V128]],
  code: [
    ...i32Const(0), ...set(I),
    ...op.block, ...op.loop,
    ...get(I), ...get(ROWS), ...op.i32GeU, ...op.brIf(1),
    ...i32Const(0), ...set(J),
    ...op.block, ...op.loop,
    ...get(J), ...get(COLS), ...op.i32GeU, ...op.brIf(1),
    // s = src + i·ss + 4j; d = dst + j·ds + 4i
    ...get(SRC), ...get(I), ...get(SS), ...op.i32Mul, ...op.i32Add, ...get(J), ...i32Const(2), ...op.i32Shl, ...op.i32Add, ...set(S),
    ...get(DST), ...get(J), ...get(DS), ...op.i32Mul, ...op.i32Add, ...get(I), ...i32Const(2), ...op.i32Shl, ...op.i32Add, ...set(D),
    ...[0, 1, 2, 3].flatMap((k) => [...get(S), ...op.v128Load, ...set(r(k)), ...get(S), ...get(SS), ...op.i32Add, ...set(S)]),
    ...get(r(0)), ...get(r(1)), ...op.shuffle32([0, 4, 1, 5]), ...set(r(4)),
    ...get(r(0)), ...get(r(1)), ...op.shuffle32([2, 6, 3, 7]), ...set(r(5)),
    ...get(r(2)), ...get(r(3)), ...op.shuffle32([0, 4, 1, 5]), ...set(r(6)),
    ...get(r(2)), ...get(r(3)), ...op.shuffle32([2, 6, 3, 7]), ...set(r(7)),
    ...([[4, 6, [0, 1, 4, 5]], [4, 6, [2, 3, 6, 7]], [5, 7, [0, 1, 4, 5]], [5, 7, [2, 3, 6, 7]]] as const).flatMap(([a, b, lanes]) => [
      ...get(D), ...get(r(a)), ...get(r(b)), ...op.shuffle32(lanes), ...op.v128Store,
      ...get(D), ...get(DS), ...op.i32Add, ...set(D)
    ]),
    ...get(J), ...i32Const(4), ...op.i32Add, ...set(J),
    ...op.br(0), ...op.end, ...op.end,
    ...get(I), ...i32Const(4), ...op.i32Add, ...set(I),
    ...op.br(0), ...op.end, ...op.end
  ]
}

// addInto(dst, src, bytes): dst += src over `bytes` (a multiple of 16). Local: k.
const addInto: WasmFunction = {
  name: "addInto",
  params: [I32, I32, I32],
  locals: [[1, I32]],
  code: [
    ...i32Const(0), ...set(3),
    ...op.block, ...op.loop,
    ...get(3), ...get(2), ...op.i32GeU, ...op.brIf(1),
    ...get(0), ...get(3), ...op.i32Add,
    ...get(0), ...get(3), ...op.i32Add, ...op.v128Load,
    ...get(1), ...get(3), ...op.i32Add, ...op.v128Load,
    ...op.f32x4Add, ...op.v128Store,
    ...get(3), ...i32Const(16), ...op.i32Add, ...set(3),
    ...op.br(0), ...op.end, ...op.end
  ]
}

export interface BlockSimd {
  readonly transpose4: (src: number, dst: number, rows: number, cols: number, srcStride: number, dstStride: number) => void
  readonly addInto: (dst: number, src: number, bytes: number) => void
}

const cache = new WeakMap<WasmMemory, BlockSimd | null>()

/** The functions bound to `memory`, or null when this engine cannot run them (no SIMD). */
export const blockSimdFor = (memory: WasmMemory): BlockSimd | null => instantiateOn(cache, memory, () => [transpose, addInto])
