/**
 * Registers rstn's wasm kernels with TensorFlow.js: the gradient kernels training needs that the
 * wasm backend lacks (Conv2DBackpropFilter) or runs pathologically slowly (Conv2DBackpropInput,
 * Tile — used by the batch-norm gradient —, MaxPoolGrad), Identity and Cast, which the stock
 * backend implements as copies where sharing the memory is enough (share.ts), and Slice, which
 * copies its whole input out of the heap first (slice.ts). Conv2D stays the stock kernel except
 * for large kernels on small maps (conv2d-small-map.ts). Registration is idempotent and the stock
 * kernels are kept, so benchmarks can compare and tests can restore them.
 */
import * as tf from "@tensorflow/tfjs"
import { conv2dKernel } from "./conv2d.ts"
import { conv2dBackpropFilterKernel } from "./conv2d-backprop-filter.ts"
import { conv2dBackpropInputKernel } from "./conv2d-backprop-input.ts"
import { maxPoolGradKernel } from "./max-pool-grad.ts"
import { castKernel, identityKernel } from "./share.ts"
import { sliceKernel } from "./slice.ts"
import { tileKernel } from "./tile.ts"

/** Marks our kernel functions; a global symbol so a second copy of this module recognises them. */
const OURS = Symbol.for("rstn.wasm-kernel")

type Factory = (stock: tf.KernelFunc | undefined) => tf.KernelFunc

const factories: Readonly<Record<string, Factory>> = {
  Conv2DBackpropInput: conv2dBackpropInputKernel,
  Conv2DBackpropFilter: () => conv2dBackpropFilterKernel,
  Tile: tileKernel,
  MaxPoolGrad: maxPoolGradKernel,
  Identity: identityKernel,
  Cast: castKernel,
  Conv2D: conv2dKernel,
  Slice: sliceKernel
}

/** The kernels `registerWasmKernels` replaces or adds, in registration order. */
export const wasmKernelNames: ReadonlyArray<string> = Object.keys(factories)

/** The wasm backend's own configs, as found before we replaced them (absent ones are undefined). */
const stock = new Map<string, tf.KernelConfig | undefined>()

/**
 * A stock kernel's function, callable from ours. The backend runs a kernel's setup (binding its
 * wasm function) only for kernels registered when it initialises, and ours may have replaced
 * the stock one by then, so it is set up on first use, once per backend instance.
 */
const callable = (config: tf.KernelConfig | undefined): tf.KernelFunc | undefined => {
  if (config === undefined) return undefined
  const ready = new WeakSet<object>()
  return (args) => {
    const backend = args.backend as object
    if (!ready.has(backend)) {
      config.setupFunc?.(backend)
      ready.add(backend)
    }
    return config.kernelFunc(args)
  }
}

const isOurs = (config: tf.KernelConfig | undefined): boolean =>
  config !== undefined && (config.kernelFunc as unknown as Record<symbol, unknown>)[OURS] === true

/**
 * Registers rstn's kernels for the "wasm" backend (a no-op when they are already registered).
 * Works before or after the backend is initialised: none of them needs a setup step.
 */
export const registerWasmKernels = (): void => {
  for (const [name, factory] of Object.entries(factories)) {
    const current = tf.getKernel(name, "wasm")
    if (isOurs(current)) continue
    stock.set(name, current)
    if (current !== undefined) tf.unregisterKernel(name, "wasm")
    const kernelFunc = factory(callable(current))
    Object.defineProperty(kernelFunc, OURS, { value: true })
    tf.registerKernel({ kernelName: name, backendName: "wasm", kernelFunc })
  }
}

/** Puts back the wasm backend's own kernels (used to benchmark and test against them). */
export const restoreStockWasmKernels = (): void => {
  for (const name of wasmKernelNames) {
    const current = tf.getKernel(name, "wasm")
    if (!isOurs(current)) continue
    tf.unregisterKernel(name, "wasm")
    const original = stock.get(name)
    if (original === undefined) continue
    tf.registerKernel(original)
    // Bind its wasm function now if the backend already initialised without it.
    const backend = tf.findBackend("wasm")
    if (backend !== null) original.setupFunc?.(backend)
  }
}

/** True when every rstn kernel is the one registered for wasm. */
export const wasmKernelsRegistered = (): boolean => wasmKernelNames.every((name) => isOurs(tf.getKernel(name, "wasm")))
