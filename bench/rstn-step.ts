/**
 * Child process of bench/engine.bench.ts: times the RSTN on wasm with `--threads N` (the thread
 * count is fixed per process, see src/runtime/wasm-threads.ts). Prints one JSON object.
 * Usage: tsx bench/rstn-step.ts --threads N [--width W] [--blocks B] [--size S] [--reps R]
 */
import { parseArgs } from "node:util"
import { cpuFcn8s } from "../src/ops/nets/fcn8s.ts"
import { initBackend } from "../src/runtime/backend.ts"
import { benchRstn } from "./rstn-timing.ts"

const { values } = parseArgs({
  options: {
    threads: { type: "string", default: "1" },
    width: { type: "string", default: "0.25" },
    blocks: { type: "string", default: "5" },
    size: { type: "string", default: "128" },
    reps: { type: "string", default: "5" }
  }
})
const info = await initBackend("wasm", { threads: Number(values.threads) })
const net = { ...cpuFcn8s, width: Number(values.width), blocks: Number(values.blocks) }
const t = benchRstn(net, Number(values.size), 1, Number(values.reps))
process.stdout.write(JSON.stringify({ threads: info.threads, ...t }) + "\n")
