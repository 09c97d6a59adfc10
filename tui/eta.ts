/**
 * Time left in a run, estimated from what it has measured so far: training nodes from their
 * iteration rate and iteration counts, other nodes from the mean duration of nodes of their group
 * that ran (cached nodes cost nothing), discounted by how often such nodes end up skipped (a
 * case that converges skips its remaining rounds). Work left is divided by the number of nodes
 * running at once. An estimate that could not price some pending node is a lower bound.
 */
import type { NodeGroup } from "../src/runtime/events.ts"
import type { NodeView, TrainingView, ViewState } from "./view-state.ts"

export interface Eta {
  readonly remainingMs: number
  /** True when some pending work has no estimate yet (nothing like it has run): a lower bound. */
  readonly lowerBound: boolean
}

const mean = (xs: ReadonlyArray<number>): number | null => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null)

/** Milliseconds per iteration measured over a node's own progress events. */
const ownRate = (t: TrainingView): number | null => {
  const iters = t.iteration - t.firstIteration
  return iters > 0 && t.lastAt > t.firstAt ? (t.lastAt - t.firstAt) / iters : null
}

/** The training phase of a node: from its progress, else from its label (`... phase J`). */
const phaseOf = (n: NodeView, t: TrainingView | undefined): string | null =>
  t?.phase ?? /\bphase\s+(\S+)/i.exec(n.label)?.[1] ?? null

export const estimateEta = (s: ViewState, now: number): Eta | null => {
  if (s.phase !== "running" || s.nodes.length === 0) return null

  // Pooled training rate, and per-phase iteration counts and measured durations.
  let pooledMs = 0
  let pooledIters = 0
  const phaseIterations = new Map<string, number>()
  for (const t of s.training.values()) {
    const r = ownRate(t)
    if (r !== null) {
      pooledMs += t.lastAt - t.firstAt
      pooledIters += t.iteration - t.firstIteration
    }
    phaseIterations.set(t.phase, t.iterations)
  }
  const msPerIteration = pooledIters > 0 ? pooledMs / pooledIters : null

  const ran = new Map<string, number[]>() // group or `training:<phase>` -> durations of nodes that ran
  const finished = new Map<NodeGroup, { ran: number; skipped: number }>()
  for (const n of s.nodes) {
    if (n.status !== "done" && n.status !== "skipped") continue
    const f = finished.get(n.group) ?? { ran: 0, skipped: 0 }
    if (n.status === "done") f.ran++
    else f.skipped++
    finished.set(n.group, f)
    if (n.status === "done" && n.durationMs !== null) {
      const keys = [n.group as string]
      const p = n.group === "training" ? phaseOf(n, s.training.get(n.key)) : null
      if (p !== null) keys.push(`training:${p}`)
      for (const k of keys) ran.set(k, [...(ran.get(k) ?? []), n.durationMs])
    }
  }

  const expectedDuration = (n: NodeView): number | null => {
    if (n.group === "training") {
      const p = phaseOf(n, s.training.get(n.key))
      const samePhase = p !== null ? mean(ran.get(`training:${p}`) ?? []) : null
      if (samePhase !== null) return samePhase
      const iters = s.training.get(n.key)?.iterations ?? (p !== null ? phaseIterations.get(p) : undefined)
      if (iters !== undefined && msPerIteration !== null) return iters * msPerIteration
      return mean(ran.get("training") ?? [])
    }
    return mean(ran.get(n.group) ?? [])
  }

  let work = 0
  let lowerBound = false
  let running = 0
  for (const n of s.nodes) {
    if (n.status === "running") {
      running++
      const t = s.training.get(n.key)
      const rate = t !== undefined ? (ownRate(t) ?? msPerIteration) : null
      if (t !== undefined && rate !== null) {
        work += Math.max(0, t.iterations - t.iteration) * rate
        continue
      }
      const d = expectedDuration(n)
      if (d === null) lowerBound = true
      else work += Math.max(0, d - (now - (n.startedAt ?? now)))
    } else if (n.status === "pending") {
      const d = expectedDuration(n)
      if (d === null) {
        lowerBound = true
        continue
      }
      const f = finished.get(n.group)
      const runs = f !== undefined && f.ran + f.skipped > 0 ? f.ran / (f.ran + f.skipped) : 1
      work += d * runs
    }
  }
  return { remainingMs: work / Math.max(1, running), lowerBound }
}
