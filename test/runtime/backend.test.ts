import * as tf from "@tensorflow/tfjs"
import { Cause, Effect, Either, Exit, Option } from "effect"
import { createRequire } from "node:module"
import { afterEach, describe, expect, it, vi } from "vitest"
import { wasmKernelsRegistered } from "../../src/ops/kernels/register.ts"
import {
  autoChoice,
  BackendUnavailable,
  checkBackend,
  type Importer,
  initBackend,
  parseBackendChoice,
  probeBackends,
  TensorBackend,
  UnknownBackend
} from "../../src/runtime/backend.ts"

const notInstalled = (specifier: string): Error =>
  Object.assign(new Error(`Cannot find package '${specifier}' imported from /work/main/src/runtime/backend.ts`), {
    code: "ERR_MODULE_NOT_FOUND"
  })

/** Only the packages listed are importable; the rest behave as absent. */
const onlyInstalled =
  (installed: Record<string, () => Promise<unknown>>): Importer =>
  (specifier) =>
    installed[specifier]?.() ?? Promise.reject(notInstalled(specifier))

const realWasm = { "@tensorflow/tfjs-backend-wasm": () => import("@tensorflow/tfjs-backend-wasm") }

/**
 * Stands in for tfjs-node(-gpu): importing it registers a "tensorflow" backend (here the cpu
 * backend's class with the cpu kernels) carrying the flags the real NodeJSKernelBackend has.
 */
const fakeNative = (gpu: boolean, version: string) => async () => {
  await initBackend("cpu")
  const Cpu = tf.findBackend("cpu")!.constructor as new () => tf.KernelBackend
  tf.registerBackend(
    "tensorflow",
    () => Object.assign(new Cpu(), { isGPUPackage: gpu, isUsingGpuDevice: false, firstUse: false }),
    3
  )
  // Kernels outlive removeBackend: copying them all again would print one "already registered"
  // warning per kernel, hundreds per test.
  for (const kernel of tf.getKernelsForBackend("cpu")) {
    if (tf.getKernel(kernel.kernelName, "tensorflow") === undefined) tf.registerKernel({ ...kernel, backendName: "tensorflow" })
  }
  return { version }
}

afterEach(() => {
  if (tf.findBackendFactory("tensorflow") !== null) tf.removeBackend("tensorflow")
})

describe("initBackend", () => {
  it("cpu: runs without the tfjs 'install our node backend' banner", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {})
    try {
      const info = await initBackend("cpu")
      expect(info).toEqual({ name: "cpu", version: tf.version_core, reason: "forced by --backend" })
      tf.tidy(() => tf.square(tf.tensor([1, 2, 3])).dataSync())
      expect(warn.mock.calls.flat().join(" ")).not.toMatch(/node backend|tfjs-node/)
    } finally {
      warn.mockRestore()
    }
  })

  it("wasm: SIMD, one thread, rstn's gradient kernels, and no emscripten crash handlers left behind", async () => {
    const listeners = process.listeners("uncaughtException").length
    const rejectionListeners = process.listeners("unhandledRejection").length
    const info = await initBackend("wasm", { source: "pipeline.yaml: engine.backend" })
    expect(info).toMatchObject({ name: "wasm", version: "4.22.0", simd: true, threads: 1, reason: "forced by pipeline.yaml: engine.backend" })
    expect(info.kernels).toContain("Conv2DBackpropFilter")
    expect(tf.getBackend()).toBe("wasm")
    expect(wasmKernelsRegistered()).toBe(true)
    expect(process.listeners("uncaughtException").length).toBe(listeners)
    expect(process.listeners("unhandledRejection").length).toBe(rejectionListeners)
  })

  it("auto: skips the native packages that are not installed and says so", async () => {
    const info = await initBackend("auto", { importer: onlyInstalled(realWasm) })
    expect(info.name).toBe("wasm")
    expect(info.reason).toBe(
      "@tensorflow/tfjs-node-gpu is not installed; @tensorflow/tfjs-node is not installed; using wasm (SIMD, 1 thread)"
    )
  })

  it("auto: falls back to cpu when wasm cannot load either", async () => {
    const info = await initBackend("auto", { importer: onlyInstalled({}) })
    expect(info.name).toBe("cpu")
    expect(info.reason).toMatch(/@tensorflow\/tfjs-backend-wasm is not installed; using cpu$/)
    expect(tf.getBackend()).toBe("cpu")
  })

  it("auto: prefers tfjs-node when it loads, and reports its version", async () => {
    const importer = onlyInstalled({ ...realWasm, "@tensorflow/tfjs-node": fakeNative(false, "4.22.0-test") })
    const info = await initBackend("auto", { importer })
    expect(info).toEqual({ name: "node", version: "4.22.0-test", reason: "@tensorflow/tfjs-node-gpu is not installed; using node" })
    expect(tf.getBackend()).toBe("tensorflow")
  })

  it("node-gpu: reports that TensorFlow found no GPU", async () => {
    const importer = onlyInstalled({ "@tensorflow/tfjs-node-gpu": fakeNative(true, "4.22.0") })
    const info = await initBackend("node-gpu", { importer })
    expect(info).toMatchObject({ name: "node-gpu", devices: [] })
  })

  it("a forced backend that is not installed fails with what to install", async () => {
    const failure = await initBackend("node", { source: "--backend", importer: onlyInstalled(realWasm) }).catch((e: unknown) => e)
    expect(failure).toBeInstanceOf(BackendUnavailable)
    const e = failure as BackendUnavailable
    expect(e.backend).toBe("node")
    expect(e.problem).toBe("@tensorflow/tfjs-node is not installed")
    expect(e.hint).toContain("npm install @tensorflow/tfjs-node@4.22.0")
    expect(e.hint).toContain("storage.googleapis.com")
    expect(e.message).toBe("backend node (forced by --backend) cannot be used: @tensorflow/tfjs-node is not installed")
  })

  it("a forced backend whose native library is broken fails with the loader's first line", async () => {
    const importer: Importer = () =>
      Promise.reject(new Error("libtensorflow.so.2: cannot open shared object file: No such file or directory\n    at Module._extensions"))
    const e = (await initBackend("node-gpu", { importer }).catch((x: unknown) => x)) as BackendUnavailable
    expect(e.problem).toBe(
      "@tensorflow/tfjs-node-gpu failed to load: libtensorflow.so.2: cannot open shared object file: No such file or directory"
    )
    expect(e.hint).toContain("CUDA 11.2")
  })

  const nodeInstalled = (() => {
    try {
      createRequire(import.meta.url).resolve("@tensorflow/tfjs-node")
      return true
    } catch {
      return false
    }
  })()

  it.skipIf(nodeInstalled)("recognises Node's own error for a package that is not installed", async () => {
    const e = (await initBackend("node").catch((x: unknown) => x)) as BackendUnavailable
    expect(e.problem).toBe("@tensorflow/tfjs-node is not installed")
  })
})

