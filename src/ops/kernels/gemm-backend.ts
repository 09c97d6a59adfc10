/**
 * Whether a wasm backend computes its convolutions with rstn's fused multiply-add product
 * (gemm-simd.ts), and that product. Both builds do: in the threaded one the product's calls are
 * spread over a pool of the run's threads (gemm-pool.ts; wasm-threads.ts records the count on
 * the module, `setPoolThreads`), so a run gives the same numbers on any thread count (each
 * output element is computed the same way on any thread). The pool also runs Adam's and batch
 * norm's loops (`kernelRunnerOf`). `useGemm(false)` keeps XNNPACK's convolutions everywhere
 * (benchmarks compare the two).
 */
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm"
import { createPool, type GemmRunner, type KernelName, type KernelRunner, sequentialRunner } from "./gemm-pool.ts"
import { gemmSimdFor, type GemmSimd } from "./gemm-simd.ts"
import { backendMemory, backendSimd, isShared, type WasmMemory } from "./wasm-assembler.ts"

/** The product's functions, and `run` for lists of calls spread over the backend's threads. */
export type Gemm = GemmSimd & GemmRunner

let enabled = true

/** Turns the product on or off for every wasm backend of this process. */
export const useGemm = (on: boolean): void => {
  enabled = on
}

/** What this module reads on a backend's wasm module: the pool's count, and XNNPACK's. */
interface CountedModule {
  rstnPoolThreads?: number
  readonly tfjs?: { readonly getThreadsCount?: () => number }
}

/** Records on the threaded build's wasm module how many threads the product's pool gets. */
export const setPoolThreads = (module: object, threads: number): void => {
  ;(module as CountedModule).rstnPoolThreads = threads
}

/**
 * The threads the product's pool spreads over: the count wasm-threads.ts recorded (the run's
 * threads), else XNNPACK's (1 in the plain build).
 */
export const poolThreadsOf = (backend: BackendWasm): number => {
  const module = backend.wasm as unknown as CountedModule
  if (module.rstnPoolThreads !== undefined) return module.rstnPoolThreads
  return typeof module.tfjs?.getThreadsCount === "function" ? module.tfjs.getThreadsCount() : 1
}

/** Whether the product runs on this wasm module (on, and relaxed SIMD compiles on its memory). */
export const productRuns = (wasm: unknown): boolean => {
  const memory = backendMemory(wasm)
  return enabled && memory !== undefined && gemmSimdFor(memory) !== null
}

/** One per compiled product, i.e. per backend memory: the pool starts once. */
const gemms = new WeakMap<GemmSimd, Gemm>()

/** The product for this backend's heap, or null where it is off or cannot compile (no relaxed SIMD). */
export const gemmOf = (backend: BackendWasm): Gemm | null => {
  if (!enabled) return null
  const memory = backendMemory(backend.wasm)
  const simd = memory === undefined ? null : gemmSimdFor(memory)
  if (memory === undefined || simd === null) return null
  let gemm = gemms.get(simd)
  if (gemm === undefined) {
    const runner = isShared(memory) ? createPool(simd, memory, poolThreadsOf(backend)) : sequentialRunner(simd)
    gemm = { ...simd, threads: runner.threads, run: runner.run }
    gemms.set(simd, gemm)
  }
  return gemm
}

/**
 * Runs calls of the module's other functions (Adam's, batch norm's): on the product's pool where
 * the backend has the product, else in order on the calling thread with `standalone`'s module of
 * the same functions (the product off, or no relaxed SIMD); null where neither loads (no SIMD).
 */
export const kernelRunnerOf = <N extends KernelName>(
  backend: BackendWasm,
  standalone: (memory: WasmMemory) => Readonly<Record<N, (...args: number[]) => void>> | null
): KernelRunner | null => {
  const gemm = gemmOf(backend)
  if (gemm !== null) return gemm
  const fns = backendSimd(backend.wasm, standalone)
  if (fns === null) return null
  return {
    threads: 1,
    run: (calls) => {
      for (const c of calls) fns[c.fn as N](...c.args)
    }
  }
}
