/**
 * The Adam update of adam.ts as a small WebAssembly SIMD function running on the wasm backend's
 * own heap: four float32 lanes per instruction instead of JavaScript's scalar float64 divisions
 * and square roots, which made the scalar loop about three times slower than its memory traffic
 * (~200 ms per step on the width-1/4 RSTN's 18M parameters).
 *
 * No compiler toolchain is needed (or available here): the module is assembled below from its
 * instructions, about 300 bytes. It imports the backend's memory (shared in the threaded build)
 * and exports `adam` and `adamDecay` (the same with decoupled weight decay), taking byte offsets
 * of w, m, v, g and of the outputs w', m', v', an element count that is a multiple of 4, and
 * the float32 coefficients. float32 +, -, ·, / and sqrt are correctly rounded, so each lane gives
 * the bits adam.ts's scalar code (and the unfused op chain) gives.
 */

// Opcodes (WebAssembly core 2.0 and its fixed-width SIMD proposal).
const I32 = 0x7f
const F32 = 0x7d
const V128 = 0x7b
const LOCAL_GET = 0x20
const LOCAL_SET = 0x21
const I32_CONST = 0x41
const I32_ADD = 0x6a
const I32_SHL = 0x74
const I32_GE_U = 0x4f
const BLOCK = 0x02
const LOOP = 0x03
const BR = 0x0c
const BR_IF = 0x0d
const END = 0x0b
const EMPTY = 0x40
const SIMD = 0xfd
const v128Load = [SIMD, 0x00, 0x02, 0x00] // memarg: 4-byte alignment hint, offset 0
const v128Store = [SIMD, 0x0b, 0x02, 0x00]
const f32x4Splat = [SIMD, 0x13]
const f32x4Sqrt = [SIMD, 0xe3, 0x01]
const f32x4Add = [SIMD, 0xe4, 0x01]
const f32x4Sub = [SIMD, 0xe5, 0x01]
const f32x4Mul = [SIMD, 0xe6, 0x01]
const f32x4Div = [SIMD, 0xe7, 0x01]

const uleb = (n: number): number[] => {
  const out: number[] = []
  do {
    let byte = n & 0x7f
    n >>>= 7
    if (n !== 0) byte |= 0x80
    out.push(byte)
  } while (n !== 0)
  return out
}
const name = (s: string): number[] => [...uleb(s.length), ...Buffer.from(s, "utf8")]
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()]
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body]

// Parameters: 0..7 i32 (byte offsets w, m, v, g, w', m', v'; element count n), 8..16 f32
// (β1, 1-β1, β2, 1-β2, c1, c2, ε, rate, decay). Locals: 17 i (byte offset), 18 end, 19..27 the
// coefficients splatted to four lanes.
const [W, M, V, G, W2, M2, V2, N] = [0, 1, 2, 3, 4, 5, 6, 7]
const I = 17
const END_AT = 18
const splat = (k: number) => 19 + k
const [B1, OB1, B2, OB2, C1, C2, EPS, RATE, DECAY] = [0, 1, 2, 3, 4, 5, 6, 7, 8].map(splat) as number[]

const get = (l: number) => [LOCAL_GET, l]
const at = (base: number) => [...get(base), ...get(I), I32_ADD] // base + i
const load = (base: number) => [...at(base), ...v128Load]

const body = (decay: boolean): number[] => {
  const code = [
    // splat the coefficients; end = n * 4; i = 0
    ...[0, 1, 2, 3, 4, 5, 6, 7, 8].flatMap((k) => [...get(8 + k), ...f32x4Splat, LOCAL_SET, splat(k)]),
    ...get(N), I32_CONST, 2, I32_SHL, LOCAL_SET, END_AT,
    I32_CONST, 0, LOCAL_SET, I,
    BLOCK, EMPTY, LOOP, EMPTY,
    ...get(I), ...get(END_AT), I32_GE_U, BR_IF, 1,
    // m' = m·β1 + g·(1-β1), stored; left on the stack for d
    ...at(M2),
    ...load(M), ...get(B1), ...f32x4Mul, ...load(G), ...get(OB1), ...f32x4Mul, ...f32x4Add,
    ...v128Store,
    // v' = v·β2 + (g·g)·(1-β2), stored
    ...at(V2),
    ...load(V), ...get(B2), ...f32x4Mul, ...load(G), ...load(G), ...f32x4Mul, ...get(OB2), ...f32x4Mul, ...f32x4Add,
    ...v128Store,
    // w' = w - d·rate with d = (m'/c1) / (sqrt(v'/c2) + ε) [+ w·decay], m' and v' read back
    ...at(W2),
    ...load(W),
    ...load(M2), ...get(C1), ...f32x4Div,
    ...load(V2), ...get(C2), ...f32x4Div, ...f32x4Sqrt, ...get(EPS), ...f32x4Add,
    ...f32x4Div,
    ...(decay ? [...load(W), ...get(DECAY), ...f32x4Mul, ...f32x4Add] : []),
    ...get(RATE), ...f32x4Mul, ...f32x4Sub,
    ...v128Store,
    // i += 16
    ...get(I), I32_CONST, 16, I32_ADD, LOCAL_SET, I,
    BR, 0,
    END, END, END
  ]
  const locals = vec([[2, I32], [9, V128]])
  return [...uleb(locals.length + code.length), ...locals, ...code]
}

/** The module's bytes; `shared` must match the memory it will import. */
export const adamModuleBytes = (shared: boolean): Uint8Array => {
  const type = [0x60, ...vec(Array.from({ length: 17 }, (_, k) => [k < 8 ? I32 : F32])), 0x00]
  const limits = shared ? [0x03, 0x00, ...uleb(65536)] : [0x00, 0x00]
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([type])),
    ...section(2, vec([[...name("env"), ...name("memory"), 0x02, ...limits]])),
    ...section(3, vec([[0x00], [0x00]])),
    ...section(7, vec([[...name("adam"), 0x00, 0x00], [...name("adamDecay"), 0x00, 0x01]])),
    ...section(10, [...uleb(2), ...body(false), ...body(true)])
  ])
}

type AdamFn = (...args: number[]) => void
export interface AdamSimd {
  readonly adam: AdamFn
  readonly adamDecay: AdamFn
}

interface WasmMemory {
  readonly buffer: ArrayBufferLike
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object
  Instance: new (module: object, imports: object) => { readonly exports: unknown }
}
const WebAssemblyApi = (globalThis as unknown as { readonly WebAssembly: WasmApi }).WebAssembly

const instances = new WeakMap<WasmMemory, AdamSimd | null>()

/**
 * The SIMD functions bound to `memory`, or null when this engine cannot run them (no SIMD):
 * callers then use the scalar loop. Instantiated once per memory (synchronously: it is tiny).
 */
export const adamSimdFor = (memory: WasmMemory): AdamSimd | null => {
  let found = instances.get(memory)
  if (found === undefined) {
    try {
      const shared = typeof SharedArrayBuffer !== "undefined" && memory.buffer instanceof SharedArrayBuffer
      const module = new WebAssemblyApi.Module(adamModuleBytes(shared))
      found = new WebAssemblyApi.Instance(module, { env: { memory } }).exports as AdamSimd
    } catch {
      found = null
    }
    instances.set(memory, found)
  }
  return found
}
