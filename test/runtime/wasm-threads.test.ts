import * as tf from "@tensorflow/tfjs"
import { spawnSync } from "node:child_process"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { adamStep } from "../../src/ops/kernels/adam.ts"
import { batchNormTraining } from "../../src/ops/kernels/batch-norm.ts"
import { relativeError } from "../../src/ops/kernels/relative-error.ts"
import { initBackend } from "../../src/runtime/backend.ts"
import { defaultThreads, MAX_WASM_THREADS, useThreadedWasm, type WasmPackage, XNNPACK_THREADS_BESIDE_POOL } from "../../src/runtime/wasm-threads.ts"

/**
 * Gradients of a small convolution + batch norm network's loss and an Adam step on them,
 * flattened: the work XNNPACK splits over threads, and rstn's SIMD kernels on the shared heap.
 */
const gradients = (): Float32Array =>
  tf.tidy(() => {
    const x = tf.sin(tf.range(0, 2 * 40 * 40 * 8).reshape([2, 40, 40, 8]).mul(0.37)) as tf.Tensor4D
    const w = tf.cos(tf.range(0, 3 * 3 * 8 * 16).reshape([3, 3, 8, 16]).mul(0.11)) as tf.Tensor4D
    const scale = tf.add(tf.sin(tf.range(0, 16)), 1.5)
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor, s: tf.Tensor) =>
      tf.sum(tf.square(tf.relu(batchNormTraining(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, "same"), s, tf.zerosLike(s), 1e-5))))
    )
    const [dx, dw, ds] = g([x, w, scale])
    const attrs = { beta1: 0.9, beta2: 0.999, epsilon: 1e-7, c1: 0.1, c2: 0.001, rate: 1e-3, decay: 0 }
    const [w2] = adamStep(w, tf.zerosLike(w), tf.zerosLike(w), dw!, attrs)
    return Float32Array.from([...dx!.dataSync(), ...dw!.dataSync(), ...ds!.dataSync(), ...w2.dataSync()])
  })

describe("threaded wasm", () => {
  it("runs rstn's kernels on 2 threads on its shared heap, computing what cpu computes", async () => {
    await initBackend("cpu")
    const reference = gradients()
    const info = await initBackend("wasm", { threads: 2 })
    expect(info).toMatchObject({ name: "wasm", simd: true, threads: 2 })
    expect(relativeError(reference, gradients())).toBeLessThan(1e-4)
    // Once initialised, the count is fixed: asking again changes nothing.
    expect(useThreadedWasm(await import("@tensorflow/tfjs-backend-wasm") as unknown as WasmPackage, 3)).toBe(false)
  })

  it("rejects thread counts outside 2..8", async () => {
    const pkg = (await import("@tensorflow/tfjs-backend-wasm")) as unknown as WasmPackage
    expect(() => useThreadedWasm(pkg, 1)).toThrow(RangeError)
    expect(() => useThreadedWasm(pkg, MAX_WASM_THREADS + 1)).toThrow(RangeError)
  })

  // Each in its own process, which must exit by itself; prints the run's threads and XNNPACK's.
  const inChild = (...args: string[]): string => {
    const fixture = fileURLToPath(new URL("./fixtures/threaded-wasm-exits.ts", import.meta.url))
    const r = spawnSync(process.execPath, ["--import", "tsx", fixture, ...args], { encoding: "utf8", timeout: 60_000 })
    expect(r.signal).toBeNull() // a timeout would kill it with SIGTERM
    expect(r.status, r.stderr).toBe(0)
    return r.stdout.trim()
  }

  it("does not keep the process alive once the work is done, and holds XNNPACK to one thread beside the product's pool", () => {
    expect(inChild()).toBe(`2 ${XNNPACK_THREADS_BESIDE_POOL}`)
  })

  it("gives XNNPACK the threads where rstn's product is off", () => {
    expect(inChild("xnnpack")).toBe("2 2")
  })
})

describe("the default thread count", () => {
  it("is the cores other processes leave idle, at least one", () => {
    expect(defaultThreads(2, 0.1)).toBe(2)
    expect(defaultThreads(2, 0.9)).toBe(1)
    expect(defaultThreads(2, 8.5)).toBe(1)
    expect(defaultThreads(8, 2.2)).toBe(6)
    expect(defaultThreads(1, 0)).toBe(1)
  })
})
