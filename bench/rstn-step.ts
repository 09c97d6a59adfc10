/**
 * Child process of bench/engine.bench.ts: times the RSTN on wasm with `--threads N` (the thread
 * count is fixed per process, see src/runtime/wasm-threads.ts). Prints one JSON object.
 * Usage: tsx bench/rstn-step.ts --threads N [--width W] [--blocks B] [--size S] [--reps R] [--conv gemm|xnnpack]
 * (`--conv xnnpack` keeps the stock convolutions instead of the fused multiply-add product)
 */
import { parseArgs } from "node:util"
import { cpuFcn8s } from "../src/ops/nets/fcn8s.ts"
import { useGemm } from "../src/ops/kernels/gemm-backend.ts"
import { initBackend } from "../src/runtime/backend.ts"
import { benchRstn } from "./rstn-timing.ts"

const { values } = parseArgs({
  options: {
    threads: { type: "string", default: "1" },
    width: { type: "string", default: "0.25" },
    blocks: { type: "string", default: "5" },
    size: { type: "string", default: "128" },
    reps: { type: "string", default: "5" },
    conv: { type: "string", default: "gemm" }
  }
})
useGemm(values.conv !== "xnnpack")
const info = await initBackend("wasm", { threads: Number(values.threads) })
const net = { ...cpuFcn8s, width: Number(values.width), blocks: Number(values.blocks) }
const t = benchRstn(net, Number(values.size), 1, Number(values.reps))
process.stdout.write(JSON.stringify({ threads: info.threads, conv: values.conv, ...t }) + "\n")
