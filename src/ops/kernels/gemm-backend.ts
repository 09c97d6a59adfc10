/**
 * Whether a wasm backend computes its convolutions with rstn's fused multiply-add product
 * (gemm-simd.ts), and that product. Both builds do: in the threaded one the product's calls are
 * spread over a pool of as many threads as XNNPACK's (gemm-pool.ts), so a run gives the same
 * numbers on any thread count (each output element is computed the same way on any thread).
 * `useGemm(false)` keeps XNNPACK's convolutions everywhere (benchmarks compare the two).
 */
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm"
import { createPool, sequentialRunner, type GemmRunner } from "./gemm-pool.ts"
import { gemmSimdFor, type GemmSimd } from "./gemm-simd.ts"
import { backendMemory, isShared } from "./wasm-assembler.ts"

/** The product's functions, and `run` for lists of calls spread over the backend's threads. */
export type Gemm = GemmSimd & GemmRunner

let enabled = true

/** Turns the product on or off for every wasm backend of this process. */
export const useGemm = (on: boolean): void => {
  enabled = on
}

/** XNNPACK's thread count in the threaded build (1 in the plain one). */
const threadsOf = (backend: BackendWasm): number => {
  const tfjs = (backend.wasm as unknown as { readonly tfjs?: { readonly getThreadsCount?: () => number } }).tfjs
  return typeof tfjs?.getThreadsCount === "function" ? tfjs.getThreadsCount() : 1
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
    const runner = isShared(memory) ? createPool(simd, memory, threadsOf(backend)) : sequentialRunner(simd)
    gemm = { ...simd, threads: runner.threads, run: runner.run }
    gemms.set(simd, gemm)
  }
  return gemm
}
