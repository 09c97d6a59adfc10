import * as tf from "@tensorflow/tfjs"
import { beforeAll, describe, expect, it } from "vitest"
import { copyRuns, rowOfPixels, type Runs } from "../../../src/ops/kernels/copy-runs.ts"
import { copySimdFor } from "../../../src/ops/kernels/copy-simd.ts"
import { asWasm, heapF32, offsetOf } from "../../../src/ops/kernels/wasm-kernel-utils.ts"
import { setUpBackends, values } from "./compare.ts"

beforeAll(setUpBackends)

/** The copy done element by element on plain arrays: what copyRuns must leave in `dst`. */
const expected = (src: Float32Array, dst: Float32Array, r: Omit<Runs, "dst" | "src">): Float32Array => {
  const out = dst.slice()
  for (let o = 0; o < r.outer; o++) {
    for (let i = 0; i < r.inner; i++) {
      for (let k = 0; k < r.length; k++) out[o * r.dstOuter + i * r.dstInner + k] = src[o * r.srcOuter + i * r.srcInner + k]!
    }
  }
  return out
}

describe("strided block copies", () => {
  // pixels of 16 channels into a 20-channel grid, 3 channels (no whole vector), 21 (a vector tail), contiguous rows
  it.each([
    { outer: 5, dstOuter: 7 * 20, srcOuter: 6 * 16, ...rowOfPixels(6, 16, 20, 16) },
    { outer: 4, dstOuter: 40, srcOuter: 9, ...rowOfPixels(3, 3, 8, 3) },
    { outer: 3, dstOuter: 50, srcOuter: 21, ...rowOfPixels(1, 21, 21, 21) },
    { outer: 2, dstOuter: 130, srcOuter: 120, ...rowOfPixels(5, 24, 24, 24) }
  ])("copy every run on the wasm heap, and nothing else (%j)", async (r) => {
    await tf.setBackend("wasm")
    const backend = asWasm(tf.backend())
    const srcValues = values(1000, 1)
    const dstValues = values(1000, 2)
    const src = tf.tensor(srcValues)
    const dst = tf.tensor(dstValues)
    copyRuns(backend, [{ ...r, dst: offsetOf(backend, dst), src: offsetOf(backend, src) }])
    const heap = heapF32(backend)
    const d0 = offsetOf(backend, dst)
    expect(Array.from(heap.subarray(d0, d0 + 1000))).toEqual(Array.from(expected(srcValues, dstValues, r)))
    tf.dispose([src, dst])
    await tf.setBackend("cpu")
  })

  it("loads on a shared memory (the threaded build's)", () => {
    const { Memory } = (globalThis as unknown as { WebAssembly: { Memory: new (d: object) => { buffer: ArrayBufferLike } } }).WebAssembly
    const memory = new Memory({ initial: 1, maximum: 65536, shared: true })
    const simd = copySimdFor(memory)
    expect(simd).not.toBeNull()
    const heap = new Float32Array(memory.buffer)
    heap.set(values(64, 3))
    simd!.copyRuns(4 * 100, 0, 2, 3, 4 * 5, 4 * 8, 4 * 6, 4 * 30, 4 * 20) // 2 x 3 runs of 5 floats
    const want = expected(heap.subarray(0, 64), heap.slice(100, 200), { outer: 2, inner: 3, length: 5, dstInner: 8, srcInner: 6, dstOuter: 30, srcOuter: 20 })
    expect(Array.from(heap.subarray(100, 200))).toEqual(Array.from(want))
  })
})
