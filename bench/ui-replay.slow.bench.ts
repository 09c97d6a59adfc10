/**
 * What the terminal UI costs on a real run: replays a run's `events.jsonl` at the pace it was
 * recorded (`RSTN_EVENTS`, default `runs/demo/events.jsonl`, which `npm start` writes) through
 * the mounted UI drawing into a fake 100x30 terminal, and measures the CPU time the UI took and
 * the events per second it handled. Real time is needed: renders are throttled to ten a second
 * and the clock redraws once a second, so a faster replay would not cost the same. Prints one
 * JSON object.
 */
import * as fs from "node:fs"
import { parseEventLog } from "../src/runtime/event-log.ts"

// Ink draws only a final frame when it believes it runs in CI; measure real drawing.
delete process.env.CI
delete process.env.CONTINUOUS_INTEGRATION
const { mountPushedRunUi } = await import("../test/tui/terminal.ts")

const file = process.env.RSTN_EVENTS ?? "runs/demo/events.jsonl"
if (!fs.existsSync(file)) {
  process.stdout.write(JSON.stringify({ error: `${file} not found: run \`npm start\` first, or set RSTN_EVENTS to a run's events.jsonl` }) + "\n")
  process.exit(1)
}
const { events } = parseEventLog(fs.readFileSync(file, "utf8"))
if (events.length === 0 || events.at(-1)!._tag !== "run-finished") {
  process.stdout.write(JSON.stringify({ error: `${file} is not a finished run's log` }) + "\n")
  process.exit(1)
}


const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d
const first = events[0]!.at
const spanMs = events.at(-1)!.at - first
let peak = 0
for (let i = 0, j = 0; i < events.length; i++) {
  while (events[j]!.at < events[i]!.at - 1000) j++
  peak = Math.max(peak, i - j + 1)
}

const { stdout, ui, emit } = await mountPushedRunUi()
await new Promise<void>((resolve) => setImmediate(resolve))

const t0 = performance.now()
const cpu0 = process.cpuUsage()
for (const e of events) {
  const wait = t0 + (e.at - first) - performance.now()
  if (wait > 0) await new Promise((r) => setTimeout(r, wait))
  emit(e)
}
await ui.done
const wallMs = performance.now() - t0
const cpu = process.cpuUsage(cpu0)
const cpuMs = (cpu.user + cpu.system) / 1000

process.stdout.write(
  JSON.stringify({
    file,
    events: events.length,
    seconds: round(spanMs / 1000),
    eventsPerSecond: { mean: round(events.length / (spanMs / 1000), 2), peakInOneSecond: peak },
    replaySeconds: round(wallMs / 1000),
    uiCpuMs: round(cpuMs),
    uiCpuShareOfOneCore: round(cpuMs / wallMs, 4),
    terminalWrites: stdout.frames.length,
    writesPerSecond: round(stdout.frames.length / (wallMs / 1000), 2),
    terminalKiB: round(stdout.frames.join("").length / 1024),
    rssMiB: round(process.memoryUsage().rss / 2 ** 20)
  }) + "\n"
)
