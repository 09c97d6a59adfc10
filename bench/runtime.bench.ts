/**
 * The runtime's own overhead, without any tensor work: per-node cost of a first run and of a
 * fully cached rerun, `rstn plan` over the same graph, events per second through the bus into
 * events.jsonl, and the cost of a safe point. Prints one JSON object.
 */
import { Effect, Either, Fiber } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { ArtifactStore } from "../src/runtime/artifact-store.ts"
import { EventBus } from "../src/runtime/event-bus.ts"
import { appendEvents } from "../src/runtime/event-log.ts"
import { FileSystem } from "../src/runtime/file-system.ts"
import * as Graph from "../src/runtime/graph.ts"
import type { NodeSpec } from "../src/runtime/node.ts"
import { explainPlan } from "../src/runtime/plan.ts"
import { executeRunIn } from "../src/runtime/run.ts"

const NODES = 600
const EVENTS = 100_000
const SAFE_POINTS = 20_000

/** Layers of 30 nodes, each reading two nodes of the layer above and writing a small file. */
const specs: NodeSpec<unknown, never>[] = Array.from({ length: NODES }, (_, i) => {
  const layer = Math.floor(i / 30)
  const deps = layer === 0 ? [] : [(layer - 1) * 30 + (i % 30), (layer - 1) * 30 + ((i + 1) % 30)].map((j) => `n/${j}`)
  return {
    id: `n/${i}`,
    kind: "bench",
    group: "training",
    label: `node ${i}`,
    deps,
    config: { i },
    run: (ctx) => Effect.as(ctx.writeFile("out.txt", String(i)), { i })
  }
})
const graph = Either.getOrThrow(Graph.make(specs))
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rstn-bench-"))
const header = { pipeline: "bench", file: "bench", backend: "none", backendReason: "bench", thresholds: [], maxRounds: 0 }
const opts = { concurrency: 1, onNodeError: "skip" as const, header }

const time = async <A>(f: () => Promise<A>): Promise<number> => {
  const t = performance.now()
  await f()
  return performance.now() - t
}

const firstMs = await time(() => Effect.runPromise(executeRunIn(dir, graph, opts)))
const cachedMs = await time(() => Effect.runPromise(executeRunIn(dir, graph, opts)))
const planMs = await time(() =>
  Effect.runPromise(explainPlan(graph).pipe(Effect.provide(ArtifactStore.layer(dir)), Effect.provide(FileSystem.layer)))
)

const eventsFile = path.join(dir, "bench-events.jsonl")
const eventsMs = await time(() =>
  Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const bus = yield* EventBus
        const fiber = yield* appendEvents(eventsFile)
        for (let i = 1; i <= EVENTS; i++) {
          yield* bus.publish({
            _tag: "training-progress", at: i, key: "k", fold: 0, view: "Z", phase: "J", iteration: i, iterations: EVENTS,
            losses: { coarse: 0.5, fine: 0.4, joint: 0.43 }, learningRate: 1e-3
          })
        }
        yield* bus.publish({ _tag: "run-finished", at: 0, status: "done", summary: null, coarse: null, failedCases: [], resumeHint: null })
        yield* Fiber.join(fiber)
      })
    ).pipe(Effect.provide(EventBus.layer), Effect.provide(FileSystem.layer))
  )
)
const eventLines = fs.readFileSync(eventsFile, "utf8").split("\n").length - 1

// Safe points as a node sees them (yielding to the event loop each time).
const safeGraph = Either.getOrThrow(
  Graph.make([
    {
      id: "safe",
      kind: "safe",
      group: "training",
      label: "safe points",
      deps: [],
      config: { n: SAFE_POINTS },
      run: (ctx) =>
        Effect.gen(function* () {
          const t = performance.now()
          for (let i = 0; i < SAFE_POINTS; i++) yield* ctx.safePoint()
          return { ms: performance.now() - t }
        })
    }
  ])
)
const safeRun = await Effect.runPromise(executeRunIn(path.join(dir, "safe"), safeGraph, opts))
const safe = safeRun.outcomes.get("safe")
const safeMs = safe?._tag === "done" ? (safe.manifest.outputs.json.ms as number) : Number.NaN

fs.rmSync(dir, { recursive: true, force: true })
process.stdout.write(
  `${JSON.stringify({
    nodes: NODES,
    firstRunMsPerNode: +(firstMs / NODES).toFixed(3),
    cachedRerunMsPerNode: +(cachedMs / NODES).toFixed(3),
    planMsPerNode: +(planMs / NODES).toFixed(3),
    eventsPerSecond: Math.round((EVENTS / eventsMs) * 1000),
    eventLinesWritten: eventLines,
    safePointMicroseconds: +((safeMs / SAFE_POINTS) * 1000).toFixed(2),
    rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20)
  })}\n`
)
