/**
 * Test helpers: run one computation on the cpu backend (the reference) and on wasm with rstn's
 * kernels, and count what each backend holds so leaks inside kernels show up (intermediates
 * created inside a kernel never appear in tf.memory().numTensors).
 */
import * as tf from "@tensorflow/tfjs"
import { initBackend } from "../../../src/runtime/backend.ts"

/** Loads wasm (which registers rstn's kernels) and cpu (without its console banner). */
export const setUpBackends = async (): Promise<void> => {
  await initBackend("wasm")
  await initBackend("cpu")
}

/** Tensors and raw data buffers the active backend holds. */
export const held = (): { readonly tensors: number; readonly dataIds: number } => ({
  tensors: tf.memory().numTensors,
  dataIds: tf.backend().numDataIds()
})

/** Runs `f` on cpu, then on wasm; checks that neither leaves anything behind. */
export const onBoth = async <T>(f: () => T): Promise<{ readonly cpu: T; readonly wasm: T }> => {
  const results: T[] = []
  for (const name of ["cpu", "wasm"]) {
    await tf.setBackend(name)
    const before = held()
    results.push(f())
    const after = held()
    if (after.tensors !== before.tensors || after.dataIds !== before.dataIds) {
      throw new Error(`${name}: ${JSON.stringify(before)} before, ${JSON.stringify(after)} after`)
    }
  }
  return { cpu: results[0]!, wasm: results[1]! }
}

/** Deterministic pseudo-random values in [-1, 1) (a fixed LCG; tests must not depend on Math.random). */
export const values = (n: number, seed: number): Float32Array => {
  const out = new Float32Array(n)
  let s = (seed * 2654435761) >>> 0
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    out[i] = s / 2 ** 31 - 1
  }
  return out
}

export const tensor = (shape: ReadonlyArray<number>, seed: number): tf.Tensor =>
  tf.tensor(values(tf.util.sizeFromShape([...shape]), seed), [...shape])
