/**
 * report.html from what the runtime gathered (html-report.ts): one self-contained page with the
 * summary tables, the plots as inline SVG, every case's overlays as `data:` PNGs and the resolved
 * pipeline. Pure: the same model gives the same bytes, and nothing in the page loads from
 * elsewhere or runs a script.
 */
import { COLOURS, type Plane } from "./overlay.ts"

/** One round's overlay on one plane. */
export interface OverlayCell {
  readonly round: number
  /** A `data:image/png;base64,...` URI. */
  readonly src: string
  readonly width: number
  readonly height: number
}

export interface PlaneRow {
  readonly plane: Plane
  /** The voxel index of the slice along the plane's axis. */
  readonly slice: number
  readonly cells: ReadonlyArray<OverlayCell>
}

export interface CaseView {
  readonly caseId: string
  readonly fold: number
  /** The round whose mask is the run's answer for its t. */
  readonly finalRound: number
  readonly rounds: ReadonlyArray<{
    readonly round: number
    readonly dsc: number
    readonly interDsc: number | null
    readonly precision?: number | null
    readonly recall?: number | null
    readonly voxels?: number
  }>
  /** The slices' centre (voxel x, y, z): the ground truth's centre of mass. */
  readonly centre: readonly [number, number, number] | null
  /** Null when the overlays could not be made; `note` says why. */
  readonly planes: ReadonlyArray<PlaneRow> | null
  readonly note?: string
}

export interface ReportModel {
  readonly pipeline: string
  readonly runDir: string
  /** Lines under the title: the pipeline file, backend, how the run ended. */
  readonly facts: ReadonlyArray<string>
  /** summary.md as HTML. */
  readonly summaryHtml: string
  readonly plots: ReadonlyArray<{ readonly id: string; readonly title: string; readonly svg: string }>
  readonly cases: ReadonlyArray<CaseView>
  readonly pipelineYaml: string
  /** What the report could not show, and why. */
  readonly notes: ReadonlyArray<string>
  /** Written into a meta tag: what the report was made from, so a run can tell whether it is current. */
  readonly stamp: string
}

export const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!)

const pct = (x: number | null | undefined): string => (typeof x === "number" && Number.isFinite(x) ? (100 * x).toFixed(2) : "–")
const dec = (x: number | null | undefined): string => (typeof x === "number" && Number.isFinite(x) ? x.toFixed(3) : "–")

const rgb = (c: readonly [number, number, number]) => `rgb(${c.join(",")})`

