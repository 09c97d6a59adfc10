/**
 * Coarse-to-fine testing, one row per case: coarse-only DSC beside the final DSC, then one column
 * per round with that round's DSC to the ground truth and its inter-iteration DSC, marked where a
 * threshold t was first met (¹ for the smallest t, ...). Under it: per-round means, the running
 * mean ± std, and how many cases met each t in how many rounds on average.
 */
import { Box } from "ink"
import { dscPct, interDsc, meanStd, padEnd, padStart, threshold } from "../format.ts"
import { MARKS } from "../layout.ts"
import type { Convergence, DscSummary, RoundMean } from "../select.ts"
import type { CaseView, RoundView } from "../view-state.ts"
import { CASE_GLYPH, Line, type Segment } from "./line.tsx"

export interface CasesTableProps {
  readonly cases: ReadonlyArray<CaseView>
  readonly thresholds: ReadonlyArray<number>
  readonly offset: number
  /** Case rows drawn; null draws all. */
  readonly visible: number | null
  /** First and last coarse-to-fine round drawn (round 0 is the coarse column). */
  readonly firstRound: number
  readonly lastRound: number
  readonly idWidth: number
  readonly cellWidth: number
  readonly means: ReadonlyArray<RoundMean>
  readonly summary: DscSummary
  readonly convergence: ReadonlyArray<Convergence>
}

const marksOf = (r: RoundView, thresholds: ReadonlyArray<number>): string =>
  thresholds
    .map((t, i) => (r.reached.includes(t) ? (MARKS[i] ?? "*") : ""))
    .join("")

const cell = (r: RoundView | undefined, thresholds: ReadonlyArray<number>, width: number, isFinal: boolean): Segment[] => {
  if (r === undefined) return [{ text: " ".repeat(width) }]
  const marks = marksOf(r, thresholds)
  return [
    { text: padStart(dscPct(r.dsc), 5), bold: isFinal },
    { text: " " },
    { text: padEnd(interDsc(r.interDsc), 4), dim: true },
    { text: padEnd(marks, width - 10), color: "magenta", bold: true }
  ]
}

const caseRow = (c: CaseView, p: CasesTableProps): Segment[] => {
  const out: Segment[] = [
    CASE_GLYPH[c.status],
    { text: " " },
    { text: padEnd(c.caseId, p.idWidth) },
    { text: padStart(c.fold >= 0 ? `f${c.fold}` : "", 3), dim: true },
    { text: padStart(dscPct(c.coarseDsc ?? c.rounds[0]?.dsc ?? null), 6) },
    c.status === "done"
      ? { text: padStart(dscPct(c.finalDsc), 6), bold: true, color: "green" }
      : { text: padStart(c.status === "failed" ? "fail" : "…", 6), color: c.status === "failed" ? "red" : c.status === "running" ? "yellow" : "gray" },
    { text: " │", dim: true }
  ]
  const last = c.rounds.length - 1
  for (let r = p.firstRound; r <= p.lastRound; r++) {
    out.push({ text: " " }, ...cell(c.rounds[r], p.thresholds, p.cellWidth, c.status === "done" && r === last))
  }
  return out
}

export const CasesTable = (p: CasesTableProps) => {
  if (p.cases.length === 0) return <Line segments={[{ text: "no case has been tested yet", dim: true }]} />
  const shown = p.visible === null ? p.cases : p.cases.slice(p.offset, p.offset + p.visible)
  let header = "  " + padEnd("case", p.idWidth) + padStart("", 3) + padStart("coarse", 6) + padStart("final", 6) + " │"
  for (let r = p.firstRound; r <= p.lastRound; r++) header += " " + padEnd(`${padStart(`r${r}`, 5)} ${r === p.firstRound ? "inter" : ""}`, p.cellWidth)

  const meanRow: Segment[] = [
    { text: "  " + padEnd("mean", p.idWidth) + "   ", bold: true },
    { text: padStart(dscPct(p.summary.coarse?.mean ?? null), 6) },
    { text: padStart(dscPct(p.summary.final?.mean ?? null), 6), bold: true },
    { text: " │", dim: true }
  ]
  for (let r = p.firstRound; r <= p.lastRound; r++) {
    const m = p.means[r]
    meanRow.push({ text: " " }, { text: padStart(dscPct(m?.dsc ?? null), 5) }, { text: " " }, { text: padEnd(interDsc(m?.interDsc ?? null), p.cellWidth - 6), dim: true })
  }

  const f = p.summary.final
  const statsLine: Segment[] = [
    { text: `final DSC ${f ? meanStd(f.mean, f.std) : "—"}`, bold: true, color: "green" },
    { text: p.summary.fromRun || !f ? "" : " so far", dim: true },
    { text: p.summary.coarse ? `   coarse only ${meanStd(p.summary.coarse.mean, p.summary.coarse.std)}` : "   coarse only —" },
    { text: f ? `   ${f.count} case${f.count === 1 ? "" : "s"}, min ${dscPct(f.min, 2)} max ${dscPct(f.max, 2)}` : "", dim: true }
  ]

  // One entry per t: its mark, how many finished cases met it, their mean round (paper: "80 of
  // 82 cases converge in 5.22 rounds on average" at t = 0.99).
  const legend: Segment[] = [{ text: "t: ", dim: true }]
  p.convergence.forEach((c, i) => {
    if (i > 0) legend.push({ text: "  " })
    legend.push({ text: `${MARKS[i] ?? "*"}${threshold(c.t)}`, color: "magenta", bold: true })
    legend.push({ text: ` ${c.reached}/${c.of}${c.meanRound !== null ? ` in ${c.meanRound.toFixed(2)}` : ""}` })
  })
  if (p.convergence.length === 0) legend.push({ text: "no thresholds reported", dim: true })

  return (
    <Box flexDirection="column">
      <Line segments={[{ text: header, dim: true }]} />
      {shown.map((c) => (
        <Line key={c.caseId} segments={caseRow(c, p)} />
      ))}
      <Line segments={meanRow} />
      <Line segments={statsLine} />
      <Line segments={legend} />
    </Box>
  )
}
