/**
 * The report's plots as Vega-Lite specifications (render-svg.ts draws them): DSC per round per
 * case and their mean, the inter-iteration DSC per round against the stopping threshold t,
 * precision and recall per round, and the training losses per phase and view. Pure: data in,
 * specification out, every value inline (nothing is fetched), so the same run gives the same SVG.
 */
import type { TopLevelSpec } from "vega-lite"

/** What the plots read of a case's rounds (cases.json). */
export interface CaseRounds {
  readonly caseId: string
  readonly rounds: ReadonlyArray<{
    readonly round: number
    readonly dsc: number
    readonly interDsc: number | null
    readonly precision?: number | null
    readonly recall?: number | null
  }>
}

/** One training phase of one fold and view: its losses as training-progress events reported them. */
export interface TrainingCurve {
  readonly fold: number
  readonly view: string
  readonly phase: string
  readonly points: ReadonlyArray<{
    readonly iteration: number
    readonly joint: number
    readonly coarse: number | null
    readonly fine: number | null
  }>
}

const WIDTH = 420
const HEIGHT = 240
const SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"

const base = (title: string) => ({ $schema: SCHEMA, title, width: WIDTH, height: HEIGHT, background: "white", config: { font: "sans-serif" } })

const roundAxis = (rounds: ReadonlyArray<number>) => ({
  field: "round",
  type: "quantitative" as const,
  title: "round (0 = coarse)",
  axis: { values: [...rounds], format: "d" },
  scale: { domain: [Math.min(...rounds), Math.max(...rounds)] }
})

const finite = (x: number | null | undefined): x is number => typeof x === "number" && Number.isFinite(x)

const mean = (xs: ReadonlyArray<number>): number => xs.reduce((a, b) => a + b, 0) / xs.length

/** The mean of `pick` over the cases that have a round r, per round. */
const meanPerRound = (cases: ReadonlyArray<CaseRounds>, pick: (r: CaseRounds["rounds"][number]) => number | null | undefined) => {
  const by = new Map<number, number[]>()
  for (const c of cases) for (const r of c.rounds) {
    const v = pick(r)
    if (finite(v)) by.set(r.round, [...(by.get(r.round) ?? []), v])
  }
  return [...by.entries()].sort(([a], [b]) => a - b).map(([round, vs]) => ({ round, value: mean(vs), cases: vs.length }))
}

const roundsOf = (rows: ReadonlyArray<{ readonly round: number }>): number[] => [...new Set(rows.map((r) => r.round))].sort((a, b) => a - b)

/** A line per case (coloured, thin) and the mean over cases (black, thick). */
const perCaseAndMean = (
  title: string,
  yTitle: string,
  rows: Array<{ caseId: string; round: number; value: number }>,
  means: Array<{ round: number; value: number; cases: number }>,
  extra: object[] = []
): TopLevelSpec => {
  const rounds = roundsOf(rows)
  const y = { field: "value", type: "quantitative" as const, title: yTitle, scale: { zero: false }, axis: { format: ".3~f" } }
  return {
    ...base(title),
    layer: [
      {
        data: { values: rows },
        mark: { type: "line", point: true, strokeWidth: 1.2, opacity: 0.75 },
        encoding: { x: roundAxis(rounds), y, color: { field: "caseId", type: "nominal", title: "case", scale: { scheme: "tableau20" } } }
      },
      {
        data: { values: means.map((m) => ({ ...m, series: "mean over cases" })) },
        mark: { type: "line", point: { filled: true, size: 50 }, strokeWidth: 3, color: "black" },
        encoding: { x: roundAxis(rounds), y, strokeDash: { field: "series", type: "nominal", title: null } }
      },
      ...extra
    ],
    resolve: { scale: { color: "independent", strokeDash: "independent" } }
  } as TopLevelSpec
}

/** DSC of every round of every case to its ground truth, and the mean per round. */
export const dscPlot = (cases: ReadonlyArray<CaseRounds>): TopLevelSpec | null => {
  const rows = cases.flatMap((c) => c.rounds.filter((r) => finite(r.dsc)).map((r) => ({ caseId: c.caseId, round: r.round, value: r.dsc })))
  if (rows.length === 0) return null
  return perCaseAndMean("DSC per round", "DSC", rows, meanPerRound(cases, (r) => r.dsc))
}

