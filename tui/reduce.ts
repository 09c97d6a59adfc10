/**
 * The UI's reducer: `(state, event) => state`, pure and cheap, run once per event. Only the
 * touched parts are copied, so a run emitting thousands of training-progress events per second
 * costs a few microseconds each; totals and statistics are derived at render time (`select.ts`).
 */
import type { UiEvent } from "./ui-event.ts"
import {
  type CaseView,
  HISTORY_BUCKETS,
  initialViewState,
  type LossHistory,
  MESSAGES_KEPT,
  type MessageView,
  type NodeView,
  type TrainingView,
  type ViewState
} from "./view-state.ts"

type Of<T extends UiEvent["_tag"]> = Extract<UiEvent, { _tag: T }>

const emptyHistory = (): LossHistory => {
  const zeros = new Array<number>(HISTORY_BUCKETS).fill(0)
  return { coarse: zeros, fine: zeros, joint: zeros, count: zeros }
}

const bucketOf = (iteration: number, iterations: number): number =>
  iterations <= 0 ? HISTORY_BUCKETS - 1 : Math.max(0, Math.min(HISTORY_BUCKETS - 1, Math.floor((iteration / iterations) * HISTORY_BUCKETS)))

const addToBucket = (values: ReadonlyArray<number>, b: number, x: number): ReadonlyArray<number> => {
  const next = values.slice()
  next[b] = next[b]! + x
  return next
}

const withHistory = (h: LossHistory, e: Of<"training-progress">): LossHistory => {
  const b = bucketOf(e.iteration, e.iterations)
  // Non-finite losses (a diverging run) are shown as the latest value but kept out of the curve.
  // A network the phase does not train (null) draws a flat curve.
  if (![e.losses.coarse ?? 0, e.losses.fine ?? 0, e.losses.joint].every(Number.isFinite)) return h
  return {
    coarse: addToBucket(h.coarse, b, e.losses.coarse ?? 0),
    fine: addToBucket(h.fine, b, e.losses.fine ?? 0),
    joint: addToBucket(h.joint, b, e.losses.joint),
    count: addToBucket(h.count, b, 1)
  }
}

const setNode = (s: ViewState, key: string, patch: (n: NodeView) => NodeView): ViewState => {
  const i = s.nodeIndex.get(key)
  if (i === undefined) return s
  const nodes = s.nodes.slice()
  nodes[i] = patch(nodes[i]!)
  return { ...s, nodes }
}

/** Natural order, so `case_2` sorts before `case_10`. */
const compareIds = (a: string, b: string): number => a.localeCompare(b, "en", { numeric: true })

const upsertCase = (s: ViewState, caseId: string, fold: number, patch: (c: CaseView) => CaseView): ViewState => {
  const i = s.cases.findIndex((c) => c.caseId === caseId)
  const cases = s.cases.slice()
  if (i >= 0) {
    cases[i] = patch(cases[i]!)
    return { ...s, cases }
  }
  const fresh: CaseView = { caseId, fold, status: "running", rounds: [], coarseDsc: null, finalDsc: null, reachedAt: [] }
  let at = cases.findIndex((c) => compareIds(caseId, c.caseId) < 0)
  if (at < 0) at = cases.length
  cases.splice(at, 0, patch(fresh))
  return { ...s, cases }
}

const pushMessage = (s: ViewState, m: MessageView): ViewState => {
  const messages = s.messages.length >= MESSAGES_KEPT ? s.messages.slice(1 - MESSAGES_KEPT) : s.messages.slice()
  messages.push(m)
  return {
    ...s,
    messages,
    warningCount: s.warningCount + (m.level === "warning" ? 1 : 0),
    errorCount: s.errorCount + (m.level === "error" ? 1 : 0)
  }
}

const concern = (e: Of<"warning"> | Of<"error">) => ({
  ...(e.caseId !== undefined ? { caseId: e.caseId } : {}),
  ...(e.file !== undefined ? { file: e.file } : {}),
  ...(e.key !== undefined ? { key: e.key } : {})
})

/**
 * The run has ended (or its stream has): nothing runs any more. Nodes it was running never
 * finished and will run again on resume (pending); cases it was testing stopped part-way.
 */
const nothingRunning = (s: ViewState): ViewState => {
  const nodes = s.nodes.some((n) => n.status === "running")
    ? s.nodes.map((n): NodeView => (n.status === "running" ? { ...n, status: "pending" } : n))
    : s.nodes
  const cases = s.cases.some((c) => c.status === "running")
    ? s.cases.map((c): CaseView => (c.status === "running" ? { ...c, status: "stopped" } : c))
    : s.cases
  return nodes === s.nodes && cases === s.cases ? s : { ...s, nodes, cases }
}

