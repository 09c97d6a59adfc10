/**
 * Values derived from the view state at render time (at most ~10 times a second): counts per
 * group, the running mean ± std, per-round means, convergence per threshold. Pure functions.
 */
import type { NodeGroup, NodeStatus } from "../src/runtime/events.ts"
import type { CaseView, NodeView, SummaryStats, TrainingView, ViewState } from "./view-state.ts"

export const GROUP_ORDER: ReadonlyArray<NodeGroup> = ["data", "training", "coarse", "rounds", "evaluation"]

/** Short titles fit five groups on one 80-column line; long ones head the printed summary. */
export const GROUP_TITLE: Readonly<Record<NodeGroup, string>> = {
  data: "data",
  training: "training",
  coarse: "coarse",
  rounds: "rounds",
  evaluation: "evaluation"
}
export const GROUP_LONG_TITLE: Readonly<Record<NodeGroup, string>> = {
  data: "data",
  training: "training",
  coarse: "coarse testing",
  rounds: "coarse-to-fine rounds",
  evaluation: "evaluation"
}

export type StatusCounts = Readonly<Record<NodeStatus, number>>

export interface GroupSummary {
  readonly group: NodeGroup
  readonly total: number
  readonly counts: StatusCounts
}

const zeroCounts = (): Record<NodeStatus, number> => ({ pending: 0, running: 0, cached: 0, done: 0, failed: 0, skipped: 0 })

/** Groups that have nodes, in pipeline order, with how many nodes are in each status. */
export const groupSummaries = (s: ViewState): ReadonlyArray<GroupSummary> => {
  const by = new Map<NodeGroup, Record<NodeStatus, number>>()
  for (const n of s.nodes) {
    const c = by.get(n.group) ?? zeroCounts()
    c[n.status]++
    by.set(n.group, c)
  }
  return GROUP_ORDER.filter((g) => by.has(g)).map((g) => {
    const counts = by.get(g)!
    return { group: g, counts, total: Object.values(counts).reduce((a, b) => a + b, 0) }
  })
}

export const runningNodes = (s: ViewState): ReadonlyArray<NodeView> => s.nodes.filter((n) => n.status === "running")

export interface TrainingRow {
  readonly key: string
  readonly label: string
  readonly status: NodeView["status"]
  readonly progress: TrainingView | undefined
}

/** One row per training node, in planned order; progress for nodes not in the plan goes last. */
export const trainingRows = (s: ViewState): ReadonlyArray<TrainingRow> => {
  const rows: TrainingRow[] = s.nodes
    .filter((n) => n.group === "training")
    .map((n) => ({ key: n.key, label: n.label, status: n.status, progress: s.training.get(n.key) }))
  for (const [key, t] of s.training) {
    if (!s.nodeIndex.has(key)) rows.push({ key, label: key, status: "running", progress: t })
  }
  return rows
}

/** Population statistics (ddof 0), like the reference release's numpy summaries. */
export const stats = (xs: ReadonlyArray<number>): SummaryStats | null => {
  if (xs.length === 0) return null
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length
  const variance = xs.reduce((a, x) => a + (x - mean) ** 2, 0) / xs.length
  return { mean, std: Math.sqrt(variance), max: Math.max(...xs), min: Math.min(...xs), count: xs.length }
}

const finite = (x: number | null): x is number => x !== null && Number.isFinite(x)

export interface DscSummary {
  /** Final-round DSC over finished cases; the run's own summary once it has finished. */
  readonly final: SummaryStats | null
  /** Coarse-only (round 0) DSC over the same cases. */
  readonly coarse: SummaryStats | null
  /** True when these are the run's figures from `run-finished`, not the UI's running ones. */
  readonly fromRun: boolean
}

export const dscSummary = (s: ViewState): DscSummary => {
  if (s.finish !== null && s.finish.summary !== null) {
    return { final: s.finish.summary, coarse: s.finish.coarse, fromRun: true }
  }
  const done = s.cases.filter((c) => c.status === "done")
  return {
    final: stats(done.map((c) => c.finalDsc).filter(finite)),
    coarse: stats(done.map((c) => c.coarseDsc).filter(finite)),
    fromRun: false
  }
}

/** The highest round number any case reported. */
export const lastRound = (s: ViewState): number =>
  s.cases.reduce((m, c) => Math.max(m, c.rounds.length - 1), -1)

export interface RoundMean {
  readonly round: number
  readonly dsc: number | null
  readonly interDsc: number | null
  readonly cases: number
}

/**
 * Mean DSC and inter-iteration DSC of each round, as the report computes them (evaluation.ts): a
 * finished case that stopped before round r counts with its last round, since its answer no
 * longer changes. Cases still being tested count only the rounds they have run.
 */
export const roundMeans = (s: ViewState): ReadonlyArray<RoundMean> => {
  const out: RoundMean[] = []
  for (let r = 0; r <= lastRound(s); r++) {
    const rows = s.cases.map((c) => c.rounds[r] ?? (c.status === "done" ? c.rounds.at(-1) : undefined)).filter((x) => x !== undefined)
    const d = stats(rows.map((x) => x.dsc).filter(finite))
    const i = stats(rows.map((x) => x.interDsc).filter(finite))
    out.push({ round: r, dsc: d?.mean ?? null, interDsc: i?.mean ?? null, cases: rows.length })
  }
  return out
}

export interface Convergence {
  readonly t: number
  /** Finished cases that met t, of `of` finished cases. */
  readonly reached: number
  readonly of: number
  /** Mean round at which t was first met, over the cases that met it. */
  readonly meanRound: number | null
}

/** Paper: "at t = 0.99, 80 of 82 cases converge in 5.22 rounds on average". */
export const convergence = (s: ViewState): ReadonlyArray<Convergence> => {
  const done = s.cases.filter((c) => c.status === "done")
  return (s.run?.thresholds ?? []).map((t) => {
    const rounds = done
      .map((c) => c.reachedAt.find((r) => r.t === t)?.round ?? null)
      .filter((r): r is number => r !== null)
    return { t, reached: rounds.length, of: done.length, meanRound: rounds.length ? rounds.reduce((a, b) => a + b, 0) / rounds.length : null }
  })
}

export const elapsedMs = (s: ViewState, now: number): number | null => {
  if (s.run === null) return null
  const end = s.finish?.at ?? s.stopped?.at ?? now
  return Math.max(0, end - s.run.startedAt)
}

export const caseCounts = (s: ViewState): Readonly<Record<CaseView["status"], number>> => {
  const c = { running: 0, done: 0, failed: 0, stopped: 0 }
  for (const x of s.cases) c[x.status]++
  return c
}
