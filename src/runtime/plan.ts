/**
 * `rstn plan`: what a run would do, node by node, and why — cached, not yet run, or will re-run
 * because a configuration key changed (old → new, read from the previous manifest) or because
 * an input changed. Reads the run directory only; runs nothing.
 */
import { Effect, Either, Option } from "effect"
import { ArtifactStore } from "./artifact-store.ts"
import { type ConfigChange, diffConfig, formatChange } from "./config-diff.ts"
import type { NodeGroup } from "./events.ts"
import type { Graph, GraphNode } from "./graph.ts"

export type PlanReason =
  | { readonly _tag: "config"; readonly changes: ReadonlyArray<ConfigChange> }
  /** The input's key changed (its own configuration or something upstream of it). */
  | { readonly _tag: "input"; readonly id: string }
  | { readonly _tag: "inputs"; readonly added: ReadonlyArray<string>; readonly removed: ReadonlyArray<string> }
  | { readonly _tag: "kind"; readonly before: string; readonly after: string }
  /** The numeric code changed (ENGINE_VERSION): results of the old engine would differ. */
  | { readonly _tag: "engine"; readonly before: number | null; readonly after: number | null }
  | { readonly _tag: "missing-output"; readonly name: string }
  | { readonly _tag: "damaged-manifest"; readonly reason: string }
  /** Same configuration and inputs, yet another key: the inputs' order or the key scheme changed. */
  | { readonly _tag: "key" }

interface EntryBase {
  readonly id: string
  readonly key: string
  readonly label: string
  readonly group: NodeGroup
}

/** Where a node of a live run is running right now (from its events). */
export interface LivePlacement {
  readonly worker: string
  readonly pid?: number
  readonly jobId?: string
}

export type PlanEntry = EntryBase & { readonly runningOn?: LivePlacement } &
  (
    | { readonly status: "cached" }
    /**
     * Not finished here, but taken finished from the shared store when the run reaches it, or
     * (planning a sweep) computed by an earlier run of the sweep: `from` names that run.
     */
    | { readonly status: "shared"; readonly from: string }
    | {
        readonly status: "new"
        /** A checkpoint saved under this key exists: the node continues from it. */
        readonly resumable: boolean
        /** The last attempt under this key failed with this message. */
        readonly lastFailure: Option.Option<string>
      }
    | { readonly status: "rerun"; readonly reasons: ReadonlyArray<PlanReason>; readonly resumable: boolean }
  )

const explainNode = (node: GraphNode<unknown, unknown>) =>
  Effect.gen(function* () {
    const store = yield* ArtifactStore
    const base: EntryBase = { id: node.id, key: node.key, label: node.label, group: node.group }
    const resumable = yield* store.hasCheckpoint(node.id, node.key)
    const read = yield* Effect.either(store.readManifest(node.id))
    const here = Either.isRight(read) && Option.isSome(read.right) && read.right.value.key === node.key
    const holder = here || store.shared === undefined ? Option.none<string>() : yield* store.shared.holder(node.key)
    if (Option.isSome(holder)) return { ...base, status: "shared", from: holder.value } as const
    if (Either.isLeft(read)) {
      const reason = read.left._tag === "CorruptManifestError" ? read.left.reason : read.left.message
      return { ...base, status: "rerun", reasons: [{ _tag: "damaged-manifest", reason }], resumable } as const
    }
    if (Option.isNone(read.right)) {
      const failure = yield* store.readFailure(node.id, node.key)
      return { ...base, status: "new", resumable, lastFailure: Option.map(failure, (f) => f.message) } as const
    }
    const old = read.right.value
    if (old.key === node.key) {
      const missing = yield* store.missingOutput(node.id, old)
      return Option.isSome(missing)
        ? ({ ...base, status: "rerun", reasons: [{ _tag: "missing-output", name: missing.value }], resumable } as const)
        : ({ ...base, status: "cached" } as const)
    }
    const reasons: PlanReason[] = []
    if (old.kind !== node.kind) reasons.push({ _tag: "kind", before: old.kind, after: node.kind })
    if ((old.engine ?? null) !== (node.engine ?? null)) reasons.push({ _tag: "engine", before: old.engine ?? null, after: node.engine ?? null })
    const changes = diffConfig(old.config, node.configJson)
    if (changes.length > 0) reasons.push({ _tag: "config", changes })
    const oldDeps = new Map(old.deps.map((d) => [d.id, d.key]))
    const added = node.deps.filter((d) => !oldDeps.has(d))
    const removed = old.deps.map((d) => d.id).filter((d) => !node.deps.includes(d))
    if (added.length > 0 || removed.length > 0) reasons.push({ _tag: "inputs", added, removed })
    node.deps.forEach((d, i) => {
      const before = oldDeps.get(d)
      if (before !== undefined && before !== node.depKeys[i]) reasons.push({ _tag: "input", id: d })
    })
    if (reasons.length === 0) reasons.push({ _tag: "key" })
    return { ...base, status: "rerun", reasons, resumable } as const
  })