describe("parseBackendChoice", () => {
  it("accepts the five choices and suggests one for a typo", () => {
    for (const c of ["auto", "node-gpu", "node", "wasm", "cpu"]) expect(parseBackendChoice(c)).toEqual(Either.right(c))
    const left = Either.getLeft(parseBackendChoice("wsam", "pipeline.yaml"))
    expect(Option.isSome(left)).toBe(true)
    const e = Option.getOrThrow(left)
    expect(e).toBeInstanceOf(UnknownBackend)
    expect(e.message).toBe("unknown backend 'wsam' in pipeline.yaml")
    expect(e.hint).toBe("did you mean 'wasm'? choose one of auto, node-gpu, node, wasm, cpu")
  })
})

describe("probeBackends and autoChoice", () => {
  it("report every backend in auto order with what is missing", async () => {
    const statuses = await probeBackends({ importer: onlyInstalled(realWasm) })
    expect(statuses.map((s) => [s.name, s.available])).toEqual([
      ["node-gpu", false],
      ["node", false],
      ["wasm", true],
      ["cpu", true]
    ])
    expect(statuses[1]!.hint).toContain("npm install @tensorflow/tfjs-node@")
    expect(statuses[2]).toMatchObject({ simd: true, threads: 1, version: "4.22.0" })
    expect(autoChoice(statuses)).toEqual({
      name: "wasm",
      reason: "@tensorflow/tfjs-node-gpu is not installed; @tensorflow/tfjs-node is not installed; using wasm (SIMD, 1 thread)"
    })
  })
})

describe("the TensorBackend service", () => {
  it("its layer fails with a typed error when a forced backend cannot load", async () => {
    const program = Effect.provide(TensorBackend, TensorBackend.layer("node", { source: "--backend", importer: onlyInstalled({}) }))
    const exit = await Effect.runPromiseExit(program)
    expect(Exit.isFailure(exit)).toBe(true)
    const failure = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
    expect(Option.getOrThrow(failure)).toBeInstanceOf(BackendUnavailable)
  })

  it("its layer provides the chosen backend's info", async () => {
    const info = await Effect.runPromise(Effect.provide(TensorBackend, TensorBackend.layer("wasm")))
    expect(info.name).toBe("wasm")
    expect(tf.getBackend()).toBe("wasm")
  })

  it("its Test layer is the cpu backend", async () => {
    const info = await Effect.runPromise(Effect.provide(TensorBackend, TensorBackend.Test))
    expect(info.name).toBe("cpu")
    expect(tf.getBackend()).toBe("cpu")
  })

  it("checkBackend rejects an unknown name before loading anything", async () => {
    const exit = await Effect.runPromiseExit(checkBackend("gpu"))
    const failure = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
    expect(Option.getOrThrow(failure)).toBeInstanceOf(UnknownBackend)
  })
})
