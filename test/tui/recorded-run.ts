/**
 * A realistic, deterministic event sequence as the runtime emits it (the plan `compilePipeline`
 * lays out, run with concurrency 1): 2 folds x 3 views x 3
 * training phases (S, I, J), then coarse testing and coarse-to-fine rounds for 4 cases that
 * converge at different rounds (one never reaches t = 0.99 within 5 rounds), a warning about a
 * label file, evaluation and run-finished. Round figures are fixed so tests can check them.
 */
import type { PlannedNode, RunEvent } from "../../src/runtime/events.ts"

export const T0 = 1_700_000_000_000
export const THRESHOLDS = [0.9, 0.95, 0.98, 0.99]
export const MAX_ROUNDS = 5

/** Per case: fold, then [dsc, interDsc, reached] per round (round 0 first). */
export const CASE_ROUNDS: ReadonlyArray<{
  readonly caseId: string
  readonly fold: number
  readonly rounds: ReadonlyArray<readonly [number, number | null, ReadonlyArray<number>]>
}> = [
  {
    caseId: "case_001",
    fold: 0,
    rounds: [
      [0.7512, null, []],
      [0.8203, 0.912, [0.9]],
      [0.8391, 0.9655, [0.95]],
      [0.8432, 0.9861, [0.98]],
      [0.8447, 0.9934, [0.99]]
    ]
  },
  {
    caseId: "case_002",
    fold: 0,
    rounds: [
      [0.682, null, []],
      [0.7904, 0.8811, []],
      [0.815, 0.9512, [0.9, 0.95]],
      [0.8217, 0.9903, [0.98, 0.99]]
    ]
  },
  {
    caseId: "case_003",
    fold: 1,
    rounds: [
      [0.7788, null, []],
      [0.8561, 0.9321, [0.9]],
      [0.8702, 0.9702, [0.95]],
      [0.8745, 0.9844, [0.98]],
      [0.876, 0.9876, []],
      [0.8771, 0.9889, []]
    ]
  },
  {
    caseId: "case_004",
    fold: 1,
    rounds: [
      [0.7015, null, []],
      [0.795, 0.905, [0.9]],
      [0.812, 0.9811, [0.95, 0.98]],
      [0.8166, 0.9921, [0.99]]
    ]
  }
]

export const PHASES = ["S", "I", "J"] as const
export const VIEWS = ["X", "Y", "Z"] as const
/** Iterations per phase in the ratio of the reference release's 2:6:8 epochs. */
export const PHASE_ITERATIONS: Readonly<Record<(typeof PHASES)[number], number>> = { S: 20, I: 60, J: 80 }

/**
 * Node keys. The runtime's keys are content hashes the UI treats as opaque; the node ids
 * (`src/runtime/compile.ts`) stand in for them here so tests can name nodes.
 */
export const trainKey = (fold: number, view: string, phase: string) => `train/fold-${fold}/${view}/${phase}`
export const coarseKey = (caseId: string, view: string) => `coarse/${caseId}/${view}`
export const testKey = (caseId: string) => `test/${caseId}`
export const evaluateKey = (fold: number) => `evaluate/fold-${fold}`
export const REPORT_KEY = "report"

export interface RecordedRunOptions {
  readonly folds?: number
  /** Scale every phase's iteration count (the benchmark uses it to produce 100k events). */
  readonly iterationScale?: number
  /** A training-progress event every this many iterations. */
  readonly progressEvery?: number
  readonly msPerIteration?: number
  readonly runDir?: string
}

/** Smooth, decreasing, slightly wobbly loss curve without any randomness. */
const lossAt = (i: number, n: number, offset: number): number =>
  0.15 + 0.75 * Math.exp((-3 * i) / n) + 0.02 * Math.sin(i * 0.7 + offset)

