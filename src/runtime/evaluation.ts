/**
 * The evaluation of a coarse-to-fine test in the paper's terms (rstn-reference.md "Evaluation and
 * the paper's figures"): DSC per case as mean ± std, max, min; the DSC when stopping at each
 * threshold t; the average DSC per round; the inter-iteration DSC after rounds 1, 2, 3, 5, 10;
 * the average number of rounds to reach each t; and the coarse-only DSC. Pure functions over the
 * test-case nodes' records, rendered as JSON, Markdown and CSV.
 */
import { summarize, type Summary } from "../ops/metrics.ts"
import { finalRound, firstReached, type RoundRecord } from "./nodes/test-case.ts"

export interface CaseResult {
  readonly caseId: string
  readonly fold: number
  readonly rounds: ReadonlyArray<RoundRecord>
  readonly coarseDsc: number | null
  readonly coarseMs: Readonly<Record<string, number | null>>
}

export interface ThresholdRow {
  readonly t: number
  /** DSC over cases when each stops at the round where t is first met (the last round if never). */
  readonly dsc: Summary
  /** Cases that reached t within the round limit. */
  readonly converged: number
  /** Average round at which t was reached, over the cases that reached it. */
  readonly meanRounds: number | null
}

export interface Evaluation {
  readonly cases: number
  readonly failedCases: ReadonlyArray<string>
  /** The pipeline's own stopping threshold (converge-until t), null without a loop. */
  readonly t: number | null
  /** DSC of each case's answer at the pipeline's t. */
  readonly final: Summary
  /** Round 0 (coarse only), when the test starts with a coarse stage. */
  readonly coarse: Summary | null
  readonly thresholds: ReadonlyArray<ThresholdRow>
  /** Mean DSC per round; a case that stopped keeps its last mask for later rounds. */
  readonly perRound: ReadonlyArray<{ readonly round: number; readonly dsc: number }>
  /** Mean inter-iteration DSC after the rounds the paper reports (a stopped case keeps its last value). */
  readonly interAfter: ReadonlyArray<{ readonly round: number; readonly interDsc: number }>
  readonly meanRounds: number
}

/** The paper reports the inter-iteration DSC after these rounds (rstn-reference.md). */
export const INTER_ROUNDS = [1, 2, 3, 5, 10] as const

const mean = (xs: ReadonlyArray<number>): number => (xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length)

/** The record of round r, or the last one when the case stopped earlier. */
const at = (rounds: ReadonlyArray<RoundRecord>, r: number): RoundRecord => rounds[Math.min(r, rounds.length - 1)]!

export const evaluate = (
  results: ReadonlyArray<CaseResult>,
  options: { readonly t: number | null; readonly thresholds: ReadonlyArray<number>; readonly maxRounds: number; readonly failedCases?: ReadonlyArray<string> }
): Evaluation => {
  const withRounds = results.filter((r) => r.rounds.length > 0)
  const lastRound = Math.max(0, ...withRounds.map((r) => r.rounds.length - 1))
  const coarse = withRounds.map((r) => r.coarseDsc).filter((d): d is number => d !== null)
  return {
    cases: withRounds.length,
    failedCases: [...(options.failedCases ?? [])].sort(),
    t: options.t,
    final: summarize(withRounds.map((r) => r.rounds[finalRound(r.rounds, options.t)]!.dsc)),
    coarse: coarse.length > 0 ? summarize(coarse) : null,
    thresholds: options.thresholds.map((t) => {
      const reached = withRounds.map((r) => firstReached(r.rounds, t)).filter((x): x is number => x !== null)
      return {
        t,
        dsc: summarize(withRounds.map((r) => r.rounds[finalRound(r.rounds, t)]!.dsc)),
        converged: reached.length,
        meanRounds: reached.length > 0 ? mean(reached) : null
      }
    }),
    perRound: Array.from({ length: lastRound + 1 }, (_, round) => ({ round, dsc: mean(withRounds.map((r) => at(r.rounds, round).dsc)) })),
    interAfter: INTER_ROUNDS.filter((round) => round <= Math.max(lastRound, 0) && round <= options.maxRounds).map((round) => ({
      round,
      interDsc: mean(withRounds.map((r) => at(r.rounds, round).interDsc).filter((x): x is number => x !== null))
    })),
    meanRounds: mean(withRounds.map((r) => r.rounds.length - 1))
  }
}

