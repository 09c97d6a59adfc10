/**
 * The tile transforms of Winograd's F(2x2, 3x3) convolution (conv2d-winograd.ts; issue 10), in
 * WebAssembly SIMD over NHWC data with 4 channels per vector, assembled into the same module as
 * the product (gemm-simd.ts) so that the pool's worker threads (gemm-pool.ts) run them too.
 *
 * A 2x2 block of a 3x3 convolution's output is Y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A, d the 4x4 input
 * tile under it, g the 3x3 filter:
 *
 *   Bᵀ = | 1  0 -1  0 |    G = | 1    0    0  |    Aᵀ = | 1  1  1  0 |
 *        | 0  1  1  0 |        | ½    ½    ½  |         | 0  1 -1 -1 |
 *        | 0 -1  1  0 |        | ½   -½    ½  |
 *        | 0  1  0 -1 |        | 0    0    1  |
 *
 * so the 16 elementwise products, summed over the input channels, are 16 matrix products
 * M[ξ] [tiles, Cout] = V[ξ] [tiles, Cin] · U[ξ] [Cin, Cout]: 16 multiplies per output block
 * instead of 36. The filter gradient is the same map transposed: dU[ξ] = V[ξ]ᵀ · Ŷ[ξ] with
 * Ŷ = A dy Aᵀ, then dg = Gᵀ dU G.
 *
 * Every function works on `rows` rows of `tiles` tiles: tile (r, t)'s top-left pixel is at
 * src + r·rowStride + t·2·pixelStride (the transforms reading pixels) or dst + ... (the one
 * writing them), its 16 matrix rows at base + (r·tiles + t)·ld + ξ·mstride; `chanBytes` (a
 * multiple of 16) bytes of channels per pixel. All arguments are byte addresses and strides.
 * Each output element is computed by the same additions in the same order on any thread.
 */
import { I32, op, V128, type WasmFunction } from "./wasm-assembler.ts"

const { localGet: get, localSet: set, i32Const } = op

// Parameters shared by the three transforms (the pixel side, the matrix side, the loop bounds).
const [PIX, MAT, TILES, ROWS, ROW_STRIDE, LINE, PIXEL, CHAN, LD, MSTRIDE] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
const PARAMS = 10
// i32 locals: r, t, c, the tile's pixel and matrix pointers
const [R, T, C, P, Q] = [10, 11, 12, 13, 14]
const I32_LOCALS = 5
const v = (k: number): number => PARAMS + I32_LOCALS + k
const V128_LOCALS = 32

/** Address of pixel (i, j) of the tile, channel c: P + i·line + j·pixel + c. */
const pixelAddress = (i: number, j: number): number[] => [
  ...get(P), ...get(LINE), ...i32Const(i), ...op.i32Mul, ...op.i32Add,
  ...get(PIXEL), ...i32Const(j), ...op.i32Mul, ...op.i32Add, ...get(C), ...op.i32Add
]

/** Address of matrix ξ's element for the tile, channel c: Q + ξ·mstride + c. */
const matrixAddress = (xi: number): number[] => [
  ...get(Q), ...get(MSTRIDE), ...i32Const(xi), ...op.i32Mul, ...op.i32Add, ...get(C), ...op.i32Add
]

/** Vector expressions: a local, and sums and differences of them. */
type Expr = number[]
const L = (k: number): Expr => get(v(k))
const add = (a: Expr, b: Expr): Expr => [...a, ...b, ...op.f32x4Add]
const sub = (a: Expr, b: Expr): Expr => [...a, ...b, ...op.f32x4Sub]
const neg = (a: Expr): Expr => [...a, ...op.f32x4Neg]

