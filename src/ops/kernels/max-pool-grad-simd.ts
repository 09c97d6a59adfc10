/**
 * MaxPoolGrad of the networks' 2x2, stride-2 pooling (every VGG block ends with one) as a
 * WebAssembly SIMD function on the wasm backend's heap, four channels per instruction: the
 * scalar walk of max-pool-grad.ts took ~20 ms of a width-1/4 training step.
 *
 * Same rule as the scalar walk, lane by lane: the window's pixels are visited in row-major order
 * and one replaces the best so far only when strictly greater (so the first maximum wins, and
 * NaN or a window of -Infinity routes nothing); the output gradient goes to the winner, 0 + g
 * as the scalar code adds it into zeros. The windows do not overlap, so every input pixel is
 * written once. Requires an input exactly twice the output's size and channels in fours.
 */
import { I32, instantiateOn, op, V128, type WasmFunction, type WasmMemory } from "./wasm-assembler.ts"

const { localGet: get, localSet: set, i32Const } = op

// Parameters (byte offsets and sizes): x, dy, dx, output rows over all images, output width,
// bytes per pixel (4·C). Locals: r, c, d, input row bytes, the window's base, dy's and dx's
// pointers; vectors: the four pixels, best, the four masks, g, taken, zero.
const [X, DY, DX, ROWS, WIDTH, PIXEL] = [0, 1, 2, 3, 4, 5]
const [R, C, D, ROW, P, G, Q] = [6, 7, 8, 9, 10, 11, 12]
const v = (k: number) => 13 + k
const PX = [v(0), v(1), v(2), v(3)]
const BEST = v(4)
const MASK = [v(5), v(6), v(7), v(8)]
const GV = v(9)
const TAKEN = v(10)
const ZERO = v(11)

/** Byte offset of window pixel k (row-major) from the window's base. */
const pixelOffset = (k: number) => [...(k >= 2 ? get(ROW) : i32Const(0)), ...(k % 2 === 1 ? [...get(PIXEL), ...op.i32Add] : [])]

const kernel: WasmFunction = {
  name: "maxPool2x2Grad",
  params: [I32, I32, I32, I32, I32, I32],
  locals: [[7, I32], [12, V128]],
  code: [
    ...op.v128Zero, ...set(ZERO),
    // input row = 2 · width · pixel bytes
    ...get(WIDTH), ...get(PIXEL), ...op.i32Mul, ...i32Const(1), ...op.i32Shl, ...set(ROW),
    ...i32Const(0), ...set(R),
    ...op.block, ...op.loop,
    ...get(R), ...get(ROWS), ...op.i32GeU, ...op.brIf(1),
    ...i32Const(0), ...set(C),
    ...op.block, ...op.loop,
    ...get(C), ...get(WIDTH), ...op.i32GeU, ...op.brIf(1),
    // window base (relative): 2r · row + 2c · pixel; dy: (r · width + c) · pixel
    ...get(R), ...i32Const(1), ...op.i32Shl, ...get(ROW), ...op.i32Mul,
    ...get(C), ...i32Const(1), ...op.i32Shl, ...get(PIXEL), ...op.i32Mul, ...op.i32Add, ...set(P),
    ...get(R), ...get(WIDTH), ...op.i32Mul, ...get(C), ...op.i32Add, ...get(PIXEL), ...op.i32Mul, ...get(DY), ...op.i32Add, ...set(G),
    ...i32Const(0), ...set(D),
    ...op.block, ...op.loop,
    ...get(D), ...get(PIXEL), ...op.i32GeU, ...op.brIf(1),
    ...get(X), ...get(P), ...op.i32Add, ...get(D), ...op.i32Add, ...set(Q),
    ...[0, 1, 2, 3].flatMap((k) => [...get(Q), ...pixelOffset(k), ...op.i32Add, ...op.v128Load, ...set(PX[k]!)]),
    ...op.f32Const(Number.NEGATIVE_INFINITY), ...op.f32x4Splat, ...set(BEST),
    ...[0, 1, 2, 3].flatMap((k) => [
      ...get(PX[k]!), ...get(BEST), ...op.f32x4Gt, ...set(MASK[k]!),
      ...(k < 3 ? [...get(PX[k]!), ...get(BEST), ...get(MASK[k]!), ...op.v128Bitselect, ...set(BEST)] : [])
    ]),
    ...get(G), ...get(D), ...op.i32Add, ...op.v128Load, ...set(GV),
    ...get(DX), ...get(P), ...op.i32Add, ...get(D), ...op.i32Add, ...set(Q),
    // the winner is the last pixel whose mask is set
    ...op.v128Zero, ...set(TAKEN),
    ...[3, 2, 1, 0].flatMap((k) => [
      ...get(Q), ...pixelOffset(k), ...op.i32Add,
      ...get(GV), ...get(MASK[k]!), ...get(TAKEN), ...op.v128AndNot, ...op.v128And, ...get(ZERO), ...op.f32x4Add,
      ...op.v128Store,
      ...get(TAKEN), ...get(MASK[k]!), ...op.v128Or, ...set(TAKEN)
    ]),
    ...get(D), ...i32Const(16), ...op.i32Add, ...set(D),
    ...op.br(0), ...op.end, ...op.end,
    ...get(C), ...i32Const(1), ...op.i32Add, ...set(C),
    ...op.br(0), ...op.end, ...op.end,
    ...get(R), ...i32Const(1), ...op.i32Add, ...set(R),
    ...op.br(0), ...op.end, ...op.end
  ]
}

export type MaxPool2x2Grad = (x: number, dy: number, dx: number, rows: number, width: number, pixelBytes: number) => void

const cache = new WeakMap<WasmMemory, { readonly maxPool2x2Grad: MaxPool2x2Grad } | null>()

/** The function bound to `memory`, or null when this engine cannot run it (no SIMD). */
export const maxPoolGradSimdFor = (memory: WasmMemory): MaxPool2x2Grad | null =>
  instantiateOn(cache, memory, () => [kernel])?.maxPool2x2Grad ?? null
