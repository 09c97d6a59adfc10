import { Effect } from "effect"
import { createRequire } from "node:module"
import { afterEach, describe, expect, it, vi } from "vitest"
import { main } from "../../src/cli/main.ts"
import { type DoctorReport, renderReport, report } from "../../src/cli/commands/doctor.ts"
import type { Importer } from "../../src/runtime/backend.ts"

const notInstalled = (specifier: string): Error =>
  Object.assign(new Error(`Cannot find package '${specifier}'`), { code: "ERR_MODULE_NOT_FOUND" })

/** tfjs-node and tfjs-node-gpu absent, wasm present: the situation on these machines. */
const withoutNative: Importer = (specifier) =>
  specifier === "@tensorflow/tfjs-backend-wasm" ? import(specifier) : Promise.reject(notInstalled(specifier))

/** Runs `rstn ARGS` in-process; returns exit code, stdout and stderr. */
const rstn = async (...args: string[]) => {
  let out = ""
  let err = ""
  const o = vi.spyOn(process.stdout, "write").mockImplementation((s) => ((out += String(s)), true))
  const e = vi.spyOn(process.stderr, "write").mockImplementation((s) => ((err += String(s)), true))
  try {
    const code = await main(args)
    return { code, out, err }
  } finally {
    o.mockRestore()
    e.mockRestore()
  }
}

afterEach(() => vi.restoreAllMocks())

describe("rstn doctor", () => {
  it("reports each backend, what to install for missing ones, the kernel checks and auto's pick", async () => {
    // Two threads, as `run.threads` defaults to on these 2-core machines: the threaded build.
    const r = await Effect.runPromise(report({ importer: withoutNative, threads: 2 }))
    expect(r.backends.map((b) => `${b.name}:${b.available}`)).toEqual(["node-gpu:false", "node:false", "wasm:true", "cpu:true"])
    expect(r.kernelChecks!.map((c) => c.kernel)).toEqual([
      "Conv2DBackpropInput",
      "Conv2DBackpropFilter",
      "Conv2D",
      "Conv2DBackpropFilter",
      "Conv2DBackpropInput",
      "Tile",
      "Conv2D",
      "Slice",
      "RstnBatchNorm",
      "RstnAdam",
      "MaxPoolGrad"
    ])
    for (const c of r.kernelChecks!) expect(c.relativeError).toBeLessThan(1e-4)
    expect(r.auto.name).toBe("wasm")

    const text = renderReport(r)
    expect(text).toMatch(/^ {2}node-gpu {2}missing {4}@tensorflow\/tfjs-node-gpu is not installed$/m)
    expect(text).toMatch(/^ {12}install: {3}run `npm install @tensorflow\/tfjs-node@4\.22\.0` on a machine that can reach storage\.googleapis\.com/m)
    expect(text).toMatch(/^ {2}wasm {6}ok 4\.22\.0 {2}SIMD, 2 threads \(threaded build\); rstn kernels: Conv2DBackpropInput, Conv2DBackpropFilter, Tile, MaxPoolGrad, Identity, Cast, Conv2D, Slice$/m)
    expect(text).toMatch(/^ {2}Tile {18}ok {4}\d\.\de[-+]\d+ {2}batch-norm gradient/m)
    expect(text).toMatch(/^auto picks wasm: .*using wasm \(SIMD, 2 threads\)$/m)
  })

  it("shows a GPU list for tfjs-node-gpu and marks a failed kernel check", () => {
    const r: DoctorReport = {
      node: "v20.0.0",
      platform: "linux x64",
      cpus: 8,
      backends: [
        { name: "node-gpu", package: "@tensorflow/tfjs-node-gpu", available: true, version: "4.22.0", devices: ["NVIDIA H100"] }
      ],
      auto: { name: "node-gpu", reason: "using node-gpu (NVIDIA H100)" },
      kernelChecks: [{ kernel: "Tile", case: "c", relativeError: 0.5, ok: false }]
    }
    const text = renderReport(r)
    expect(text).toContain("node-gpu  ok 4.22.0  GPUs: NVIDIA H100")
    expect(text).toMatch(/Tile {18}FAIL {2}5\.0e-1/)
  })

  it("--json prints one JSON object and exits 0", async () => {
    const { code, out } = await rstn("doctor", "--json")
    expect(code).toBe(0)
    const parsed = JSON.parse(out) as DoctorReport
    expect(parsed.backends.map((b) => b.name)).toEqual(["node-gpu", "node", "wasm", "cpu"])
    expect(parsed.backends.find((b) => b.name === "cpu")!.available).toBe(true)
  })

  const gpuPackageInstalled = (() => {
    try {
      createRequire(import.meta.url).resolve("@tensorflow/tfjs-node-gpu")
      return true
    } catch {
      return false
    }
  })()

  it.skipIf(gpuPackageInstalled)("--backend fails with the install hint when that backend is unusable", async () => {
    const { code, err } = await rstn("doctor", "--backend", "node-gpu")
    expect(code).toBe(1)
    expect(err).toMatch(/^rstn: backend node-gpu \(forced by --backend\) cannot be used: /)
    expect(err).toContain("hint: run `npm install @tensorflow/tfjs-node-gpu@4.22.0`")
  })

  it("--backend with a misspelt name is a usage error (exit 2) with a did-you-mean, before any probing", async () => {
    const { code, out, err } = await rstn("doctor", "--backend", "wsam")
    expect(code).toBe(2)
    expect(out).toBe("")
    expect(err).toBe("rstn: --backend must be one of auto, node-gpu, node, wasm, cpu, got 'wsam'\n  hint: did you mean --backend wasm?\n")
  })
})
