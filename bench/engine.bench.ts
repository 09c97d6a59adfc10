/**
 * `npm run bench -- engine`: speed of the networks on every backend that loads here.
 *
 * - The CPU-sized RSTN (coarse + saliency + fine, batch norm) at 96x96 and 128x128, batch 4:
 *   forward (inference: coarse, saliency, crop, fine) and one training step (phase I: forward,
 *   backward, Adam update) — median of 5 runs after a warm-up (cpu: a single run).
 * - "width 1/4" (issue 10): the width-1/4, 5-block, batch-norm RSTN at 128x128, batch 4, on wasm
 *   with 1 and with 2 threads (one child process per count: bench/rstn-step.ts), and, when
 *   `/usr/bin/python3 -c 'import torch'` works, the same layout in PyTorch on the same threads
 *   (bench/pytorch-rstn.py) in the same run, with the ratio rstn / PyTorch. The machine is shared,
 *   so each pair runs ROUNDS times, alternating; the ratio is the median of the rounds' ratios,
 *   of wall times and of CPU times (which waiting for a busy core does not inflate), reported
 *   with the load average.
 * - The reference FCN-8s (width 1, 134M parameters) forward at 256x256, batch 1.
 * - Live tensors before building the models and after disposing them (must be equal).
 *
 * RSTN_BENCH_ENGINE=width-1/4 runs only the width-1/4 comparison. Prints one JSON object.
 */
import * as tf from "@tensorflow/tfjs"
import { spawnSync } from "node:child_process"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { cpuFcn8s, createFcn8s, fcn8sForward, fcn8sParameterCount, referenceFcn8s, type Fcn8sConfig } from "../src/ops/nets/fcn8s.ts"
import { disposeParams, parameterCount } from "../src/ops/nets/param.ts"
import { backendNames, initBackend, type BackendName } from "../src/runtime/backend.ts"
import { BATCH, benchRstn, MARGIN, median, round, time } from "./rstn-timing.ts"

const SIZES = [96, 128]
const THREADS = [1, 2]
const ROUNDS = 5
const dir = path.dirname(fileURLToPath(import.meta.url))

const benchFcnWidth1 = (warmup: number, reps: number) => {
  const fcn = createFcn8s("coarse", referenceFcn8s, 1)
  const x = tf.randomUniform([1, 256, 256, 3], 0, 1, "float32", 1) as tf.Tensor4D
  const forwardMs = time(() => tf.tidy(() => fcn8sForward(fcn, x, { training: false }).dataSync()), warmup, reps)
  x.dispose()
  const built = parameterCount(fcn.params)
  disposeParams(fcn.params)
  return { parameters: built, formula: fcn8sParameterCount(referenceFcn8s), forwardMs }
}

interface Timing {
  readonly forwardMs: number
  readonly trainStepMs: number
  readonly forwardCpuMs: number
  readonly trainStepCpuMs: number
}

const runJson = (command: string, args: ReadonlyArray<string>, env: Record<string, string> = {}): Timing & Record<string, unknown> => {
  const r = spawnSync(command, [...args], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], timeout: 900_000, env: { ...process.env, ...env } })
  if (r.status !== 0) throw new Error(`${path.basename(args[args.length - 1] ?? command)} exited with ${r.status ?? r.signal}`)
  return JSON.parse(r.stdout.trim().split("\n").pop()!) as Timing & Record<string, unknown>
}

const hasTorch = (): boolean => spawnSync("/usr/bin/python3", ["-c", "import torch"], { stdio: "ignore" }).status === 0

