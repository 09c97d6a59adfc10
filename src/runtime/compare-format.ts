/**
 * A comparison of runs (compare.ts) as text: Markdown tables in the paper's Table 1 layout (the
 * default of `rstn compare`), one JSON document, or a self-contained HTML page with the same tables.
 */
import type { Comparison, RunFigures } from "./compare.ts"

const pct = (x: number | null | undefined): string => (x === null || x === undefined || !Number.isFinite(x) ? "–" : (100 * x).toFixed(2))
const signedPct = (x: number): string => (!Number.isFinite(x) ? "–" : `${x > 0 ? "+" : ""}${(100 * x).toFixed(2)}`)
const pValue = (p: number | null): string => (p === null ? "–" : p < 1e-4 ? p.toExponential(1) : p.toFixed(4))

export const formatDuration = (ms: number): string => {
  const s = ms / 1000
  return s < 60 ? `${s.toFixed(1)} s` : s < 3600 ? `${Math.floor(s / 60)} min ${Math.round(s % 60)} s` : `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`
}

/** Each run's label: its pipeline's name, or its directory when two runs share a name. */
const labels = (c: Comparison): string[] => {
  const names = c.runs.map((r) => r.pipeline)
  return c.runs.map((r) => (names.filter((n) => n === r.pipeline).length > 1 ? r.dir : r.pipeline))
}

interface Table {
  readonly head: ReadonlyArray<string>
  readonly rows: ReadonlyArray<ReadonlyArray<string>>
}

const trainingCell = (r: RunFigures): string =>
  r.training.nodes === 0 ? "–" : `${formatDuration(r.training.ms)}${r.training.shared > 0 ? ` (${r.training.shared} of ${r.training.nodes} nodes reused)` : ""}`

/** Table 1: one row per run. */
export const mainTable = (c: Comparison): Table => {
  const names = labels(c)
  return {
    head: ["run", "DSC % mean ± std", "max", "min", ...c.thresholds.map((t) => `t = ${t}: DSC / rounds`), "training"],
    rows: c.runs.map((r, i) => [
      `${names[i]}${r.t === null ? "" : ` (t = ${r.t})`}`,
      `${pct(r.final.mean)} ± ${pct(r.final.std)}`,
      pct(r.final.max),
      pct(r.final.min),
      ...c.thresholds.map((t) => {
        const row = r.thresholds.find((x) => x.t === t)
        return row === undefined ? "–" : `${pct(row.dsc.mean)} / ${row.meanRounds === null ? "–" : row.meanRounds.toFixed(2)} (${row.converged}/${r.cases})`
      }),
      trainingCell(r)
    ])
  }
}

export const pairedTable = (c: Comparison): Table => {
  const names = labels(c)
  return {
    head: ["run", "cases", "mean Δ DSC", "median Δ", "better / worse / equal", "Wilcoxon p"],
    rows: c.paired.map((p, i) => [
      names[i + 1]!,
      String(c.caseIds.length),
      signedPct(p.meanDifference),
      signedPct(p.medianDifference),
      `${p.better} / ${p.worse} / ${p.equal}`,
      `${pValue(p.wilcoxon.p)}${p.wilcoxon.p === null ? "" : ` (${p.wilcoxon.method}, n = ${p.wilcoxon.n})`}`
    ])
  }
}

export const casesTable = (c: Comparison): Table => {
  const names = labels(c)
  return {
    head: ["case", `${names[0]} DSC %`, ...names.slice(1).map((n) => `Δ ${n}`)],
    rows: c.caseIds.map((id) => [id, pct(c.runs[0]!.perCase[id]), ...c.paired.map((p) => signedPct(p.differences[id]!))])
  }
}

const markdownTable = (t: Table): string[] => [
  `| ${t.head.join(" | ")} |`,
  `|${t.head.map(() => " --- |").join("")}`,
  ...t.rows.map((r) => `| ${r.join(" | ")} |`)
]

export const comparisonMarkdown = (c: Comparison): string => {
  const first = labels(c)[0]!
  const lines = [
    `${c.runs.length} runs on the same ${c.caseIds.length} cases; DSC in %, mean ± std over cases at each run's own t. "t = x: DSC / rounds (n/m)":`,
    "the DSC when every case stops where the inter-iteration DSC first reaches x, the average rounds it took, and the cases that reached it.",
    "",
    ...markdownTable(mainTable(c))
  ]
  if (c.paired.length > 0) {
    lines.push(
      "",
      `Paired per case against ${first} (Δ = run − ${first}, DSC points; two-sided Wilcoxon signed-rank test):`,
      "",
      ...markdownTable(pairedTable(c)),
      "",
      ...markdownTable(casesTable(c))
    )
  }
  return lines.join("\n") + "\n"
}

/** NaN statistics (no cases) as null, as JSON has no NaN. */
export const comparisonJson = (c: Comparison): string => JSON.stringify(c, (_, v) => (typeof v === "number" && !Number.isFinite(v) ? null : v), 2) + "\n"

const escape = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")

const htmlTable = (t: Table): string =>
  [
    "<table>",
    `<thead><tr>${t.head.map((h) => `<th>${escape(h)}</th>`).join("")}</tr></thead>`,
    "<tbody>",
    ...t.rows.map((r) => `<tr>${r.map((x, i) => (i === 0 ? `<th scope="row">${escape(x)}</th>` : `<td>${escape(x)}</td>`)).join("")}</tr>`),
    "</tbody>",
    "</table>"
  ].join("\n")

export const comparisonHtml = (c: Comparison): string => {
  const first = labels(c)[0]!
  return [
    "<!doctype html>",
    '<html lang="en">',
    '<head><meta charset="utf-8"><title>rstn compare</title>',
    "<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}thead th,tbody th{text-align:left;background:#f4f4f4}</style>",
    "</head>",
    "<body>",
    `<h1>${c.runs.length} runs on the same ${c.caseIds.length} cases</h1>`,
    "<p>DSC in %, mean ± std over cases at each run's own t; at each threshold t: the DSC when every case stops where the inter-iteration DSC first reaches t, the average rounds it took, and the cases that reached it.</p>",
    htmlTable(mainTable(c)),
    ...(c.paired.length > 0
      ? [`<h2>Paired per case against ${escape(first)}</h2>`, "<p>Δ = run − first run, in DSC points; two-sided Wilcoxon signed-rank test.</p>", htmlTable(pairedTable(c)), htmlTable(casesTable(c))]
      : []),
    `<p>Runs: ${c.runs.map((r) => escape(r.dir)).join(", ")}</p>`,
    "</body>",
    "</html>",
    ""
  ].join("\n")
}
