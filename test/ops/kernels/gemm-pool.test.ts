import * as tf from "@tensorflow/tfjs"
import { describe, expect, it } from "vitest"
import {
  createPool,
  type GemmCall,
  type GemmRunner,
  MIN_POOL_WORK,
  laneQueue,
  MIN_STREAM_WORK,
  piecesPerUnit,
  ranges,
  sequentialRunner,
  streamParts,
  splitCall
} from "../../../src/ops/kernels/gemm-pool.ts"
import { GEMM_ROWS, gemmSimdFor, type GemmSimd } from "../../../src/ops/kernels/gemm-simd.ts"
import { relativeError } from "../../../src/ops/kernels/relative-error.ts"
import { I32, moduleBytes } from "../../../src/ops/kernels/wasm-assembler.ts"
import { initBackend } from "../../../src/runtime/backend.ts"
import { values } from "./compare.ts"
import { convolutionResults } from "./fixtures/gemm-cases.ts"
import { resultsInChild } from "./thread-child.ts"

/** The slice of the WebAssembly global used here (the project's lib settings do not declare it). */
interface SharedMemory {
  readonly buffer: SharedArrayBuffer
}
const Wasm = (globalThis as unknown as {
  readonly WebAssembly: {
    readonly Memory: new (d: { initial: number; maximum: number; shared: boolean }) => SharedMemory
    readonly Module: new (bytes: Uint8Array) => object
    readonly RuntimeError: ErrorConstructor
  }
}).WebAssembly

const call = (over: Partial<GemmCall>): GemmCall => ({
  lane: 0, width: 8, a: 0, b: 0, c: 0, m: 64, n: 32, k: 16, lda: 64, ldb: 128, ldc: 128, aStep: 4,
  taps: 0, nTaps: 1, chunk: 64, add: 0, ...over
})

describe("splitting calls into lanes", () => {
  it("splits by rows on row-block boundaries, then by column blocks, covering the output once", () => {
    const whole = call({ m: 40, n: 24, c: 1000, a: 2000, b: 3000 })
    const pieces = splitCall(whole, 4, 10)
    expect(pieces.map((p) => p.lane)).toEqual([10, 11, 12, 13])
    expect(pieces.every((p) => p.m % GEMM_ROWS === 0 && p.n % 8 === 0)).toBe(true)
    const covered = new Set<number>()
    for (const p of pieces) {
      const r0 = (p.a - whole.a) / whole.lda
      const c0 = (p.b - whole.b) / 4
      expect(p.c).toBe(whole.c + r0 * whole.ldc + 4 * c0)
      for (let r = 0; r < p.m; r++) for (let j = 0; j < p.n; j++) covered.add((r0 + r) * whole.n + c0 + j)
    }
    expect(covered.size).toBe(40 * 24)
    // one row block: by columns only; nothing to split: the call itself
    expect(splitCall(call({ m: 4, n: 16 }), 2, 0).map((p) => [p.m, p.n, p.b])).toEqual([[4, 8, 0], [4, 8, 32]])
    expect(splitCall(call({ m: 4, n: 8 }), 4, 3)).toEqual([call({ m: 4, n: 8, lane: 3 })])
  })

  it("splits units so that the lanes divide evenly among the threads, four or more each", () => {
    // [units, threads]: 9 taps on 1 and 2 threads, 4 images, 1 image, 3 images on 4 threads
    const cases = [[9, 1], [9, 2], [4, 2], [1, 2], [3, 4]] as const
    expect(cases.map(([units, threads]) => piecesPerUnit(units, threads))).toEqual([1, 2, 2, 8, 8])
  })

  it("cuts a count into consecutive aligned ranges that cover it once", () => {
    expect(ranges(10, 3)).toEqual([[0, 3], [3, 6], [6, 10]])
    expect(ranges(30, 8, 4)).toEqual([[0, 4], [4, 8], [8, 12], [12, 16], [16, 20], [20, 24], [24, 28], [28, 30]]) // the last takes the rest
    expect(ranges(40, 3, 4)).toEqual([[0, 12], [12, 24], [24, 40]])
    expect(ranges(16, 2, 4)).toEqual([[0, 8], [8, 16]])
    expect(ranges(16, 8, 4)).toEqual([[0, 4], [4, 8], [8, 12], [12, 16]]) // no more parts than aligned blocks
    expect(ranges(3, 4)).toEqual([[0, 1], [1, 2], [2, 3]])
  })

  it("splits memory-bound passes (Adam, batch norm, copies) over the threads only from MIN_STREAM_WORK", () => {
    expect(streamParts(MIN_STREAM_WORK - 1, 2, 4)).toBe(1)
    expect(streamParts(MIN_STREAM_WORK, 2, 4)).toBe(8)
    expect(streamParts(100 * MIN_STREAM_WORK, 1, 4)).toBe(1)
  })

  it("queues the lanes largest first, each lane's calls in their order", () => {
    const calls = [call({ lane: 0, m: 8 }), call({ lane: 1, m: 64 }), call({ lane: 2, m: 32, add: 0 }), call({ lane: 2, m: 32, add: 1 }), call({ lane: 3, m: 64 })]
    expect(laneQueue(calls)).toEqual([[calls[2], calls[3]], [calls[1]], [calls[4]], [calls[0]]])
  })
})

/**
 * A product on a shared memory of our own: C [M, N] = A [M, K] · B [K, N], its K in 3 chunks
 * added in order (one lane per piece of C), enough work for the pool.
 */
