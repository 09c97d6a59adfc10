/**
 * Which TensorFlow.js backend runs the tensors, and the `TensorBackend` service that provides it.
 *
 * "auto" tries, in order, @tensorflow/tfjs-node-gpu, @tensorflow/tfjs-node (both optional native
 * packages: libtensorflow is downloaded when they install, which needs storage.googleapis.com),
 * @tensorflow/tfjs-backend-wasm (XNNPACK with SIMD; on several threads through wasm-threads.ts,
 * which tfjs itself does not do in Node) and the pure-JS `cpu`
 * backend (design.md, "Engine"). A named backend is forced: if it cannot load, that is a
 * `BackendUnavailable` error whose hint says what to install. The optional packages are loaded
 * with a dynamic `import()` only when tried, so their absence costs nothing.
 *
 * On wasm, rstn's gradient kernels are registered (src/ops/kernels): without them training
 * fails there (no Conv2DBackpropFilter) or crawls (Conv2DBackpropInput, Tile, MaxPoolGrad).
 */
import * as tf from "@tensorflow/tfjs"
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm"
import { Context, Data, Effect, Either, Layer } from "effect"
import { execFileSync } from "node:child_process"
import { createRequire } from "node:module"
import { didYouMean } from "../dsl/did-you-mean.ts"
import { poolThreadsOf } from "../ops/kernels/gemm-backend.ts"
import { registerWasmKernels, wasmKernelNames } from "../ops/kernels/register.ts"
import { relativeError } from "../ops/kernels/relative-error.ts"
import { kernelCases } from "../ops/kernels/self-check.ts"
import { backendChoices, type BackendChoice, type BackendName, backendNames } from "./backend-names.ts"
import { useThreadedWasm, type WasmPackage } from "./wasm-threads.ts"

export { backendChoices, backendNames, type BackendChoice, type BackendName } from "./backend-names.ts"

/** The backend in use, for the run log and `run-started` event. */
export interface BackendInfo {
  readonly name: BackendName
  /** Version of the package providing it (e.g. "4.22.0"). */
  readonly version: string
  /** Why this backend: "forced by --backend", or what "auto" skipped and why. */
  readonly reason: string
  /** wasm: whether the SIMD build runs. */
  readonly simd?: boolean
  /**
   * wasm: the threads rstn's product (convolutions, Adam, batch norm) spreads over, the threaded
   * build when more than 1 (see wasm-threads.ts; XNNPACK may be held to fewer).
   */
  readonly threads?: number
  /** node-gpu: GPUs TensorFlow uses (empty when it fell back to the CPU). */
  readonly devices?: ReadonlyArray<string>
  /** Kernels rstn registered for this backend (wasm: its gradient kernels). */
  readonly kernels?: ReadonlyArray<string>
}

/** What `rstn doctor` reports for one backend. */
export interface BackendStatus {
  readonly name: BackendName
  /** The npm package providing it. */
  readonly package: string
  readonly available: boolean
  readonly version?: string
  readonly simd?: boolean
  readonly threads?: number
  readonly devices?: ReadonlyArray<string>
  readonly kernels?: ReadonlyArray<string>
  /** Why it is unavailable (absent when available). */
  readonly problem?: string
  /** What to install or change so it loads (absent when available). */
  readonly hint?: string
}

export class BackendUnavailable extends Data.TaggedError("BackendUnavailable")<{
  readonly backend: BackendName
  /** Where the choice came from, e.g. "--backend" or "pipeline.yaml: engine.backend". */
  readonly source: string
  readonly problem: string
  readonly hint: string
}> {
  override get message(): string {
    return `backend ${this.backend} (forced by ${this.source}) cannot be used: ${this.problem}`
  }
}

export class UnknownBackend extends Data.TaggedError("UnknownBackend")<{
  readonly given: string
  readonly source: string
  readonly hint: string
}> {
  override get message(): string {
    return `unknown backend '${this.given}' in ${this.source}`
  }
}

/** Loads a module by name; tests substitute it to simulate installed or broken packages. */
export type Importer = (specifier: string) => Promise<unknown>

