/**
 * `rstn plan FILE [--set KEY=VALUE...] [--run-dir DIR]`: what `rstn run` would do in the run
 * directory, node by node — cached, not yet run, or will re-run because a configuration key
 * changed (old → new) or an input changed. Runs nothing and writes nothing.
 *
 * The pipeline compiler is injected (`makePlanCommand(load)`), so this command depends only on
 * "a file and overrides give a graph and its default run directory".
 */
import { Console, Effect, Option } from "effect"
import { ArtifactStore } from "../../runtime/artifact-store.ts"
import { FileSystem } from "../../runtime/file-system.ts"
import type { Graph } from "../../runtime/graph.ts"
import { explainPlan, formatPlan, type LivePlacement, type PlanEntry, withLivePlacements } from "../../runtime/plan.ts"
import { runStatus } from "../../runtime/run-status.ts"
import { sharedStoreDir } from "../../runtime/shared-store.ts"
import { displayDir } from "../../runtime/run.ts"
import { booleanFlag, listFlag, stringFlag } from "../args.ts"
import type { Run } from "../command.ts"

export interface PlannedPipeline {
  // The plan reads only ids, keys, configs and labels: node code never runs here.
  readonly graph: Graph<any, any>
  /** The pipeline's `run.dir`. */
  readonly runDir: string
  /** Where the pipeline's nodes would run, in words (`run.executor`). */
  readonly executor?: string
  /** The pipeline's `run.store`: the shared store the run would adopt finished nodes from. */
  readonly store?: string | undefined
}

/** The nodes a run going on in `runDir` is running now, by key, with where they run. */
const liveNodes = (runDir: string) =>
  Effect.gen(function* () {
    const report = yield* Effect.option(runStatus(runDir))
    if (Option.isNone(report) || report.value.state !== "running") return new Map<string, LivePlacement>()
    return new Map(
      report.value.nodes.flatMap((n) =>
        n.state === "running" && n.worker !== undefined
          ? [[n.key, { worker: n.worker, ...(n.pid !== undefined ? { pid: n.pid } : {}), ...(n.jobId !== undefined ? { jobId: n.jobId } : {}) }] as const]
          : []
      )
    )
  })

/** Loads and compiles a pipeline file with `--set` overrides. */
export type LoadGraph<E> = (file: string, overrides: ReadonlyArray<string>) => Effect.Effect<PlannedPipeline, E>

/** The plan as plain JSON (a missing last failure as null). */
export const planJson = (runDir: string, entries: ReadonlyArray<PlanEntry>, executor?: string): string =>
  JSON.stringify(
    {
      runDir,
      ...(executor !== undefined ? { executor } : {}),
      nodes: entries.map((e) => (e.status === "new" ? { ...e, lastFailure: Option.getOrNull(e.lastFailure) } : e))
    },
    null,
    2
  )

export const makePlanCommand =
  <E>(load: LoadGraph<E>): Run =>
  (args) =>
    Effect.gen(function* () {
      const planned = yield* load(args.positionals[0]!, listFlag(args, "set"))
      const runDir = stringFlag(args, "run-dir") ?? planned.runDir
      const entries = withLivePlacements(yield* explainPlan(planned.graph).pipe(Effect.provide(ArtifactStore.layer(runDir, { shared: sharedStoreDir(planned.store, runDir) }))), yield* liveNodes(runDir))
      yield* Console.log(booleanFlag(args, "json") ? planJson(runDir, entries, planned.executor) : formatPlan(entries, displayDir(runDir), planned.executor))
      return 0
    }).pipe(Effect.provide(FileSystem.layer))
