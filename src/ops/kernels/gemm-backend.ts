/**
 * Whether a wasm backend computes its convolutions with rstn's fused multiply-add product
 * (gemm-simd.ts), and that product. Only the single-threaded build does: the product runs on the
 * calling thread, and the threaded build's XNNPACK spreads its convolutions over the pool
 * (`run.threads`). `useGemm(false)` keeps XNNPACK everywhere (benchmarks compare the two).
 */
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm"
import { gemmSimdFor, type GemmSimd } from "./gemm-simd.ts"
import { backendMemory } from "./wasm-assembler.ts"

let enabled = true

/** Turns the product on or off for every wasm backend of this process. */
export const useGemm = (on: boolean): void => {
  enabled = on
}

/** The product for this backend's heap, or null where it is off, threaded, or cannot compile. */
export const gemmOf = (backend: BackendWasm): GemmSimd | null => {
  if (!enabled) return null
  const memory = backendMemory(backend.wasm)
  if (memory === undefined) return null
  if (typeof SharedArrayBuffer !== "undefined" && memory.buffer instanceof SharedArrayBuffer) return null
  return gemmSimdFor(memory)
}