const pct = (x: number): string => (Number.isFinite(x) ? (100 * x).toFixed(2) : "–")
const stat = (s: Summary): string => (s.count === 0 ? "–" : `${pct(s.mean)} ± ${pct(s.std)}`)
const fixed = (x: number | null, digits = 4): string => (x === null || !Number.isFinite(x) ? "–" : x.toFixed(digits))

/** summary.md: the paper's tables for this run. */
export const summaryMarkdown = (name: string, e: Evaluation, folds: ReadonlyArray<{ readonly fold: number; readonly evaluation: Evaluation }>): string => {
  const lines = [
    `# ${name}: coarse-to-fine test`,
    "",
    `${e.cases} case${e.cases === 1 ? "" : "s"}${e.failedCases.length ? `, ${e.failedCases.length} failed (${e.failedCases.join(", ")})` : ""}; DSC in %, mean ± std over cases.`,
    "",
    "| | mean ± std | max | min |",
    "| --- | --- | --- | --- |",
    `| final${e.t === null ? "" : ` (t = ${e.t})`} | ${stat(e.final)} | ${pct(e.final.max)} | ${pct(e.final.min)} |`
  ]
  if (e.coarse) lines.push(`| coarse only (round 0) | ${stat(e.coarse)} | ${pct(e.coarse.max)} | ${pct(e.coarse.min)} |`)
  lines.push("", "## Stopping at threshold t", "", "| t | DSC | cases converged | average rounds |", "| --- | --- | --- | --- |")
  for (const row of e.thresholds) lines.push(`| ${row.t.toFixed(2)} | ${stat(row.dsc)} | ${row.converged}/${e.cases} | ${fixed(row.meanRounds, 2)} |`)
  lines.push("", "## Average DSC per round", "", `| round | ${e.perRound.map((r) => r.round).join(" | ")} |`, `| --- |${e.perRound.map(() => " --- |").join("")}`)
  lines.push(`| DSC | ${e.perRound.map((r) => pct(r.dsc)).join(" | ")} |`)
  if (e.interAfter.length > 0) {
    lines.push("", "## Inter-iteration DSC after round", "", `| round | ${e.interAfter.map((r) => r.round).join(" | ")} |`, `| --- |${e.interAfter.map(() => " --- |").join("")}`)
    lines.push(`| DSC | ${e.interAfter.map((r) => fixed(r.interDsc)).join(" | ")} |`)
  }
  if (folds.length > 1) {
    lines.push("", "## Per fold", "", "| fold | cases | final | coarse only |", "| --- | --- | --- | --- |")
    for (const f of folds) lines.push(`| ${f.fold} | ${f.evaluation.cases} | ${stat(f.evaluation.final)} | ${f.evaluation.coarse ? stat(f.evaluation.coarse) : "–"} |`)
  }
  return lines.join("\n") + "\n"
}

/** cases.csv: one row per case, DSC and inter-iteration DSC of every round, the round each t was met. */
export const casesCsv = (results: ReadonlyArray<CaseResult>, thresholds: ReadonlyArray<number>, t: number | null): string => {
  const maxRound = Math.max(0, ...results.map((r) => r.rounds.length - 1))
  const rounds = Array.from({ length: maxRound + 1 }, (_, i) => i)
  const header = [
    "case",
    "fold",
    "coarse_dsc",
    "final_dsc",
    "final_round",
    ...rounds.map((r) => `dsc_r${r}`),
    ...rounds.slice(1).map((r) => `inter_dsc_r${r}`),
    ...thresholds.map((th) => `round_t${th}`),
    ...rounds.map((r) => `ms_r${r}`)
  ]
  const cell = (x: number | null | undefined): string => (x === null || x === undefined ? "" : String(Number(x.toFixed(6))))
  const rows = results.map((r) => {
    const final = finalRound(r.rounds, t)
    return [
      r.caseId,
      String(r.fold),
      cell(r.coarseDsc),
      cell(r.rounds[final]?.dsc),
      String(final),
      ...rounds.map((i) => cell(r.rounds[i]?.dsc)),
      ...rounds.slice(1).map((i) => cell(r.rounds[i]?.interDsc)),
      ...thresholds.map((th) => cell(firstReached(r.rounds, th))),
      ...rounds.map((i) => cell(r.rounds[i]?.ms))
    ].join(",")
  })
  return [header.join(","), ...rows].join("\n") + "\n"
}
