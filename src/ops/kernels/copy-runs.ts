/**
 * Strided block copies on the wasm heap (copy-simd.ts) on the product's pool where the backend
 * has it (gemm-pool.ts): from MIN_STREAM_WORK each block (an image, usually) a lane or more,
 * split by outer rows; below it one lane on the calling thread; else JavaScript's `copyRun` loops.
 */
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm"
import { copySimdFor } from "./copy-simd.ts"
import { kernelRunnerOf } from "./gemm-backend.ts"
import { type KernelCall, ranges, streamParts } from "./gemm-pool.ts"
import { copyRun, heapF32 } from "./wasm-kernel-utils.ts"

/**
 * `outer` x `inner` runs of `length` floats: run (o, i) from src + o·srcOuter + i·srcInner to
 * dst + o·dstOuter + i·dstInner (element offsets in the heap). Runs must not overlap.
 */
export interface Runs {
  readonly dst: number
  readonly src: number
  readonly outer: number
  readonly inner: number
  readonly length: number
  readonly dstInner: number
  readonly srcInner: number
  readonly dstOuter: number
  readonly srcOuter: number
}

/**
 * A row of `pixels` pixels of `channels` floats, `dstStride` and `srcStride` floats apart, as
 * copy runs: one run when both sides are contiguous, else one per pixel.
 */
export const rowOfPixels = (pixels: number, channels: number, dstStride: number, srcStride: number): Pick<Runs, "inner" | "length" | "dstInner" | "srcInner"> =>
  dstStride === channels && srcStride === channels
    ? { inner: 1, length: pixels * channels, dstInner: 0, srcInner: 0 }
    : { inner: pixels, length: channels, dstInner: dstStride, srcInner: srcStride }

/** A float copied, in the pool's work units (as batch norm's passes: a load and a store). */
const WORK_PER_ELEMENT = 4

/** Copies every block's runs (blocks must not overlap each other's destinations). */
export const copyRuns = (backend: BackendWasm, blocks: ReadonlyArray<Runs>): void => {
  const runner = kernelRunnerOf(backend, copySimdFor)
  if (runner === null) {
    const mem = heapF32(backend)
    for (const r of blocks) {
      for (let o = 0; o < r.outer; o++) {
        for (let i = 0; i < r.inner; i++) copyRun(mem, r.dst + o * r.dstOuter + i * r.dstInner, r.src + o * r.srcOuter + i * r.srcInner, r.length)
      }
    }
    return
  }
  const total = blocks.reduce((s, r) => s + r.outer * r.inner * r.length, 0)
  const parts = streamParts(WORK_PER_ELEMENT * total, runner.threads, 4)
  const perBlock = Math.ceil(parts / Math.max(1, blocks.length))
  const calls: KernelCall[] = []
  const call = (r: Runs, o0: number, o1: number, lane: number): void => {
    if (o1 === o0 || r.inner === 0 || r.length === 0) return
    calls.push({
      lane,
      fn: "copyRuns",
      args: [4 * (r.dst + o0 * r.dstOuter), 4 * (r.src + o0 * r.srcOuter), o1 - o0, r.inner, 4 * r.length, 4 * r.dstInner, 4 * r.srcInner, 4 * r.dstOuter, 4 * r.srcOuter],
      work: WORK_PER_ELEMENT * (o1 - o0) * r.inner * r.length
    })
  }
  // Below MIN_STREAM_WORK, one lane on the calling thread: a lane per image woke the pool for
  // copies that took less than the wake-up (the coarse-to-fine test's small crops).
  if (parts === 1) for (const r of blocks) call(r, 0, r.outer, 0)
  else for (const r of blocks) for (const [o0, o1] of ranges(r.outer, perBlock)) call(r, o0, o1, calls.length)
  runner.run(calls)
}