const roundName = (round: number): string => (round === 0 ? "coarse (round 0)" : `round ${round}`)

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 1280px; padding: 0 24px 48px; color: #222; }
h1 { margin: 24px 0 4px; } h2 { margin-top: 36px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
h3 { margin: 28px 0 8px; } .facts { color: #555; margin: 0; padding-left: 18px; }
table { border-collapse: collapse; margin: 8px 0 16px; } th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: right; }
th { background: #f4f4f4; } td:first-child, th:first-child { text-align: left; }
figure { display: inline-block; margin: 8px 16px 8px 0; vertical-align: top; } figure svg { max-width: 100%; height: auto; }
table.overlays td, table.overlays th { text-align: center; vertical-align: top; border: none; padding: 4px; }
table.overlays img { display: block; margin: 0 auto; image-rendering: pixelated; }
table.overlays .final img { outline: 3px solid #333; }
.cap { font-size: 12px; color: #444; } .note { color: #8a4b00; }
.swatch { display: inline-block; width: 14px; height: 4px; vertical-align: middle; margin: 0 4px 0 12px; }
pre { background: #f7f7f7; padding: 12px; overflow: auto; font-size: 12px; border: 1px solid #e4e4e4; }
nav a { margin-right: 10px; }
`

const legend = (): string =>
  `<p>Contours: <span class="swatch" style="background:${rgb(COLOURS.truth)}"></span>ground truth` +
  `<span class="swatch" style="background:${rgb(COLOURS.predicted)}"></span>predicted` +
  `<span class="swatch" style="background:${rgb(COLOURS.both)}"></span>both. ` +
  `Each image is the slice through the ground truth's centre, cropped around the organ and the predictions; the final round is outlined.</p>`

const roundsTable = (c: CaseView): string => {
  const head = `<tr><th>round</th>${c.rounds.map((r) => `<th>${r.round === c.finalRound ? `<b>${r.round}</b>` : r.round}</th>`).join("")}</tr>`
  const row = (name: string, f: (r: CaseView["rounds"][number]) => string) => `<tr><td>${name}</td>${c.rounds.map((r) => `<td>${f(r)}</td>`).join("")}</tr>`
  return `<table class="rounds">${head}${row("DSC %", (r) => pct(r.dsc))}${row("inter-iteration DSC", (r) => dec(r.interDsc))}${row("precision %", (r) => pct(r.precision))}${row("recall %", (r) => pct(r.recall))}${row("voxels", (r) => (r.voxels === undefined ? "–" : String(r.voxels)))}</table>`
}

const overlaysTable = (c: CaseView, planes: ReadonlyArray<PlaneRow>): string => {
  const dscOf = new Map(c.rounds.map((r) => [r.round, r.dsc]))
  const rounds = planes[0]?.cells.map((cell) => cell.round) ?? []
  const head = `<tr><th></th>${rounds.map((r) => `<th>${escapeHtml(roundName(r))}${r === c.finalRound ? " · final" : ""}<div class="cap">DSC ${pct(dscOf.get(r))}</div></th>`).join("")}</tr>`
  const body = planes
    .map(
      (p) =>
        `<tr><th>${p.plane}<div class="cap">slice ${p.slice}</div></th>${p.cells
          .map(
            (cell) =>
              `<td${cell.round === c.finalRound ? ` class="final"` : ""}><img src="${cell.src}" width="${cell.width}" height="${cell.height}" alt="${escapeHtml(`${c.caseId} ${p.plane} slice ${p.slice}, ${roundName(cell.round)}`)}"></td>`
          )
          .join("")}</tr>`
    )
    .join("")
  return `<table class="overlays">${head}${body}</table>`
}

const caseSection = (c: CaseView): string => {
  const final = c.rounds.find((r) => r.round === c.finalRound)
  const centre = c.centre === null ? "" : ` · centre voxel (${c.centre.join(", ")})`
  return [
    `<section class="case" id="case-${escapeHtml(c.caseId)}">`,
    `<h3>${escapeHtml(c.caseId)} <span class="cap">fold ${c.fold} · final round ${c.finalRound} · DSC ${pct(final?.dsc)} %${centre}</span></h3>`,
    roundsTable(c),
    c.planes === null ? "" : overlaysTable(c, c.planes),
    c.note === undefined ? "" : `<p class="note">${escapeHtml(c.note)}</p>`,
    `</section>`
  ].join("\n")
}

export const reportHtml = (m: ReportModel): string =>
  [
    "<!doctype html>",
    `<html lang="en"><head><meta charset="utf-8">`,
    `<meta name="viewport" content="width=device-width, initial-scale=1">`,
    `<meta name="generator" content="rstn report">`,
    `<meta name="rstn-report" content="${escapeHtml(m.stamp)}">`,
    `<title>${escapeHtml(`rstn report: ${m.pipeline}`)}</title>`,
    `<style>${STYLE}</style></head><body>`,
    `<h1>${escapeHtml(m.pipeline)}</h1>`,
    `<ul class="facts">${[`run directory ${m.runDir}`, ...m.facts].map((f) => `<li>${escapeHtml(f)}</li>`).join("")}</ul>`,
    `<nav><a href="#summary">summary</a><a href="#plots">plots</a><a href="#cases">cases</a><a href="#pipeline">pipeline</a></nav>`,
    m.notes.length === 0 ? "" : `<ul class="note">${m.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join("")}</ul>`,
    `<section id="summary">${m.summaryHtml}</section>`,
    `<h2 id="plots">Plots</h2>`,
    m.plots.length === 0 ? "<p>No data to plot.</p>" : m.plots.map((p) => `<figure id="plot-${escapeHtml(p.id)}" aria-label="${escapeHtml(p.title)}">${p.svg}</figure>`).join("\n"),
    `<h2 id="cases">Cases</h2>`,
    legend(),
    `<p>${m.cases.map((c) => `<a href="#case-${escapeHtml(c.caseId)}">${escapeHtml(c.caseId)}</a>`).join(" ")}</p>`,
    ...m.cases.map(caseSection),
    `<h2 id="pipeline">Resolved pipeline</h2>`,
    `<pre>${escapeHtml(m.pipelineYaml)}</pre>`,
    "</body></html>",
    ""
  ].join("\n")