/** One entry per node, in the graph's (topological) order. */
export const explainPlan = <E, R>(graph: Graph<E, R>): Effect.Effect<ReadonlyArray<PlanEntry>, never, ArtifactStore> =>
  Effect.forEach(graph.nodes, (n) => explainNode(n as GraphNode<unknown, unknown>))

export const formatReason = (r: PlanReason): string => {
  switch (r._tag) {
    case "config":
      return r.changes.map(formatChange).join(", ")
    case "input":
      return `input ${r.id} changed`
    case "inputs":
      return [
        r.added.length > 0 ? `now reads ${r.added.join(", ")}` : "",
        r.removed.length > 0 ? `no longer reads ${r.removed.join(", ")}` : ""
      ]
        .filter(Boolean)
        .join(" and ")
    case "kind":
      return `its kind changed: ${r.before} → ${r.after}`
    case "engine":
      return `the engine changed (version ${r.before ?? "none"} → ${r.after ?? "none"}): rstn's numerics differ from those that made its results`
    case "missing-output":
      return `its output ${r.name} is missing`
    case "damaged-manifest":
      return `its manifest is damaged (${r.reason})`
    case "key":
      return "its inputs' order changed"
  }
}

const STATUS_WIDTH = "will re-run".length + 2

const runningText = (e: PlanEntry): string =>
  e.runningOn === undefined
    ? ""
    : ` [running now on ${e.runningOn.worker}${e.runningOn.jobId !== undefined ? `, job ${e.runningOn.jobId}` : e.runningOn.pid !== undefined ? `, pid ${e.runningOn.pid}` : ""}]`

/** One line per node: `cached       <label>`, `will re-run  <label> because <reasons>`. */
export const formatEntry = (e: PlanEntry): string => `${formatEntryBody(e)}${runningText(e)}`

const formatEntryBody = (e: PlanEntry): string => {
  switch (e.status) {
    case "cached":
      return `${"cached".padEnd(STATUS_WIDTH)}${e.label}`
    case "shared":
      return `${"shared".padEnd(STATUS_WIDTH)}${e.label} (computed by ${e.from})`
    case "new": {
      const notes = [
        e.resumable ? "resumes from its checkpoint" : "",
        Option.isSome(e.lastFailure) ? `failed last time: ${e.lastFailure.value}` : ""
      ].filter(Boolean)
      return `${"not yet run".padEnd(STATUS_WIDTH)}${e.label}${notes.length > 0 ? ` (${notes.join("; ")})` : ""}`
    }
    case "rerun":
      return `${"will re-run".padEnd(STATUS_WIDTH)}${e.label} because ${e.reasons.map(formatReason).join("; ")}${e.resumable ? " (resumes from its checkpoint)" : ""}`
  }
}

export const summarizePlan = (entries: ReadonlyArray<PlanEntry>): string => {
  const count = (s: PlanEntry["status"]) => entries.filter((e) => e.status === s).length
  const toRun = count("new") + count("rerun")
  const shared = count("shared")
  return `${entries.length} nodes: ${count("cached")} cached, ${shared > 0 ? `${shared} shared, ` : ""}${count("new")} not yet run, ${count("rerun")} will re-run${toRun === 0 ? " (nothing to do)" : ""}`
}

export const formatPlan = (entries: ReadonlyArray<PlanEntry>, runDir: string, executor?: string): string =>
  [`plan for ${runDir}: ${summarizePlan(entries)}`, ...(executor !== undefined ? [`executor ${executor}`] : []), ...entries.map(formatEntry)].join("\n")

/** Marks the entries a live run is running now, where their keys are the ones it runs. */
export const withLivePlacements = (
  entries: ReadonlyArray<PlanEntry>,
  running: ReadonlyMap<string, LivePlacement>
): ReadonlyArray<PlanEntry> => entries.map((e) => (running.has(e.key) ? { ...e, runningOn: running.get(e.key)! } : e))
