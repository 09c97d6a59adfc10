/**
 * Just enough of a WebAssembly assembler to write small SIMD kernels by hand (adam-simd.ts,
 * batch-norm-simd.ts) without a compiler toolchain, which these machines do not have: opcodes
 * of the core and fixed-width SIMD instruction sets, LEB128, and a module that imports the
 * wasm backend's memory ("env"."memory", shared in the threaded build) and exports functions.
 * Instantiated synchronously (the modules are a few hundred bytes) once per memory.
 */

export const I32 = 0x7f
export const F32 = 0x7d
export const V128 = 0x7b

/** Instructions, as byte arrays to spread into a function body. */
export const op = {
  localGet: (l: number) => [0x20, ...uleb(l)],
  localSet: (l: number) => [0x21, ...uleb(l)],
  localTee: (l: number) => [0x22, ...uleb(l)],
  i32Const: (v: number) => [0x41, ...sleb(v)],
  i32Add: [0x6a],
  i32Sub: [0x6b],
  i32Mul: [0x6c],
  i32Shl: [0x74],
  i32Eq: [0x46],
  i32Eqz: [0x45],
  i32GeU: [0x4f],
  i32LtU: [0x49],
  i32And: [0x71],
  select: [0x1b],
  selectV128: [0x1c, 0x01, 0x7b],
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  br: (depth: number) => [0x0c, depth],
  brIf: (depth: number) => [0x0d, depth],
  end: [0x0b],
  // SIMD (prefix 0xfd); memory accesses with a 4-byte alignment hint and offset 0
  v128Load: [0xfd, 0x00, 0x02, 0x00],
  v128Store: [0xfd, 0x0b, 0x02, 0x00],
  v128Load64Zero: [0xfd, 0x5d, 0x02, 0x00],
  f32x4Splat: [0xfd, 0x13],
  f32x4Gt: [0xfd, 0x44],
  /** i8x16.shuffle of two vectors by four 32-bit lanes (0-3 the first vector's, 4-7 the second's). */
  shuffle32: (lanes: readonly [number, number, number, number]) => [0xfd, 0x0d, ...lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3])],
  v128And: [0xfd, 0x4e],
  v128AndNot: [0xfd, 0x4f],
  v128Or: [0xfd, 0x50],
  v128Bitselect: [0xfd, 0x52],
  f32Const: (v: number) => [0x43, ...new Uint8Array(Float32Array.of(v).buffer)],
  f64x2PromoteLow: [0xfd, 0x5f, 0x01],
  f32x4Neg: [0xfd, 0xe1, 0x01],
  f32x4Sqrt: [0xfd, 0xe3, 0x01],
  f32x4Add: [0xfd, 0xe4, 0x01],
  f32x4Sub: [0xfd, 0xe5, 0x01],
  f32x4Mul: [0xfd, 0xe6, 0x01],
  f32x4Div: [0xfd, 0xe7, 0x01],
  f64x2Add: [0xfd, 0xf0, 0x01],
  f64x2Sub: [0xfd, 0xf1, 0x01],
  f64x2Mul: [0xfd, 0xf2, 0x01],
  // with a byte offset in the memory argument (alignment hint 4 bytes)
  i32LoadAt: (offset: number) => [0x28, 0x02, ...uleb(offset)],
  i32StoreAt: (offset: number) => [0x36, 0x02, ...uleb(offset)],
  v128LoadAt: (offset: number) => [0xfd, 0x00, 0x02, ...uleb(offset)],
  v128StoreAt: (offset: number) => [0xfd, 0x0b, 0x02, ...uleb(offset)],
  v128Load32Splat: [0xfd, 0x09, 0x02, 0x00],
  v128Load32SplatAt: (offset: number) => [0xfd, 0x09, 0x02, ...uleb(offset)],
  v128Zero: [0xfd, 0x0c, ...new Array<number>(16).fill(0)],
  // relaxed SIMD (a·b + c, fused where the CPU has FMA); V8 11 needs --experimental-wasm-relaxed-simd
  f32x4RelaxedMadd: [0xfd, 0x85, 0x02]
} as const

export const uleb = (n: number): number[] => {
  const out: number[] = []
  do {
    let byte = n & 0x7f
    n >>>= 7
    if (n !== 0) byte |= 0x80
    out.push(byte)
  } while (n !== 0)
  return out
}

