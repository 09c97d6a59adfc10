import { describe, expect, it } from "vitest"
import { adamInto, type AdamAttrs } from "../../../src/ops/kernels/adam.ts"
import { adamCoefficients, adamSimdFor } from "../../../src/ops/kernels/adam-simd.ts"
import { values } from "./compare.ts"

/** The WebAssembly global (the project's lib settings do not declare it). */
const { Memory } = (globalThis as unknown as { WebAssembly: { Memory: new (d: object) => { buffer: ArrayBufferLike } } }).WebAssembly

const attrs: AdamAttrs = { beta1: 0.9, beta2: 0.999, epsilon: 1e-7, c1: 1 - 0.9 ** 3, c2: 1 - 0.999 ** 3, rate: 3e-3, decay: 0 }

/** SIMD update of n floats laid out w, m, v, g, w', m', v' in `memory`, against the scalar loop. */
const compare = (memory: { buffer: ArrayBufferLike }, n: number, a: AdamAttrs) => {
  const heap = new Float32Array(memory.buffer)
  heap.set(values(4 * n, 7))
  for (let i = 2 * n; i < 3 * n; i++) heap[i] = Math.abs(heap[i]!) // v >= 0
  const simd = adamSimdFor(memory)
  expect(simd).not.toBeNull()
  const fn = a.decay > 0 ? simd!.adamDecay : simd!.adam
  heap.set(adamCoefficients(a), 7 * n) // the coefficients after the arrays
  fn(0, 4 * n, 8 * n, 12 * n, 16 * n, 20 * n, 24 * n, n, 28 * n)
  const out = new Float32Array(3 * n)
  adamInto({ w: heap, m: heap, v: heap, g: heap, w2: out, m2: out, v2: out }, { w: 0, m: n, v: 2 * n, g: 3 * n, w2: 0, m2: n, v2: 2 * n }, n, a)
  expect(Array.from(heap.subarray(4 * n, 7 * n))).toEqual(Array.from(out))
}

describe("the WebAssembly SIMD Adam update", () => {
  it.each([0, 0.05])("gives the scalar loop's bits (decay %s)", (decay) => {
    compare(new Memory({ initial: 1 }), 512, { ...attrs, decay })
  })

  it("runs on the threaded build's shared memory too", () => {
    compare(new Memory({ initial: 1, maximum: 65536, shared: true }), 256, attrs)
  })
})