/** DSC between consecutive rounds' masks (rounds 1..), with the stopping threshold t as a rule. */
export const interDscPlot = (cases: ReadonlyArray<CaseRounds>, t: number | null): TopLevelSpec | null => {
  const rows = cases.flatMap((c) => c.rounds.filter((r) => finite(r.interDsc)).map((r) => ({ caseId: c.caseId, round: r.round, value: r.interDsc! })))
  if (rows.length === 0) return null
  const rule =
    t === null
      ? []
      : [
          {
            data: { values: [{ t, label: `t = ${t}` }] },
            mark: { type: "rule", strokeDash: [6, 4], color: "#666" },
            encoding: { y: { field: "t", type: "quantitative" } }
          }
        ]
  return perCaseAndMean("Inter-iteration DSC per round", "DSC(previous round, round)", rows, meanPerRound(cases, (r) => r.interDsc), rule)
}

/** Mean precision and recall per round (lines), every case's as faint points; null when cases.json has neither. */
export const precisionRecallPlot = (cases: ReadonlyArray<CaseRounds>): TopLevelSpec | null => {
  const metrics = ["precision", "recall"] as const
  const rows = cases.flatMap((c) =>
    c.rounds.flatMap((r) => metrics.flatMap((m) => (finite(r[m]) ? [{ caseId: c.caseId, round: r.round, metric: m, value: r[m]! }] : [])))
  )
  if (rows.length === 0) return null
  const means = metrics.flatMap((m) => meanPerRound(cases, (r) => r[m]).map((x) => ({ ...x, metric: m })))
  const rounds = roundsOf(rows)
  const y = { field: "value", type: "quantitative" as const, title: "mean over cases", scale: { zero: false }, axis: { format: ".3~f" } }
  const color = { field: "metric", type: "nominal" as const, title: null, scale: { domain: [...metrics], range: ["#1f77b4", "#d62728"] } }
  return {
    ...base("Precision and recall per round"),
    layer: [
      { data: { values: rows }, mark: { type: "point", opacity: 0.35, size: 20 }, encoding: { x: roundAxis(rounds), y, color } },
      { data: { values: means }, mark: { type: "line", point: { filled: true }, strokeWidth: 2.5 }, encoding: { x: roundAxis(rounds), y, color } }
    ]
  } as TopLevelSpec
}

/**
 * Training losses against the iteration, one panel per phase (in the order given), a colour per
 * view (and fold, when the run trained several), the joint loss solid and the coarse and fine
 * networks' losses dashed.
 */
export const lossPlot = (curves: ReadonlyArray<TrainingCurve>): TopLevelSpec | null => {
  const folds = new Set(curves.map((c) => c.fold))
  const phases = [...new Set(curves.map((c) => c.phase))]
  const rows = curves.flatMap((c) => {
    const series = folds.size > 1 ? `fold ${c.fold} ${c.view}` : `view ${c.view}`
    return c.points.flatMap((p) =>
      (["joint", "coarse", "fine"] as const).flatMap((loss) => {
        const v = p[loss]
        return finite(v) ? [{ phase: c.phase, series, loss, iteration: p.iteration, value: v }] : []
      })
    )
  })
  if (rows.length === 0) return null
  return {
    $schema: SCHEMA,
    title: "Training loss per phase and view",
    background: "white",
    config: { font: "sans-serif" },
    data: { values: rows },
    facet: { column: { field: "phase", type: "nominal", sort: phases, title: "phase" } },
    spec: {
      width: Math.max(160, Math.round(WIDTH * 1.6) / Math.max(1, phases.length)),
      height: HEIGHT,
      mark: { type: "line", strokeWidth: 1.5 },
      encoding: {
        x: { field: "iteration", type: "quantitative", title: "iteration" },
        y: { field: "value", type: "quantitative", title: "DSC loss", scale: { zero: false } },
        color: { field: "series", type: "nominal", title: null },
        strokeDash: { field: "loss", type: "nominal", title: "loss", sort: ["joint", "coarse", "fine"] },
        detail: { field: "loss", type: "nominal" }
      }
    },
    resolve: { scale: { x: "independent" } }
  } as TopLevelSpec
}