export interface BackendOptions {
  /** Where a forced choice came from, for the reason and errors (default "--backend"). */
  readonly source?: string
  readonly importer?: Importer
  /**
   * wasm: threads (default 1: the single-threaded build; see wasm-threads.ts). Fixed once the backend has
   * initialised in this process; `BackendInfo.threads` says what runs.
   */
  readonly threads?: number
}

const defaultImporter: Importer = (specifier) => import(specifier)

export const packageOf: Readonly<Record<BackendName, string>> = {
  "node-gpu": "@tensorflow/tfjs-node-gpu",
  node: "@tensorflow/tfjs-node",
  wasm: "@tensorflow/tfjs-backend-wasm",
  cpu: "@tensorflow/tfjs"
}

/** The name tfjs registers each backend under (tfjs-node and tfjs-node-gpu share one). */
const tfName: Readonly<Record<BackendName, string>> = { "node-gpu": "tensorflow", node: "tensorflow", wasm: "wasm", cpu: "cpu" }

const installHint: Readonly<Record<BackendName, string>> = {
  "node-gpu":
    `run \`npm install @tensorflow/tfjs-node-gpu@${tf.version_core}\` on Linux x64 with an NVIDIA GPU, CUDA 11.2 and ` +
    "cuDNN 8.1; its install script downloads libtensorflow 2.9 from storage.googleapis.com, so that host must be reachable",
  node:
    `run \`npm install @tensorflow/tfjs-node@${tf.version_core}\` on a machine that can reach storage.googleapis.com ` +
    "(its install script downloads libtensorflow 2.9; Linux x64, macOS or Windows x64)",
  wasm: `run \`npm install @tensorflow/tfjs-backend-wasm@${tf.version_core}\` (its version must match @tensorflow/tfjs)`,
  cpu: "the cpu backend ships with @tensorflow/tfjs: reinstall dependencies with `npm ci`"
}

/** Reads a choice from the CLI or a pipeline. */
export const parseBackendChoice = (given: string, source = "--backend"): Either.Either<BackendChoice, UnknownBackend> => {
  const choice = backendChoices.find((c) => c === given)
  if (choice !== undefined) return Either.right(choice)
  const guess = didYouMean(given, backendChoices)
  return Either.left(
    new UnknownBackend({
      given,
      source,
      hint: `${guess ? `did you mean '${guess}'? ` : ""}choose one of ${backendChoices.join(", ")}`
    })
  )
}

type Loaded = Omit<BackendInfo, "reason">
type Attempt = { readonly ok: true; readonly info: Loaded } | { readonly ok: false; readonly problem: string; readonly hint: string }

const firstLine = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split("\n")[0]!.trim()

