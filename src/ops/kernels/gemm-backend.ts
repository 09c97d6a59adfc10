/**
 * Whether a wasm backend computes its convolutions with rstn's fused multiply-add product
 * (gemm-simd.ts), and that product. Both builds do: in the threaded one the product runs on the
 * calling thread while XNNPACK's pool runs the other kernels, so a run gives the same numbers on
 * any thread count (a convolution's result depends on how it is computed, not on the threads).
 * `useGemm(false)` keeps XNNPACK's convolutions everywhere (benchmarks compare the two).
 */
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm"
import { gemmSimdFor, type GemmSimd } from "./gemm-simd.ts"
import { backendMemory } from "./wasm-assembler.ts"

let enabled = true

/** Turns the product on or off for every wasm backend of this process. */
export const useGemm = (on: boolean): void => {
  enabled = on
}

/** The product for this backend's heap, or null where it is off or cannot compile (no relaxed SIMD). */
export const gemmOf = (backend: BackendWasm): GemmSimd | null => {
  if (!enabled) return null
  const memory = backendMemory(backend.wasm)
  return memory === undefined ? null : gemmSimdFor(memory)
}