const step = (s: ViewState, e: UiEvent): ViewState => {
  switch (e._tag) {
    case "run-started": {
      // A resumed run appends a new attempt to the same log: show that attempt from scratch,
      // keeping only the message history (earlier warnings still concern the run directory).
      const nodes = e.nodes.map(
        (n): NodeView => ({ key: n.key, group: n.group, label: n.label, status: n.status, startedAt: null, durationMs: null })
      )
      return {
        ...initialViewState,
        messages: s.messages,
        warningCount: s.warningCount,
        errorCount: s.errorCount,
        phase: "running",
        attempt: s.attempt + 1,
        run: {
          pipeline: e.pipeline,
          file: e.file,
          runDir: e.runDir,
          backend: e.backend,
          backendReason: e.backendReason,
          pid: e.pid,
          startedAt: e.at,
          thresholds: [...e.thresholds].sort((a, b) => a - b),
          maxRounds: e.maxRounds
        },
        nodes,
        nodeIndex: new Map(nodes.map((n, i) => [n.key, i]))
      }
    }
    case "node-started":
      return setNode(s, e.key, (n) => ({ ...n, status: "running", startedAt: e.at, ...(e.worker !== undefined ? { worker: e.worker } : {}) }))
    case "node-finished":
      return setNode(s, e.key, (n) => ({ ...n, status: e.status, durationMs: e.durationMs }))
    case "training-progress": {
      const prev = s.training.get(e.key)
      const next: TrainingView = {
        key: e.key,
        fold: e.fold,
        view: e.view,
        phase: e.phase,
        iteration: e.iteration,
        iterations: e.iterations,
        losses: e.losses,
        learningRate: e.learningRate,
        history: withHistory(prev?.history ?? emptyHistory(), e),
        firstAt: prev?.firstAt ?? e.at,
        firstIteration: prev?.firstIteration ?? e.iteration,
        lastAt: e.at
      }
      const training = new Map(s.training)
      training.set(e.key, next)
      return { ...s, training }
    }
    case "round-finished":
      return upsertCase(s, e.caseId, e.fold, (c) => {
        const rounds = c.rounds.slice()
        rounds[e.round] = { round: e.round, dsc: e.dsc, interDsc: e.interDsc, reached: e.reached, durationMs: e.durationMs }
        return { ...c, rounds, coarseDsc: e.round === 0 ? e.dsc : c.coarseDsc }
      })
    case "case-finished":
      return upsertCase(s, e.caseId, e.fold, (c) => ({
        ...c,
        status: c.status === "failed" ? "failed" : "done",
        coarseDsc: e.coarseDsc,
        finalDsc: e.finalDsc,
        reachedAt: e.reachedAt
      }))
    case "warning":
      return pushMessage(s, { level: "warning", at: e.at, message: e.message, ...concern(e) })
    case "error": {
      const withMsg = pushMessage(s, { level: "error", at: e.at, message: e.message, ...concern(e) })
      const caseId = e.caseId
      if (caseId === undefined) return withMsg
      const known = withMsg.cases.find((c) => c.caseId === caseId)
      return upsertCase(withMsg, caseId, known?.fold ?? -1, (c) => ({ ...c, status: "failed" }))
    }
    case "log":
      return pushMessage(s, { level: "log", at: e.at, message: e.message })
    case "run-finished": {
      let next: ViewState = {
        ...nothingRunning(s),
        phase: e.status,
        finish: {
          at: e.at,
          status: e.status,
          summary: e.summary,
          coarse: e.coarse,
          failedCases: e.failedCases,
          resumeHint: e.resumeHint
        }
      }
      for (const id of e.failedCases) {
        const known = next.cases.find((c) => c.caseId === id)
        next = upsertCase(next, id, known?.fold ?? -1, (c) => ({ ...c, status: "failed" }))
      }
      return next
    }
    case "source-stopped": {
      // Only a stream that ends mid-run is news (once); after run-finished the end is expected.
      if (s.finish !== null || s.stopped !== null) return s
      const stopped = { at: e.at, reason: e.reason, ...(e.hint !== undefined ? { hint: e.hint } : {}) }
      const withMsg = pushMessage(s, {
        level: "error",
        at: e.at,
        message: e.reason,
        ...(e.hint !== undefined ? { hint: e.hint } : {})
      })
      return { ...nothingRunning(withMsg), phase: "stopped", stopped }
    }
  }
}

/** Applies one event; callers decode events (`decodeLine`) before they get here. */
export const reduce = (state: ViewState, event: UiEvent): ViewState => {
  const next = step(state, event)
  const at = event.at
  return {
    ...next,
    eventCount: state.eventCount + 1,
    lastEventAt: state.lastEventAt === null || at > state.lastEventAt ? at : state.lastEventAt
  }
}

export const reduceAll = (events: Iterable<UiEvent>, state: ViewState = initialViewState): ViewState => {
  let s = state
  for (const e of events) s = reduce(s, e)
  return s
}