export const recordedRun = (opts: RecordedRunOptions = {}): RunEvent[] => {
  const folds = opts.folds ?? 2
  const scale = opts.iterationScale ?? 1
  const every = opts.progressEvery ?? 10
  const msPerIteration = opts.msPerIteration ?? 50
  const runDir = opts.runDir ?? "runs/demo"
  let t = T0
  const out: RunEvent[] = []

  // The plan as `compilePipeline` lays it out: training per fold x view x phase, then per case
  // its coarse inference per view and its coarse-to-fine test, then evaluation per fold and the
  // report.
  const nodes: PlannedNode[] = []
  const node = (key: string, group: PlannedNode["group"], label: string) => nodes.push({ key, id: key, group, label, status: "pending" })
  for (let f = 0; f < folds; f++)
    for (const v of VIEWS) for (const p of PHASES) node(trainKey(f, v, p), "training", `train fold ${f} view ${v} phase ${p}`)
  for (const c of CASE_ROUNDS) {
    for (const v of VIEWS) node(coarseKey(c.caseId, v), "coarse", `coarse ${c.caseId} view ${v}`)
    node(testKey(c.caseId), "rounds", `test ${c.caseId}`)
  }
  for (let f = 0; f < folds; f++) node(evaluateKey(f), "evaluation", `evaluate fold ${f}`)
  node(REPORT_KEY, "evaluation", "report")

  out.push({
    _tag: "run-started",
    at: t,
    pipeline: "demo",
    file: "pipelines/demo.yaml",
    runDir,
    backend: "wasm",
    backendReason: "tfjs-node is not installed",
    pid: 4242,
    nodes,
    thresholds: THRESHOLDS,
    maxRounds: MAX_ROUNDS
  })

  const runNode = (key: string, ms: number, body?: () => void) => {
    const start = t
    out.push({ _tag: "node-started", at: t, key })
    body?.()
    t = Math.max(t, start + ms)
    out.push({ _tag: "node-finished", at: t, key, status: "done", durationMs: t - start })
  }

  for (let f = 0; f < folds; f++)
    for (const v of VIEWS)
      for (const p of PHASES) {
        const iterations = PHASE_ITERATIONS[p] * scale
        const key = trainKey(f, v, p)
        runNode(key, 0, () => {
          for (let i = every; i <= iterations; i += every) {
            t += every * msPerIteration
            out.push({
              _tag: "training-progress",
              at: t,
              key,
              fold: f,
              view: v,
              phase: p,
              iteration: i,
              iterations,
              losses: { coarse: lossAt(i, iterations, 0), fine: lossAt(i, iterations, 1) * 0.8, joint: lossAt(i, iterations, 2) * 0.87 },
              learningRate: p === "J" && i > iterations / 2 ? 5e-4 : 1e-3
            })
          }
        })
      }

  for (const c of CASE_ROUNDS) {
    for (const v of VIEWS) runNode(coarseKey(c.caseId, v), 800)
    if (c.caseId === "case_002") {
      out.push({
        _tag: "warning",
        at: t,
        message: "the label has only 212 foreground voxels",
        caseId: "case_002",
        file: "labelsTr/case_002.nii.gz"
      })
    }
    // One test node per case: the fused coarse mask is round 0, then one event per round until
    // the inter-iteration DSC reaches the stopping t or the round limit, then case-finished.
    runNode(testKey(c.caseId), 0, () => {
      c.rounds.forEach(([dsc, inter, reached], r) => {
        const ms = r === 0 ? 100 : 1200
        t += ms
        out.push({ _tag: "round-finished", at: t, caseId: c.caseId, fold: c.fold, round: r, dsc, interDsc: inter, reached, durationMs: ms })
      })
      const last = c.rounds.length - 1
      out.push({
        _tag: "case-finished",
        at: t,
        caseId: c.caseId,
        fold: c.fold,
        rounds: last,
        coarseDsc: c.rounds[0]![0],
        finalDsc: c.rounds[last]![0],
        reachedAt: THRESHOLDS.map((th) => {
          const r = c.rounds.findIndex(([, , rs]) => rs.includes(th))
          return { t: th, round: r >= 0 ? r : null }
        })
      })
    })
  }
  for (let f = 0; f < folds; f++) runNode(evaluateKey(f), 150)
  runNode(REPORT_KEY, 150)
  const finals = CASE_ROUNDS.map((c) => c.rounds[c.rounds.length - 1]![0])
  const coarse = CASE_ROUNDS.map((c) => c.rounds[0]![0])
  out.push({ _tag: "run-finished", at: t, status: "done", summary: summaryOf(finals), coarse: summaryOf(coarse), failedCases: [], resumeHint: null })
  return out
}

/** Population mean/std, as the evaluation reports them. */
export const summaryOf = (xs: ReadonlyArray<number>) => {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length
  const std = Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / xs.length)
  return { mean, std, max: Math.max(...xs), min: Math.min(...xs), count: xs.length }
}

/** The events up to and including the first one matching `pred`. */
export const upTo = (events: ReadonlyArray<RunEvent>, pred: (e: RunEvent) => boolean): RunEvent[] => {
  const i = events.findIndex(pred)
  if (i < 0) throw new Error("upTo: no event matches")
  return events.slice(0, i + 1)
}
