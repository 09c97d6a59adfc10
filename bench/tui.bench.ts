/**
 * Terminal UI overhead. 1) the reducer alone over ~100k events of a realistic run (training
 * progress every iteration); 2) the same events pushed as fast as possible through the mounted UI
 * (reducer per event, React renders throttled to 100 ms, Ink drawing into a fake 100x30
 * terminal); 3) a run emitting 5,000 events/s for 3 s, to see what share of a core the UI takes.
 * Prints one JSON object.
 */
import { recordedRun } from "../test/tui/recorded-run.ts"

// Ink draws only a final frame when it believes it runs in CI; measure real drawing.
delete process.env.CI
delete process.env.CONTINUOUS_INTEGRATION
const { mountPushedRunUi } = await import("../test/tui/terminal.ts")
const { reduceAll } = await import("../tui/index.ts")


// 2 folds x 3 views x (20+60+80) x 104 iterations of progress, plus the test phase: ~100k events.
const events = recordedRun({ iterationScale: 104, progressEvery: 1, msPerIteration: 1 })
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d

// 1) reducer alone
reduceAll(events.slice(0, 5000)) // warm-up
const r0 = performance.now()
const final = reduceAll(events)
const reducerMs = performance.now() - r0
if (final.finish === null) throw new Error("the run did not finish in the reducer")

const macrotask = () => new Promise<void>((resolve) => setImmediate(resolve))

// 2) flood: chunks of 1,000 events per turn of the event loop, so timers and renders can run
const flood = await mountPushedRunUi()
await macrotask()
const f0 = performance.now()
const cpu0 = process.cpuUsage()
for (let i = 0; i < events.length; i += 1000) {
  for (const e of events.slice(i, i + 1000)) flood.emit(e)
  await macrotask()
}
const floodDispatchMs = performance.now() - f0
await flood.ui.done
const floodMs = performance.now() - f0
const floodCpu = process.cpuUsage(cpu0)

// 3) paced: 5,000 events/s for 3 s, measured as CPU time per wall time
const paced = await mountPushedRunUi()
await macrotask()
const rate = 5000
const seconds = 3
const pacedEvents = events.slice(0, rate * seconds)
const p0 = performance.now()
const pcpu0 = process.cpuUsage()
let sent = 0
while (sent < pacedEvents.length) {
  const due = Math.min(pacedEvents.length, Math.floor(((performance.now() - p0) / 1000) * rate))
  for (; sent < due; sent++) paced.emit(pacedEvents[sent]!)
  await new Promise((r) => setTimeout(r, 5))
}
const pacedWall = performance.now() - p0
const pacedCpu = process.cpuUsage(pcpu0)
paced.ui.unmount()
await paced.ui.done

process.stdout.write(
  JSON.stringify({
    events: events.length,
    reducer: { ms: round(reducerMs), eventsPerSecond: Math.round(events.length / (reducerMs / 1000)), usPerEvent: round((reducerMs * 1000) / events.length, 2) },
    flood: {
      dispatchMs: round(floodDispatchMs),
      totalMs: round(floodMs),
      eventsPerSecond: Math.round(events.length / (floodDispatchMs / 1000)),
      cpuMs: round((floodCpu.user + floodCpu.system) / 1000),
      terminalWrites: flood.stdout.frames.length,
      terminalKiB: round(flood.stdout.frames.join("").length / 1024)
    },
    paced: {
      eventsPerSecond: rate,
      seconds: round(pacedWall / 1000, 2),
      uiCpuShareOfOneCore: round((pacedCpu.user + pacedCpu.system) / 1000 / pacedWall, 3),
      terminalWrites: paced.stdout.frames.length,
      writesPerSecond: round(paced.stdout.frames.length / (pacedWall / 1000))
    }
  }) + "\n"
)
