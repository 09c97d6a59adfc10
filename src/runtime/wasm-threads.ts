/**
 * The wasm backend on several threads in Node (issue 10, design.md "Engine").
 *
 * @tensorflow/tfjs-backend-wasm ships a threaded SIMD build whose XNNPACK kernels (convolutions,
 * matrix products) split their work over a pthread pool, but tfjs never loads it in Node: its
 * `WASM_HAS_MULTITHREAD_SUPPORT` flag is false whenever `IS_NODE` (tfjs issue 3830). Setting the
 * flag does not help, for three reasons found by reading the 4.22 glue:
 *  1. tfjs hands the Emscripten glue a Blob URL for the pthread worker script and a Blob of its
 *     own bundled factory; Node's `worker_threads.Worker` cannot start from a Blob URL, and the
 *     factory's source refers to closures of the tfjs bundle that do not exist in a worker;
 *  2. the worker script ships only as a string export (`wasmWorkerContents`), not as a file;
 *  3. the C++ side caps the pool at `emscripten_num_logical_cores() / 2` (it assumes two
 *     hyper-threads per core), which is 1 on a 2-core machine, whatever `setThreadsCount` says.
 * So this module registers its own factory for "wasm": it loads the standalone threaded glue
 * from `wasm-out/`, points the pthread workers at `wasm-pthread-worker.cjs` (which evaluates the
 * shipped string), reports twice the wanted thread count as "logical cores" to the wasm module
 * so the cap lets them through, and builds tfjs's own `BackendWasm` on it. Every kernel
 * registered for "wasm" (tfjs's and ours) runs unchanged: they call the same exported functions.
 *
 * The run's thread count is the product's pool's (gemm-pool.ts, which runs the convolutions,
 * Adam and batch norm): it is recorded on the module for gemm-backend.ts, and XNNPACK keeps
 * XNNPACK_THREADS_BESIDE_POOL threads beside it (all of them only where the product does not run).
 *
 * XNNPACK's pool's running threads are unreferenced so that they never keep the process alive (Node
 * would otherwise wait on them forever after the work is done). The thread count is fixed when
 * the backend initialises; to compare counts, use one process per count.
 */
import * as tf from "@tensorflow/tfjs"
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm"
import { readFileSync } from "node:fs"
import { availableParallelism, loadavg } from "node:os"
import { createRequire } from "node:module"
import path from "node:path"
import { fileURLToPath } from "node:url"
import { productRuns, setPoolThreads } from "../ops/kernels/gemm-backend.ts"

/** What this module needs from the imported @tensorflow/tfjs-backend-wasm package. */
export interface WasmPackage {
  readonly BackendWasm: new (module: unknown) => BackendWasm
  readonly setThreadsCount: (n: number) => void
}

/**
 * Threads by default: the cores other processes leave idle (every core of an idle machine, one
 * on a busy one). XNNPACK's pool synchronises after every parallel operation, so a thread that
 * the scheduler pauses stalls the others: with the 2 cores already busy (load average 7-9), a
 * demo-sized training ran 2.5x slower on 2 threads than on 1. Results do not depend on it.
 */
export const defaultThreads = (cores = availableParallelism(), load = loadavg()[0] ?? 0): number =>
  Math.max(1, Math.min(cores, Math.round(cores - load)))

/**
 * XNNPACK's threads where rstn's product runs: the product's pool (gemm-pool.ts) takes the run's
 * threads for the convolutions, Adam and batch norm, and what is left to XNNPACK (elementwise
 * kernels, pooling, padding) is memory-bound and small. XNNPACK's own pool thread beside the
 * product's worker made three busy threads on two cores; held to the calling thread, a
 * width-1/4 training step on 2 threads ran faster (README, "Networks, training and inference").
 */
export const XNNPACK_THREADS_BESIDE_POOL = 1

/** XNNPACK's pool in tfjs-backend-wasm holds at most 8 threads (its PTHREAD_POOL_SIZE). */
export const MAX_WASM_THREADS = 8