const M = 256
const N = 32
const K = 192
const A0 = 64
const B0 = A0 + M * K * 4
const C0 = B0 + K * N * 4
const calls = (parts: number): GemmCall[] =>
  [0, 64, 128].flatMap((k0) =>
    splitCall(
      call({ a: A0 + 4 * k0, b: B0 + k0 * N * 4, c: C0, m: M, n: N, k: 64, lda: K * 4, ldb: N * 4, ldc: N * 4, taps: 0, chunk: 64, add: k0 === 0 ? 0 : 1 }),
      parts,
      0
    )
  )

const sharedProduct = (): { memory: SharedMemory; simd: GemmSimd } => {
  const memory = new Wasm.Memory({ initial: 64, maximum: 256, shared: true })
  const simd = gemmSimdFor(memory)
  if (simd === null) throw new Error("relaxed SIMD does not compile here")
  const heap = new Float32Array(memory.buffer)
  heap.set(values(M * K, 1), A0 / 4)
  heap.set(values(K * N, 2), B0 / 4)
  return { memory, simd }
}

const product = ({ memory }: { memory: SharedMemory }, runner: GemmRunner, parts: number): Float32Array => {
  new Float32Array(memory.buffer).fill(Number.NaN, C0 / 4, C0 / 4 + M * N)
  runner.run(calls(parts))
  return new Float32Array(memory.buffer).slice(C0 / 4, C0 / 4 + M * N)
}

const reference = (memory: SharedMemory): Float64Array => {
  const heap = new Float32Array(memory.buffer)
  const out = new Float64Array(M * N)
  for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) for (let k = 0; k < K; k++) out[i * N + j] += heap[A0 / 4 + i * K + k]! * heap[B0 / 4 + k * N + j]!
  return out
}

describe("the product on a pool of worker threads", () => {
  it("computes on 2 threads exactly what the calling thread alone computes", () => {
    const shared = sharedProduct()
    expect(M * N * K).toBeGreaterThan(MIN_POOL_WORK)
    const pool = createPool(shared.simd, shared.memory, 2)
    expect(pool.threads).toBe(2)
    const alone = product(shared, sequentialRunner(shared.simd), 1)
    expect(relativeError(reference(shared.memory), alone)).toBeLessThan(1e-6)
    for (const parts of [2, 3, 8]) expect(product(shared, pool, parts)).toEqual(alone)
  })

  it("reports a worker's failure as an error, then runs on the calling thread", () => {
    const shared = sharedProduct()
    const expected = product(shared, sequentialRunner(shared.simd), 1)
    // the workers' module traps in every call; the calling thread's computes
    const trap = (name: string) => ({ name, params: new Array<number>(14).fill(I32), locals: [], code: [0x00] })
    const trapping = new Wasm.Module(moduleBytes([trap("gemm8"), trap("gemm4")], true))
    const pool = createPool(shared.simd, shared.memory, 2, trapping)
    expect(pool.threads).toBe(2)
    // which thread takes which lane is up to the scheduler: retry until a worker has taken one (on
    // a loaded machine the calling thread can run every lane of 50 dispatches before a worker wakes)
    let message = ""
    for (const end = Date.now() + 20_000; Date.now() < end && message === ""; ) {
      try {
        product(shared, pool, 16)
      } catch (e) {
        message = String(e)
      }
    }
    expect(message).toMatch(/product worker thread failed.*unreachable/s)
    expect(product(shared, pool, 16)).toEqual(expected)
  })

  it("fails a dispatch with a failing call on any thread, without waiting forever, and computes the next", () => {
    const shared = sharedProduct()
    const pool = createPool(shared.simd, shared.memory, 2)
    const expected = product(shared, sequentialRunner(shared.simd), 1)
    const outside = call({ lane: 99, a: shared.memory.buffer.byteLength + 4096, m: 4096, n: 32, k: 16, c: C0 + M * N * 4 })
    expect(() => pool.run([outside, ...calls(8)])).toThrow(/out of bounds/)
    expect(product(shared, pool, 8)).toEqual(expected)
  })

  it("stays on the calling thread when a worker cannot instantiate the module", () => {
    const shared = sharedProduct()
    // a module for an unshared memory does not link to a shared one
    const unlinkable = new Wasm.Module(moduleBytes([], false))
    const pool = createPool(shared.simd, shared.memory, 2, unlinkable)
    expect(pool.threads).toBe(1)
    expect(product(shared, pool, 2)).toEqual(product(shared, sequentialRunner(shared.simd), 1))
  })
})

/** The convolutions of gemm-cases.ts on wasm with `threads` threads, in a process of their own, which must exit by itself. */
const inChild = (threads: number): ReadonlyArray<Float32Array> => resultsInChild(new URL("./fixtures/gemm-threads.ts", import.meta.url), threads)

describe("convolutions on the threaded wasm build", () => {
  it("are bit-identical on 1 and 2 threads, equal cpu's, and the pool lets the process exit", async () => {
    const one = inChild(1)
    const two = inChild(2)
    await initBackend("cpu")
    await tf.setBackend("cpu")
    const cpu = convolutionResults()
    expect(two.length).toBe(cpu.length)
    two.forEach((r, i) => {
      expect(r).toEqual(one[i])
      expect(relativeError(cpu[i]!, r)).toBeLessThan(1e-5)
    })
  })
})