/** The loops over rows, tiles and channel vectors around `body`, with P and Q at the tile and C the channel offset. */
const tileLoops = (name: string, body: number[]): WasmFunction => ({
  name,
  params: new Array<number>(PARAMS).fill(I32),
  locals: [[I32_LOCALS, I32], [V128_LOCALS, V128]],
  code: [
    ...i32Const(0), ...set(R),
    ...op.block, ...op.loop,
    ...get(R), ...get(ROWS), ...op.i32GeU, ...op.brIf(1),
    ...i32Const(0), ...set(T),
    ...op.block, ...op.loop,
    ...get(T), ...get(TILES), ...op.i32GeU, ...op.brIf(1),
    // P = pix + r·rowStride + t·2·pixel; Q = mat + (r·tiles + t)·ld
    ...get(PIX), ...get(R), ...get(ROW_STRIDE), ...op.i32Mul, ...op.i32Add,
    ...get(T), ...get(PIXEL), ...op.i32Mul, ...i32Const(1), ...op.i32Shl, ...op.i32Add, ...set(P),
    ...get(MAT), ...get(R), ...get(TILES), ...op.i32Mul, ...get(T), ...op.i32Add, ...get(LD), ...op.i32Mul, ...op.i32Add, ...set(Q),
    ...i32Const(0), ...set(C),
    ...op.block, ...op.loop,
    ...get(C), ...get(CHAN), ...op.i32GeU, ...op.brIf(1),
    ...body,
    ...get(C), ...i32Const(16), ...op.i32Add, ...set(C),
    ...op.br(0), ...op.end, ...op.end,
    ...get(T), ...i32Const(1), ...op.i32Add, ...set(T),
    ...op.br(0), ...op.end, ...op.end,
    ...get(R), ...i32Const(1), ...op.i32Add, ...set(R),
    ...op.br(0), ...op.end, ...op.end
  ]
})

const load = (address: number[], k: number): number[] => [...address, ...op.v128Load, ...set(v(k))]
const store = (address: number[], value: Expr): number[] => [...address, ...value, ...op.v128Store]
const range4 = [0, 1, 2, 3] as const

/** V = Bᵀ d B: the input tile (4x4 pixels) to its 16 matrix rows. */
const inputTransform: WasmFunction = (() => {
  const d = (i: number, j: number) => 4 * i + j // locals 0-15: the tile
  const t = (i: number, j: number) => 16 + 4 * i + j // locals 16-31: d B
  const rowsOf = (i: number): number[] => [
    ...sub(L(d(i, 0)), L(d(i, 2))), ...set(v(t(i, 0))),
    ...add(L(d(i, 1)), L(d(i, 2))), ...set(v(t(i, 1))),
    ...sub(L(d(i, 2)), L(d(i, 1))), ...set(v(t(i, 2))),
    ...sub(L(d(i, 1)), L(d(i, 3))), ...set(v(t(i, 3)))
  ]
  const column = (i: number, j: number): Expr =>
    [sub(L(t(0, j)), L(t(2, j))), add(L(t(1, j)), L(t(2, j))), sub(L(t(2, j)), L(t(1, j))), sub(L(t(1, j)), L(t(3, j)))][i]!
  return tileLoops("winogradInput", [
    ...range4.flatMap((i) => range4.flatMap((j) => load(pixelAddress(i, j), d(i, j)))),
    ...range4.flatMap(rowsOf),
    ...range4.flatMap((i) => range4.flatMap((j) => store(matrixAddress(4 * i + j), column(i, j))))
  ])
})()

/** Y = Aᵀ M A: the tile's 16 product rows to its 2x2 output pixels (PIX is then the output). */
const outputTransform: WasmFunction = (() => {
  const m = (i: number, j: number) => 4 * i + j
  const s = (i: number, j: number) => 16 + 2 * i + j // M A, 4x2
  const rowsOf = (i: number): number[] => [
    ...add(add(L(m(i, 0)), L(m(i, 1))), L(m(i, 2))), ...set(v(s(i, 0))),
    ...sub(sub(L(m(i, 1)), L(m(i, 2))), L(m(i, 3))), ...set(v(s(i, 1)))
  ]
  const column = (a: number, b: number): Expr =>
    a === 0 ? add(add(L(s(0, b)), L(s(1, b))), L(s(2, b))) : sub(sub(L(s(1, b)), L(s(2, b))), L(s(3, b)))
  return tileLoops("winogradOutput", [
    ...range4.flatMap((i) => range4.flatMap((j) => load(matrixAddress(4 * i + j), m(i, j)))),
    ...range4.flatMap(rowsOf),
    ...[0, 1].flatMap((a) => [0, 1].flatMap((b) => store(pixelAddress(a, b), column(a, b))))
  ])
})()