/** rstn (wasm) and PyTorch on the width-1/4 RSTN, 128x128, batch 4, per thread count. */
const benchWidthQuarter = (): Record<string, unknown> => {
  const torch = hasTorch()
  const load = [os.loadavg()[0]!]
  const perThreads: Record<string, unknown> = {}
  for (const threads of THREADS) {
    const rstn: Timing[] = []
    const pytorch: Timing[] = []
    let losses: unknown
    for (let r = 0; r < ROUNDS; r++) {
      const ours = runJson(process.execPath, ["--import", "tsx", path.join(dir, "rstn-step.ts"), "--threads", String(threads), "--width", "0.25", "--blocks", "5", "--size", "128"])
      if (ours.threads !== threads) throw new Error(`asked for ${threads} wasm threads, got ${String(ours.threads)}`)
      const { losses: stepLosses, ...timing } = ours
      rstn.push(timing as unknown as Timing)
      losses = stepLosses
      // OpenMP's pool otherwise keeps a second core busy spinning in a "1 thread" PyTorch (its CPU
      // time was 1.6x its wall time, for the same wall time)
      const omp = { OMP_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads) }
      if (torch) pytorch.push(runJson("/usr/bin/python3", [path.join(dir, "pytorch-rstn.py"), "--threads", String(threads), "--width", "0.25", "--blocks", "5", "--size", "128"], omp))
      load.push(os.loadavg()[0]!)
    }
    const keys = ["forwardMs", "trainStepMs", "forwardCpuMs", "trainStepCpuMs"] as const
    const med = (ts: Timing[]) => Object.fromEntries(keys.map((k) => [k, median(ts.map((t) => t[k]))])) as unknown as Timing
    // rstn / PyTorch per round (each pair ran back to back), then the median over rounds.
    const ratio = (k: (typeof keys)[number]) => Math.round(median(rstn.map((t, i) => t[k] / pytorch[i]![k])) * 100) / 100
    perThreads[`${threads} thread${threads === 1 ? "" : "s"}`] = {
      rstn: med(rstn),
      pytorch: torch ? med(pytorch) : "not installed (apt-get install python3-torch)",
      ...(torch
        ? { ratio: { forward: ratio("forwardMs"), trainStep: ratio("trainStepMs"), forwardCpu: ratio("forwardCpuMs"), trainStepCpu: ratio("trainStepCpuMs") } }
        : {}),
      runs: { rstn, pytorch },
      losses
    }
  }
  return { network: "RSTN, FCN-8s width 1/4 (16..128 channels, fc 1024), 5 blocks, batch norm, 128x128, batch 4, phase I, Adam", rounds: ROUNDS, loadAverage1m: load, ...perThreads }
}

const results: Record<string, unknown> = {}
const only = process.env.RSTN_BENCH_ENGINE
if (only === "width-1/4") {
  process.stdout.write(JSON.stringify({ batch: BATCH, "width 1/4": benchWidthQuarter() }) + "\n")
  process.exit(0)
}
for (const name of backendNames as ReadonlyArray<BackendName>) {
  try {
    const info = await initBackend(name)
    // The pure-JS cpu backend needs minutes per training step (its Conv2DBackpropFilter):
    // there, one run without warm-up, and only the proposed width.
    const slow = name === "cpu"
    const [warmup, reps] = slow ? [0, 1] : [1, 5]
    const before = tf.memory().numTensors
    const widths: Record<string, Fcn8sConfig> = slow ? { "1/16": cpuFcn8s } : { "1/16": cpuFcn8s, "1/8": { ...cpuFcn8s, width: 1 / 8 } }
    const rstn: Record<string, unknown> = {}
    for (const [label, net] of Object.entries(widths)) {
      rstn[`width ${label}`] = Object.fromEntries(SIZES.map((s) => [`${s}x${s}`, benchRstn(net, s, warmup, reps)]))
    }
    const fcn8s = benchFcnWidth1(warmup, slow ? 1 : 3)
    results[name] = { available: true, info, rstn, fcn8sWidth1At256: fcn8s, tensors: { before, after: tf.memory().numTensors } }
  } catch (e) {
    results[name] = { available: false, problem: e instanceof Error ? e.message : String(e) }
  }
  process.stderr.write(`engine bench: ${name} done\n`)
}

const widthQuarter = benchWidthQuarter()
process.stderr.write("engine bench: width 1/4 done\n")
process.stdout.write(
  JSON.stringify({ batch: BATCH, proposal: { width: "1/16", norm: "batch", optimizer: "adam 1e-3" }, margin: MARGIN, backends: results, "width 1/4": widthQuarter }) + "\n"
)