export const sleb = (n: number): number[] => {
  const out: number[] = []
  for (;;) {
    const byte = n & 0x7f
    n >>= 7
    const done = (n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)
    out.push(done ? byte : byte | 0x80)
    if (done) return out
  }
}

const name = (s: string): number[] => [...uleb(s.length), ...Buffer.from(s, "utf8")]
const vec = (items: ReadonlyArray<ReadonlyArray<number>>): number[] => [...uleb(items.length), ...items.flat()]
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body]

export interface WasmFunction {
  readonly name: string
  /** Parameter types (I32, F32, ...); no results. */
  readonly params: ReadonlyArray<number>
  /** Extra locals as [count, type] runs, numbered after the parameters. */
  readonly locals: ReadonlyArray<readonly [number, number]>
  readonly code: ReadonlyArray<number>
}

/** A module importing env.memory (`shared` must match the memory) and exporting `fns`. */
export const moduleBytes = (fns: ReadonlyArray<WasmFunction>, shared: boolean): Uint8Array => {
  const types = fns.map((f) => [0x60, ...vec(f.params.map((t) => [t])), 0x00])
  const limits = shared ? [0x03, 0x00, ...uleb(65536)] : [0x00, 0x00]
  const bodies = fns.map((f) => {
    const body = [...vec(f.locals.map(([n, t]) => [...uleb(n), t])), ...f.code, ...op.end]
    return [...uleb(body.length), ...body]
  })
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(types)),
    ...section(2, vec([[...name("env"), ...name("memory"), 0x02, ...limits]])),
    ...section(3, vec(fns.map((_, i) => uleb(i)))),
    ...section(7, vec(fns.map((f, i) => [...name(f.name), 0x00, ...uleb(i)]))),
    ...section(10, [...uleb(bodies.length), ...bodies.flat()])
  ])
}

export interface WasmMemory {
  readonly buffer: ArrayBufferLike
}

interface WasmApi {
  Module: new (bytes: Uint8Array) => object
  Instance: new (module: object, imports: object) => { readonly exports: unknown }
}
const WebAssemblyApi = (globalThis as unknown as { readonly WebAssembly: WasmApi }).WebAssembly

/** Whether `memory` is the threaded build's shared memory. */
export const isShared = (memory: WasmMemory): boolean =>
  typeof SharedArrayBuffer !== "undefined" && memory.buffer instanceof SharedArrayBuffer

/**
 * Instantiates `fns` on `memory` once per memory (cached in `cache`), or returns null when the
 * engine rejects the module (no SIMD): callers then run their scalar JavaScript. `wrap` builds
 * the cached value from the exports and the compiled module (which other threads can
 * instantiate on the same shared memory: gemm-pool.ts).
 */
export const instantiateOn = <T>(
  cache: WeakMap<WasmMemory, T | null>,
  memory: WasmMemory,
  fns: (shared: boolean) => ReadonlyArray<WasmFunction>,
  wrap: (exports: unknown, module: object) => T = (exports) => exports as T
): T | null => {
  let found = cache.get(memory)
  if (found === undefined) {
    try {
      const shared = isShared(memory)
      const module = new WebAssemblyApi.Module(moduleBytes(fns(shared), shared))
      found = wrap(new WebAssemblyApi.Instance(module, { env: { memory } }).exports, module)
    } catch {
      found = null
    }
    cache.set(memory, found)
  }
  return found
}

/**
 * A SIMD module of this project bound to a wasm backend's memory (`forMemory`: adamSimdFor,
 * gemmSimdFor, ...), or null where the backend exposes no memory or the engine cannot compile it.
 */
export const backendSimd = <T>(wasm: unknown, forMemory: (memory: WasmMemory) => T | null): T | null => {
  const memory = backendMemory(wasm)
  return memory === undefined ? null : forMemory(memory)
}

/** The memory a wasm backend's module computes in (exported by the plain build, a Module field in the threaded one). */
export const backendMemory = (wasm: unknown): WasmMemory | undefined => {
  const w = wasm as { readonly wasmMemory?: WasmMemory; readonly asm?: { readonly memory?: WasmMemory } }
  return w.wasmMemory ?? w.asm?.memory
}