const isNotInstalled = (e: unknown, specifier: string): boolean => {
  const code = (e as { code?: unknown } | null)?.code
  const message = e instanceof Error ? e.message : String(e)
  return (
    (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") &&
    (message.includes(`'${specifier}'`) || message.includes(`"${specifier}"`))
  )
}

const importPackage = async (
  name: BackendName,
  importer: Importer
): Promise<{ readonly module: Record<string, unknown> } | { readonly problem: string }> => {
  const specifier = packageOf[name]
  try {
    return { module: (await importer(specifier)) as Record<string, unknown> }
  } catch (e) {
    return { problem: isNotInstalled(e, specifier) ? `${specifier} is not installed` : `${specifier} failed to load: ${firstLine(e)}` }
  }
}

/** The version a package reports, or its package.json's, or tfjs's as the last resort. */
const versionOf = (module: Record<string, unknown>, key: string, specifier: string): string => {
  const v = module[key] ?? module.version
  if (typeof v === "string") return v
  if (typeof v === "object" && v !== null) {
    const named = (v as Record<string, unknown>)[specifier.replace("@tensorflow/", "")]
    if (typeof named === "string") return named
  }
  try {
    const pkg = createRequire(import.meta.url)(`${specifier}/package.json`) as { version?: unknown }
    if (typeof pkg.version === "string") return pkg.version
  } catch {
    // Packages whose "exports" hide package.json: fall through.
  }
  return tf.version_core
}

/** A tiny computation on the active backend, so "loads" means "computes". */
const computes = (): boolean => tf.tidy(() => tf.add(tf.scalar(1), tf.scalar(2)).dataSync()[0] === 3)

/**
 * The cpu backend prints a "Hi there, looks like you are running TensorFlow.js in Node.js"
 * banner on its first tensor (tfjs-backend-cpu backend_cpu.ts, `firstUse`). rstn chose cpu on
 * purpose and says why in its own log, so the banner is switched off on that one instance;
 * `tf.enableProdMode()` would also do it but silences every other tfjs warning and check.
 */
const silenceCpuBanner = (): void => {
  const cpu = tf.findBackend("cpu") as unknown as { firstUse?: boolean } | null
  if (cpu !== null && typeof cpu.firstUse === "boolean") cpu.firstUse = false
}

/**
 * The emscripten glue of the wasm backend installs process handlers that rethrow every uncaught
 * exception from inside its own minified source, burying the real error under a screen of
 * JavaScript. rstn renders its own errors, so those handlers are removed once wasm is up. Only
 * handlers added meanwhile that look like emscripten's are touched.
 */
const removeEmscriptenHandlers = (before: {
  readonly exception: ReadonlyArray<unknown>
  readonly rejection: ReadonlyArray<unknown>
}): void => {
  const emscripten = (l: unknown) => /ExitStatus|^function\s*\(reason\)\s*\{\s*throw reason;?\s*\}$/.test(String(l).trim())
  for (const l of process.listeners("uncaughtException")) {
    if (!before.exception.includes(l) && emscripten(l)) process.removeListener("uncaughtException", l)
  }
  for (const l of process.listeners("unhandledRejection")) {
    if (!before.rejection.includes(l) && emscripten(l)) process.removeListener("unhandledRejection", l)
  }
}

const activate = async (name: BackendName): Promise<string | undefined> => {
  try {
    if (!(await tf.setBackend(tfName[name]))) return `tfjs could not initialise the ${tfName[name]} backend`
    if (name === "cpu") silenceCpuBanner()
    return computes() ? undefined : "a test computation gave a wrong result"
  } catch (e) {
    return `initialising failed: ${firstLine(e)}`
  }
}

/** GPU names from nvidia-smi, when TensorFlow reports it is using a GPU. */
const gpuNames = (): ReadonlyArray<string> => {
  try {
    const out = execFileSync("nvidia-smi", ["--query-gpu=name", "--format=csv,noheader"], { encoding: "utf8", timeout: 5000 })
    const names = out.split("\n").map((s) => s.trim()).filter((s) => s !== "")
    return names.length > 0 ? names : ["GPU"]
  } catch {
    return ["GPU"]
  }
}

const loadNative = async (name: "node-gpu" | "node", importer: Importer): Promise<Attempt> => {
  const hint = installHint[name]
  if (tf.findBackendFactory("tensorflow") !== null && !(await isSameNativePackage(name))) {
    const other = name === "node" ? "tfjs-node-gpu" : "tfjs-node"
    return { ok: false, problem: `${other} already provides the tensorflow backend in this process`, hint }
  }
  const imported = await importPackage(name, importer)
  if ("problem" in imported) return { ok: false, problem: imported.problem, hint }
  if (tf.findBackendFactory("tensorflow") === null) {
    return {
      ok: false,
      problem: `${packageOf[name]} loaded but registered its backend with another copy of @tensorflow/tfjs-core`,
      hint: `install the version matching @tensorflow/tfjs: \`npm install ${packageOf[name]}@${tf.version_core}\``
    }
  }
  const problem = await activate(name)
  if (problem !== undefined) return { ok: false, problem, hint }
  const backend = tf.backend() as unknown as { isGPUPackage?: boolean; isUsingGpuDevice?: boolean }
  const version = versionOf(imported.module, "version", packageOf[name])
  if (name === "node-gpu") {
    return { ok: true, info: { name, version, devices: backend.isUsingGpuDevice === true ? gpuNames() : [] } }
  }
  return { ok: true, info: { name, version } }
}

/** Both native packages register "tensorflow"; tell which one did by its isGPUPackage flag. */
const isSameNativePackage = async (name: "node-gpu" | "node"): Promise<boolean> => {
  const instance = tf.findBackend("tensorflow") as unknown as { isGPUPackage?: boolean } | null
  if (instance === null) return true // registered but not initialised yet: initialising will tell
  return (instance.isGPUPackage === true) === (name === "node-gpu")
}

const loadWasm = async (importer: Importer, threads: number): Promise<Attempt> => {
  const hint = installHint.wasm
  const before = { exception: process.listeners("uncaughtException"), rejection: process.listeners("unhandledRejection") }
  const imported = await importPackage("wasm", importer)
  if ("problem" in imported) return { ok: false, problem: imported.problem, hint }
  // The wasm backend finds its .wasm binaries itself in Node: the emscripten glue is bundled
  // into dist/tf-backend-wasm.node.js and resolves them against its own directory, where they
  // ship (setWasmPaths is for bundlers that move the files).
  registerWasmKernels()
  if (threads > 1) {
    try {
      useThreadedWasm(imported.module as unknown as WasmPackage, threads)
    } catch (e) {
      return { ok: false, problem: `threaded wasm: ${firstLine(e)}`, hint }
    }
  }
  const problem = await activate("wasm")
  removeEmscriptenHandlers(before)
  if (problem !== undefined) {
    return { ok: false, problem, hint: "check that node_modules/@tensorflow/tfjs-backend-wasm/dist contains its .wasm files; " + hint }
  }
  const simd = (await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT")) === true
  const running = poolThreadsOf(tf.backend() as BackendWasm)
  return {
    ok: true,
    info: { name: "wasm", version: versionOf(imported.module, "version_wasm", packageOf.wasm), simd, threads: running, kernels: wasmKernelNames }
  }
}

const loadCpu = async (): Promise<Attempt> => {
  const problem = await activate("cpu")
  if (problem !== undefined) return { ok: false, problem, hint: installHint.cpu }
  return { ok: true, info: { name: "cpu", version: tf.version_core } }
}

const load = (name: BackendName, importer: Importer, threads = 1): Promise<Attempt> =>
  name === "wasm" ? loadWasm(importer, threads) : name === "cpu" ? loadCpu() : loadNative(name, importer)

export const describeBackend = (info: Pick<BackendInfo, "name" | "simd" | "threads" | "devices">): string =>
  info.name === "wasm"
    ? `wasm (${info.simd ? "SIMD" : "no SIMD"}, ${info.threads ?? 1} thread${info.threads === 1 ? "" : "s"})`
    : info.name === "node-gpu" && info.devices !== undefined
      ? `node-gpu (${info.devices.length > 0 ? info.devices.join(", ") : "no GPU found: TensorFlow runs on the CPU"})`
      : info.name

/**
 * Makes `choice` the active tfjs backend and says which one runs and why. A forced backend that
 * cannot load rejects with `BackendUnavailable`; "auto" falls through to the next candidate.
 */
export const initBackend = async (choice: BackendChoice, options: BackendOptions = {}): Promise<BackendInfo> => {
  const importer = options.importer ?? defaultImporter
  const source = options.source ?? "--backend"
  const threads = options.threads ?? 1
  if (choice !== "auto") {
    const attempt = await load(choice, importer, threads)
    if (!attempt.ok) throw new BackendUnavailable({ backend: choice, source, problem: attempt.problem, hint: attempt.hint })
    return { ...attempt.info, reason: `forced by ${source}` }
  }
  const skipped: string[] = []
  for (const name of backendNames) {
    const attempt = await load(name, importer, threads)
    if (attempt.ok) {
      const using = `using ${describeBackend(attempt.info)}`
      return { ...attempt.info, reason: skipped.length > 0 ? `${skipped.join("; ")}; ${using}` : using }
    }
    skipped.push(attempt.problem)
  }
  // Unreachable in practice: cpu is part of @tensorflow/tfjs itself.
  throw new BackendUnavailable({ backend: "cpu", source: "auto", problem: skipped.join("; "), hint: installHint.cpu })
}

/**
 * Tries every backend in "auto" order and reports each (for `rstn doctor`). Each one is
 * activated in turn; the last one tried stays active, so call `initBackend` afterwards.
 */
export const probeBackends = async (options: Pick<BackendOptions, "importer" | "threads"> = {}): Promise<ReadonlyArray<BackendStatus>> => {
  const importer = options.importer ?? defaultImporter
  const statuses: BackendStatus[] = []
  for (const name of backendNames) {
    const attempt = await load(name, importer, options.threads)
    statuses.push(
      attempt.ok
        ? { package: packageOf[name], available: true, ...attempt.info }
        : { name, package: packageOf[name], available: false, problem: attempt.problem, hint: attempt.hint }
    )
  }
  return statuses
}

/** The backend "auto" would pick given probe results, with the reason it would log. */
export const autoChoice = (statuses: ReadonlyArray<BackendStatus>): { readonly name: BackendName; readonly reason: string } => {
  const skipped: string[] = []
  for (const s of statuses) {
    if (s.available) return { name: s.name, reason: [...skipped, `using ${describeBackend(s)}`].join("; ") }
    skipped.push(s.problem ?? `${s.name} unavailable`)
  }
  return { name: "cpu", reason: skipped.join("; ") }
}

/** Gradient checks against cpu: relative error below this (issue 3 §2). */
export const KERNEL_TOLERANCE = 1e-4

/** One wasm kernel compared with the cpu backend. */
export interface KernelCheck {
  readonly kernel: string
  readonly case: string
  /** ||wasm - cpu|| / max(||wasm||, ||cpu||); NaN when the wasm side threw. */
  readonly relativeError: number
  readonly ok: boolean
  readonly error?: string
}

/**
 * Runs each self-check case (src/ops/kernels/self-check.ts) on cpu and on wasm with rstn's
 * kernels and compares them. Needs the wasm backend to load; restores the active backend.
 */
export const verifyWasmKernels = async (): Promise<ReadonlyArray<KernelCheck>> => {
  const previous = tf.getBackend()
  const checks: KernelCheck[] = []
  registerWasmKernels()
  for (const c of kernelCases) {
    await tf.setBackend("cpu")
    silenceCpuBanner()
    const reference = c.compute()
    await tf.setBackend("wasm")
    try {
      const e = relativeError(reference, c.compute())
      checks.push({ kernel: c.kernel, case: c.case, relativeError: e, ok: e < KERNEL_TOLERANCE })
    } catch (err) {
      checks.push({ kernel: c.kernel, case: c.case, relativeError: Number.NaN, ok: false, error: firstLine(err) })
    }
  }
  if (previous !== undefined && previous !== tf.getBackend()) await tf.setBackend(previous)
  return checks
}

/** `initBackend` as an effect with typed failures. */
export const acquireBackend = (choice: BackendChoice, options: BackendOptions = {}): Effect.Effect<BackendInfo, BackendUnavailable> =>
  Effect.tryPromise({
    try: () => initBackend(choice, options),
    catch: (e) =>
      e instanceof BackendUnavailable
        ? e
        : new BackendUnavailable({
            backend: choice === "auto" ? "cpu" : choice,
            source: options.source ?? "--backend",
            problem: firstLine(e),
            hint: installHint[choice === "auto" ? "cpu" : choice]
          })
  })

/**
 * The up-front check a run makes before any work: parses the backend named by the CLI or the
 * pipeline and activates it, failing with `UnknownBackend` or `BackendUnavailable`.
 */
export const checkBackend = (
  given: string,
  options: BackendOptions = {}
): Effect.Effect<BackendInfo, UnknownBackend | BackendUnavailable> =>
  Effect.flatMap(parseBackendChoice(given, options.source ?? "--backend"), (choice) => acquireBackend(choice, options))

/** The tensor backend every node computes on; built once, in the entry point. */
export class TensorBackend extends Context.Tag("TensorBackend")<TensorBackend, BackendInfo>() {
  /** Activates `choice` when the layer is built; a forced backend that cannot load fails it. */
  static readonly layer = (choice: BackendChoice, options: BackendOptions = {}): Layer.Layer<TensorBackend, BackendUnavailable> =>
    Layer.effect(TensorBackend, acquireBackend(choice, options))

  /** The pure-JS cpu backend: deterministic and always present, for tests. */
  static readonly Test: Layer.Layer<TensorBackend> = Layer.effect(
    TensorBackend,
    Effect.orDie(acquireBackend("cpu", { source: "the test layer" }))
  )
}