/** Ŷ = A dy Aᵀ: the output gradient's 2x2 pixels to the tile's 16 matrix rows (the filter gradient's). */
const gradientTransform: WasmFunction = (() => {
  const u = (a: number, b: number) => 2 * a + b
  const r = (a: number, j: number) => 4 + 4 * a + j // dy Aᵀ, 2x4
  const rowsOf = (a: number): number[] => [
    ...L(u(a, 0)), ...set(v(r(a, 0))),
    ...add(L(u(a, 0)), L(u(a, 1))), ...set(v(r(a, 1))),
    ...sub(L(u(a, 0)), L(u(a, 1))), ...set(v(r(a, 2))),
    ...neg(L(u(a, 1))), ...set(v(r(a, 3)))
  ]
  const column = (i: number, j: number): Expr =>
    [L(r(0, j)), add(L(r(0, j)), L(r(1, j))), sub(L(r(0, j)), L(r(1, j))), neg(L(r(1, j)))][i]!
  return tileLoops("winogradGradient", [
    ...[0, 1].flatMap((a) => [0, 1].flatMap((b) => load(pixelAddress(a, b), u(a, b)))),
    ...[0, 1].flatMap(rowsOf),
    ...range4.flatMap((i) => range4.flatMap((j) => store(matrixAddress(4 * i + j), column(i, j))))
  ])
})()

const half = (e: Expr): Expr => [...e, ...get(v(HALF)), ...op.f32x4Mul]
const HALF = 31
const setHalf = [...op.f32Const(0.5), ...op.f32x4Splat, ...set(v(HALF))]

/**
 * U = G g Gᵀ: a 3x3 filter (the "pixels": taps (i, j) at i·line + j·pixel, one tile per row of
 * input channels, output channels as lanes) to its 16 matrix rows.
 */
const filterTransform: WasmFunction = (() => {
  const g = (i: number, j: number) => 3 * i + j // locals 0-8
  const t = (p: number, j: number) => 9 + 3 * p + j // G g, 4x3: locals 9-20
  const gColumn = (p: number, j: number): Expr =>
    [L(g(0, j)), half(add(add(L(g(0, j)), L(g(1, j))), L(g(2, j)))), half(add(sub(L(g(0, j)), L(g(1, j))), L(g(2, j)))), L(g(2, j))][p]!
  const uRow = (p: number, q: number): Expr =>
    [L(t(p, 0)), half(add(add(L(t(p, 0)), L(t(p, 1))), L(t(p, 2)))), half(add(sub(L(t(p, 0)), L(t(p, 1))), L(t(p, 2)))), L(t(p, 2))][q]!
  return tileLoops("winogradFilter", [
    ...setHalf,
    ...[0, 1, 2].flatMap((i) => [0, 1, 2].flatMap((j) => load(pixelAddress(i, j), g(i, j)))),
    ...range4.flatMap((p) => [0, 1, 2].flatMap((j) => [...gColumn(p, j), ...set(v(t(p, j)))])),
    ...range4.flatMap((p) => range4.flatMap((q) => store(matrixAddress(4 * p + q), uRow(p, q))))
  ])
})()

/** dg = Gᵀ dU G: the filter gradient's 16 summed matrix rows to its 3x3 taps (stored like the filter's). */
const filterGradientTransform: WasmFunction = (() => {
  const d = (p: number, q: number) => 4 * p + q // locals 0-15
  const s = (p: number, j: number) => 16 + 3 * p + j // dU G, 4x3: locals 16-27
  // (Gᵀ x)[j] for a column x of 4
  const byG = (x: (k: number) => Expr, j: number): Expr =>
    [add(x(0), half(add(x(1), x(2)))), half(sub(x(1), x(2))), add(half(add(x(1), x(2))), x(3))][j]!
  return tileLoops("winogradFilterGradient", [
    ...setHalf,
    ...range4.flatMap((p) => range4.flatMap((q) => load(matrixAddress(4 * p + q), d(p, q)))),
    ...range4.flatMap((p) => [0, 1, 2].flatMap((j) => [...byG((q) => L(d(p, q)), j), ...set(v(s(p, j)))])),
    ...[0, 1, 2].flatMap((i) => [0, 1, 2].flatMap((j) => store(pixelAddress(i, j), byG((p) => L(s(p, j)), i))))
  ])
})()

/** The transforms, in the order the pool's commands number them after the product's functions. */
export const winogradFunctions: ReadonlyArray<WasmFunction> = [inputTransform, outputTransform, gradientTransform, filterTransform, filterGradientTransform]

/** A transform's signature (see the module comment). */
export type TransformFn = (
  pix: number, mat: number, tiles: number, rows: number, rowStride: number, line: number, pixel: number,
  chanBytes: number, ld: number, mstride: number
) => void

export type TransformName = "winogradInput" | "winogradOutput" | "winogradGradient" | "winogradFilter" | "winogradFilterGradient"
