/**
 * `rstn plan` on a sweep: each run's plan (plan.ts) as the sweep would meet it, run after run.
 * A node is *shared* when a run will take it finished instead of computing it: the store already
 * holds it, the file's own run finished it (the sweep files those in the store first,
 * run-sweep.ts), or an earlier run of the sweep computes it. What is left is what the sweep
 * computes, each node once. Reads only; runs and writes nothing.
 */
import { Effect, Either, Option } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import type { ResolvedSweep } from "../dsl/load-sweep.ts"
import { ArtifactStore } from "./artifact-store.ts"
import { compilePipeline } from "./compile.ts"
import type { NodeGroup } from "./events.ts"
import { FileSystem } from "./file-system.ts"
import { prepareDataset } from "./pipeline-dataset.ts"
import { explainPlan, type PlanEntry } from "./plan.ts"
import { displayDir } from "./run.ts"
import { finishedNodes } from "./run-sweep.ts"
import { sharedStoreDir } from "./shared-store.ts"

export interface SweepPlanRun {
  readonly name: string
  readonly runDir: string
  /** The values the run sets, as `path=value`. */
  readonly describe: ReadonlyArray<string>
  readonly store: string | undefined
  readonly entries: ReadonlyArray<PlanEntry>
}

export interface SweepPlan {
  readonly file: string
  /** The file's own run directory, whose finished nodes the sweep shares. */
  readonly baseRunDir: string
  readonly runs: ReadonlyArray<SweepPlanRun>
}

export const planSweep = (sweep: ResolvedSweep) =>
  Effect.gen(function* () {
    const baseRunDir = path.resolve(sweep.base.pipeline.run.dir)
    const fromBase = new Map(
      finishedNodes(baseRunDir).flatMap(({ manifest }) => ((manifest.missingInputs ?? []).length === 0 ? [[manifest.key, baseRunDir] as const] : []))
    )
    /** Keys an earlier run of the sweep computes, and which run. */
    const computedBy = new Map<string, string>()
    const runs: SweepPlanRun[] = []
    for (const r of sweep.runs) {
      const p = r.pipeline
      const runDir = path.resolve(p.run.dir)
      const store = sharedStoreDir(p.run.store, runDir)
      // Lists the cases without generating or reading any data.
      const dataset = yield* prepareDataset(p, { generate: false })
      const graph = yield* Either.match(compilePipeline(p, dataset), { onLeft: Effect.fail, onRight: Effect.succeed })
      const own = yield* explainPlan(graph).pipe(Effect.provide(ArtifactStore.layer(runDir, { shared: store })))
      const entries = own.map((e): PlanEntry => {
        if (e.status !== "new" && e.status !== "rerun") return e
        const from = store === undefined ? undefined : (fromBase.get(e.key) ?? computedBy.get(e.key))
        if (from !== undefined) return { id: e.id, key: e.key, label: e.label, group: e.group, status: "shared", from }
        computedBy.set(e.key, runDir)
        return e
      })
      runs.push({ name: p.name, runDir, describe: r.describe, store, entries })
    }
    return { file: sweep.file, baseRunDir, runs } satisfies SweepPlan
  }).pipe(Effect.provide(FileSystem.layer))

const GROUPS: ReadonlyArray<NodeGroup> = ["data", "training", "coarse", "rounds", "evaluation"]
const STATUS_TEXT = { cached: "cached", shared: "shared", new: "not yet run", rerun: "will re-run" } as const

const countBy = <A>(xs: ReadonlyArray<A>, f: (a: A) => string): Map<string, number> => {
  const m = new Map<string, number>()
  for (const x of xs) m.set(f(x), (m.get(f(x)) ?? 0) + 1)
  return m
}

/** One group of a run's nodes: `training    3 shared (computed by runs/tiny), 1 not yet run`. */
const groupLine = (group: NodeGroup, entries: ReadonlyArray<PlanEntry>): string => {
  const parts = (["cached", "shared", "new", "rerun"] as const).flatMap((status) => {
    const these = entries.filter((e) => e.status === status)
    if (these.length === 0) return []
    if (status !== "shared") return [`${these.length} ${STATUS_TEXT[status]}`]
    const from = [...countBy(these, (e) => (e.status === "shared" ? displayDir(e.from) : ""))].map(([dir, n]) => (n === these.length ? dir : `${n} by ${dir}`))
    return [`${these.length} shared (computed by ${from.join(", ")})`]
  })
  return `  ${group.padEnd(12)}${parts.join(", ")}`
}

export const formatSweepPlan = (plan: SweepPlan): string => {
  const all = plan.runs.flatMap((r) => r.entries)
  const toCompute = all.filter((e) => e.status === "new" || e.status === "rerun")
  const shared = all.filter((e) => e.status === "shared")
  const training = all.filter((e) => e.group === "training")
  const trainingToCompute = toCompute.filter((e) => e.group === "training").length
  const stores = [...new Set(plan.runs.flatMap((r) => (r.store === undefined ? [] : [displayDir(r.store)])))]
  const lines = [
    `plan for the sweep ${plan.file}: ${plan.runs.length} runs; shared store ${stores.length === 0 ? "none (run.store: none)" : stores.join(", ")}`,
    `  the file's own run, ${displayDir(plan.baseRunDir)}: ${finishedNodesText(plan)}`
  ]
  plan.runs.forEach((r, i) => {
    const cached = r.entries.filter((e) => e.status === "cached").length
    const own = r.entries.filter((e) => e.status === "new" || e.status === "rerun").length
    const sh = r.entries.filter((e) => e.status === "shared").length
    lines.push(`run ${i + 1}/${plan.runs.length} ${r.name} in ${displayDir(r.runDir)} (${r.describe.map(short).join(", ")}): ${r.entries.length} nodes, ${cached} cached, ${sh} shared, ${own} to compute`)
    for (const g of GROUPS) {
      const these = r.entries.filter((e) => e.group === g)
      if (these.length > 0) lines.push(groupLine(g, these))
    }
  })
  lines.push(
    `the sweep: ${all.length} nodes in ${plan.runs.length} runs; ${toCompute.length} to compute, ${shared.length} shared, ${all.length - toCompute.length - shared.length} cached; ` +
      `training: ${trainingToCompute} of ${training.length} nodes to train${trainingToCompute === 0 && training.length > 0 ? " (every trained network is reused)" : ""}`
  )
  return lines.join("\n")
}

/** A run's value as the plan's header shows it: long values (a list of layers) cut short; --json has them whole. */
const short = (assignment: string): string => (assignment.length <= 60 ? assignment : `${assignment.slice(0, 57)}...`)

const finishedNodesText = (plan: SweepPlan): string => {
  if (!fs.existsSync(plan.baseRunDir)) return "not run, nothing to share"
  const used = new Set(plan.runs.flatMap((r) => r.entries.flatMap((e) => (e.status === "shared" && e.from === plan.baseRunDir ? [e.key] : []))))
  return used.size === 0 ? "nothing of it is shared" : `${used.size} of its finished nodes are shared`
}

/** The plan as JSON: every run's entries. */
export const sweepPlanJson = (plan: SweepPlan): string =>
  JSON.stringify(
    {
      file: plan.file,
      baseRunDir: plan.baseRunDir,
      runs: plan.runs.map((r) => ({ ...r, entries: r.entries.map((e) => (e.status === "new" ? { ...e, lastFailure: Option.getOrNull(e.lastFailure) } : e)) }))
    },
    null,
    2
  )
