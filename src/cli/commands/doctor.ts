/**
 * `rstn doctor`: which TensorFlow.js backends load on this machine, their versions, wasm's SIMD
 * and threads, the GPUs tfjs-node-gpu sees, what to install for each missing one, and which one
 * "auto" would pick. `--backend NAME` also fails (exit 1, with the install hint) when that
 * backend is unusable, so scripts can check a machine before starting a long run.
 */
import { Effect } from "effect"
import * as os from "node:os"
import { booleanFlag, type ParsedArgs, stringFlag } from "../args.ts"
import type { Run } from "../command.ts"
import {
  autoChoice,
  type BackendStatus,
  type BackendChoice,
  BackendUnavailable,
  probeBackends,
  verifyWasmKernels,
  type Importer,
  type KernelCheck
} from "../../runtime/backend.ts"
import { defaultThreads } from "../../runtime/wasm-threads.ts"

export interface DoctorReport {
  readonly node: string
  readonly platform: string
  readonly cpus: number
  readonly backends: ReadonlyArray<BackendStatus>
  readonly auto: { readonly name: string; readonly reason: string }
  /** wasm gradient kernels compared with cpu (absent when wasm is unavailable). */
  readonly kernelChecks?: ReadonlyArray<KernelCheck>
}

const details = (s: BackendStatus, cpus: number): string => {
  if (s.name === "wasm") {
    const n = s.threads ?? 1
    // run.threads defaults to the idle cores: say so when that is fewer than all of them.
    const why = n > 1 ? " (threaded build)" : cpus > 1 ? ` (the other cores are busy; run.threads sets it)` : ""
    const threads = `${n} thread${n === 1 ? "" : "s"}${why}`
    return `${s.simd ? "SIMD" : "no SIMD"}, ${threads}; rstn kernels: ${(s.kernels ?? []).join(", ")}`
  }
  if (s.name === "cpu") return "pure JavaScript: slow, for tests and tiny runs"
  if (s.name === "node-gpu") return s.devices && s.devices.length > 0 ? `GPUs: ${s.devices.join(", ")}` : "no GPU found: runs on the CPU"
  return "libtensorflow on the CPU"
}

export const renderReport = (r: DoctorReport): string => {
  const lines = [`TensorFlow.js backends on this machine (Node ${r.node}, ${r.platform}, ${r.cpus} CPUs):`, ""]
  for (const s of r.backends) {
    const status = s.available ? `ok ${s.version ?? ""}`.trim() : "missing"
    lines.push(`  ${s.name.padEnd(10)}${status.padEnd(11)}${s.available ? details(s, r.cpus) : (s.problem ?? "")}`)
    if (!s.available && s.hint) lines.push(`  ${"".padEnd(10)}${"install:".padEnd(11)}${s.hint}`)
  }
  if (r.kernelChecks) {
    lines.push("", "rstn's wasm kernels against cpu (relative error, must stay below 1e-4):")
    for (const c of r.kernelChecks) {
      lines.push(`  ${c.kernel.padEnd(22)}${c.ok ? "ok  " : "FAIL"}  ${c.relativeError.toExponential(1)}  ${c.case}`)
    }
  }
  lines.push("", `auto picks ${r.auto.name}: ${r.auto.reason}`)
  return lines.join("\n")
}

/** Probes every backend (importer: for tests, to simulate installed or missing packages). */
export const report = (options: { readonly importer?: Importer; readonly threads?: number } = {}) =>
  Effect.gen(function* () {
    // wasm with as many threads as a run started now would use by default (run.threads: the idle cores).
    const backends = yield* Effect.promise(() => probeBackends({ threads: defaultThreads(), ...options }))
    const wasmOk = backends.some((b) => b.name === "wasm" && b.available)
    const kernelChecks = wasmOk ? yield* Effect.promise(() => verifyWasmKernels()) : undefined
    const result: DoctorReport = {
      node: process.version,
      platform: `${os.platform()} ${os.arch()}`,
      cpus: os.cpus().length,
      backends,
      auto: autoChoice(backends),
      ...(kernelChecks ? { kernelChecks } : {})
    }
    return result
  })

export const run: Run = (args: ParsedArgs) =>
  Effect.gen(function* () {
    // A name, checked against the backend names when the flags were parsed (before the slow probing).
    const choice = stringFlag(args, "backend") as BackendChoice | undefined
    const r = yield* report()
    process.stdout.write((booleanFlag(args, "json") ? JSON.stringify(r, null, 2) : renderReport(r)) + "\n")
    if (choice !== undefined && choice !== "auto") {
      const status = r.backends.find((b) => b.name === choice)!
      if (!status.available) {
        return yield* new BackendUnavailable({
          backend: choice,
          source: "--backend",
          problem: status.problem ?? "it does not load",
          hint: status.hint ?? ""
        })
      }
    }
    const failed = r.kernelChecks?.filter((c) => !c.ok) ?? []
    return failed.length > 0 ? 1 : 0
  })