const require = createRequire(import.meta.url)
const WORKER_SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), "wasm-pthread-worker.cjs")
const GLUE = "tfjs-backend-wasm-threaded-simd.js"
const BINARY = "tfjs-backend-wasm-threaded-simd.wasm"

interface ThreadedModule {
  cwrap(name: string, ret: string | null, args: string[]): (...a: number[]) => number
  tfjs?: Record<string, unknown>
  readonly PThread: { readonly runningWorkers: ReadonlyArray<{ unref(): void }> }
}

type Imports = { env: Record<string, unknown> } & Record<string, unknown>

/** The slice of the WebAssembly global used here (the project's lib settings do not declare it). */
interface WasmApi {
  compile(bytes: Uint8Array): Promise<object>
  instantiate(module: object, imports: object): Promise<object>
}
const WebAssemblyApi = (globalThis as unknown as { readonly WebAssembly: WasmApi }).WebAssembly

/** The threaded build's Emscripten module with room for `threads` XNNPACK threads, as tfjs would wrap it. */
const instantiate = async (threads: number): Promise<ThreadedModule> => {
  const dir = path.dirname(require.resolve(`@tensorflow/tfjs-backend-wasm/wasm-out/${GLUE}`))
  const factory = require(path.join(dir, GLUE)) as (config: object) => Promise<ThreadedModule>
  const compiled = await WebAssemblyApi.compile(readFileSync(path.join(dir, BINARY)))
  let failed: (e: unknown) => void = () => {}
  const failure = new Promise<never>((_, reject) => (failed = reject))
  const module = await Promise.race([
    factory({
      locateFile: (file: string) => (file.endsWith(".worker.js") ? WORKER_SCRIPT : path.join(dir, file)),
      // Instantiating ourselves lets us replace one import: the core count the pool is capped by.
      instantiateWasm: (imports: Imports, receive: (instance: object, module: object) => void) => {
        const env = { ...imports.env, emscripten_num_logical_cores: () => 2 * threads }
        WebAssemblyApi.instantiate(compiled, { ...imports, env, wasi_snapshot_preview1: env }).then(
          (instance) => receive(instance, compiled),
          failed
        )
        return {}
      }
    }),
    failure
  ])
  // The same bridge tfjs's own init() builds (tfjs-backend-wasm backend_wasm.ts).
  module.tfjs = {
    init: module.cwrap("init", null, []),
    initWithThreadsCount: module.cwrap("init_with_threads_count", null, ["number"]),
    getThreadsCount: module.cwrap("get_threads_count", "number", []),
    registerTensor: module.cwrap("register_tensor", null, ["number", "number", "number"]),
    disposeData: module.cwrap("dispose_data", null, ["number"]),
    dispose: module.cwrap("dispose", null, [])
  }
  return module
}

/**
 * Makes "wasm" initialise as the threaded build with `threads` threads: the product's pool's
 * count (gemm-pool.ts), and XNNPACK's where the product does not run (`useGemm(false)`, or no
 * relaxed SIMD); beside the product XNNPACK gets XNNPACK_THREADS_BESIDE_POOL. Call before the
 * wasm backend is first initialised; returns false (changing nothing) when it already is.
 */
export const useThreadedWasm = (pkg: WasmPackage, threads: number): boolean => {
  if (!Number.isInteger(threads) || threads < 2 || threads > MAX_WASM_THREADS) {
    throw new RangeError(`wasm threads: ${threads} must be an integer in 2..${MAX_WASM_THREADS}`)
  }
  if (tf.findBackend("wasm") !== null) return false
  if (tf.findBackendFactory("wasm") !== null) tf.removeBackend("wasm")
  tf.registerBackend(
    "wasm",
    async () => {
      const module = await instantiate(threads)
      setPoolThreads(module, threads)
      pkg.setThreadsCount(productRuns(module) ? XNNPACK_THREADS_BESIDE_POOL : threads)
      const backend = new pkg.BackendWasm(module)
      for (const worker of module.PThread.runningWorkers) worker.unref()
      return backend
    },
    2 // the stock registration's priority
  )
  return true
}
