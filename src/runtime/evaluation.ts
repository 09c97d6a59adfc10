/**
 * The evaluation of a coarse-to-fine test in the paper's terms (rstn-reference.md "Evaluation and
 * the paper's figures"): DSC per case as mean ± std, max, min; the DSC when stopping at each
 * threshold t; the average DSC per round; the inter-iteration DSC after rounds 1, 2, 3, 5, 10;
 * the average number of rounds to reach each t; and the coarse-only DSC. Pure functions over the
 * test-case nodes' records, rendered as JSON, Markdown and CSV.
 */
import { summarize, type Agreement, type Summary } from "../ops/metrics.ts"
import { finalRound, firstReached, type RoundRecord, type TestCaseResult } from "./nodes/test-case.ts"

/** One test case's record, as its test node returned it. */
export type CaseResult = TestCaseResult

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
  /** Means per round; a case that stopped keeps its last mask for later rounds. */
  readonly perRound: ReadonlyArray<RoundMeans>
  /** Mean inter-iteration DSC after the rounds the paper reports (a stopped case keeps its last value). */
  readonly interAfter: ReadonlyArray<{ readonly round: number; readonly interDsc: number }>
  readonly meanRounds: number
  /** Mean ground-truth voxels per case, beside the rounds' predicted voxels. */
  readonly foreground: number
  /** Whether the rounds after the first shrink the masks (the drift of issue 9); null when they do not. */
  readonly shrinkage: Shrinkage | null
}

/**
 * Rounds that lose the organ: the round r >= 2 whose mean recall is lowest, when it is more than
 * SHRINK_TOLERANCE below round 1's. Round 1 is the reference because it is the first fine round:
 * the coarse round's recall is another network's.
 */
export interface Shrinkage {
  readonly round: number
  readonly recall: number
  readonly recallRound1: number
  readonly voxels: number
  readonly voxelsRound1: number
}

/** How far mean recall may fall below round 1's before the rounds count as shrinking the masks. */
export const SHRINK_TOLERANCE = 0.02

/** Means over cases of one round's masks (precision and recall over the cases where they exist). */
export interface Means {
  readonly dsc: number
  readonly precision: number | null
  readonly recall: number | null
  readonly voxels: number
}

export interface RoundMeans extends Means {
  readonly round: number
  /** Each view's own mask before fusion. */
  readonly views: Readonly<Record<string, Means>>
}

/** The paper reports the inter-iteration DSC after these rounds (rstn-reference.md). */
export const INTER_ROUNDS = [1, 2, 3, 5, 10] as const

const mean = (xs: ReadonlyArray<number>): number => (xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length)

/** The record of round r, or the last one when the case stopped earlier. */
const at = (rounds: ReadonlyArray<RoundRecord>, r: number): RoundRecord => rounds[Math.min(r, rounds.length - 1)]!

const meanOrNull = (xs: ReadonlyArray<number | null>): number | null => {
  const present = xs.filter((x): x is number => x !== null)
  return present.length === 0 ? null : mean(present)
}

const meansOf = (xs: ReadonlyArray<Agreement>): Means => ({
  dsc: mean(xs.map((x) => x.dsc)),
  precision: meanOrNull(xs.map((x) => x.precision)),
  recall: meanOrNull(xs.map((x) => x.recall)),
  voxels: mean(xs.map((x) => x.voxels))
})

const roundMeans = (results: ReadonlyArray<CaseResult>, round: number): RoundMeans => {
  const records = results.map((r) => at(r.rounds, round))
  const views = [...new Set(records.flatMap((r) => r.views.map((v) => v.view)))]
  return {
    round,
    ...meansOf(records),
    views: Object.fromEntries(views.map((view) => [view, meansOf(records.flatMap((r) => r.views.filter((v) => v.view === view)))]))
  }
}

export const evaluate = (
  results: ReadonlyArray<CaseResult>,
  options: { readonly t: number | null; readonly thresholds: ReadonlyArray<number>; readonly maxRounds: number; readonly failedCases?: ReadonlyArray<string> }
): Evaluation => {
  const withRounds = results.filter((r) => r.rounds.length > 0)
  const lastRound = Math.max(0, ...withRounds.map((r) => r.rounds.length - 1))
  const coarse = withRounds.map((r) => r.coarseDsc).filter((d): d is number => d !== null)
  const perRound = Array.from({ length: lastRound + 1 }, (_, round) => roundMeans(withRounds, round))
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
    perRound,
    interAfter: INTER_ROUNDS.filter((round) => round <= Math.max(lastRound, 0) && round <= options.maxRounds).map((round) => ({
      round,
      interDsc: mean(withRounds.map((r) => at(r.rounds, round).interDsc).filter((x): x is number => x !== null))
    })),
    meanRounds: mean(withRounds.map((r) => r.rounds.length - 1)),
    foreground: mean(withRounds.map((r) => r.foreground)),
    shrinkage: shrinkageOf(perRound)
  }
}

const shrinkageOf = (perRound: ReadonlyArray<RoundMeans>): Shrinkage | null => {
  const first = perRound[1]
  if (first?.recall == null) return null
  let worst: RoundMeans | null = null
  for (const r of perRound.slice(2)) if (r.recall !== null && (worst === null || r.recall < worst.recall!)) worst = r
  if (worst === null || worst.recall! >= first.recall - SHRINK_TOLERANCE) return null
  return { round: worst.round, recall: worst.recall!, recallRound1: first.recall, voxels: worst.voxels, voxelsRound1: first.voxels }
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
  if (e.shrinkage) {
    const k = e.shrinkage
    lines.push(
      "",
      `**The rounds shrink the masks**: mean recall falls from ${pct(k.recallRound1)}% after round 1 to ${pct(k.recall)}% at round ${k.round} ` +
        `(mean voxels ${Math.round(k.voxelsRound1)} → ${Math.round(k.voxels)}). README, "What makes the rounds converge", lists the remedies.`
    )
  }
  lines.push("", "## Stopping at threshold t", "", "| t | DSC | cases converged | average rounds |", "| --- | --- | --- | --- |")
  for (const row of e.thresholds) lines.push(`| ${row.t.toFixed(2)} | ${stat(row.dsc)} | ${row.converged}/${e.cases} | ${fixed(row.meanRounds, 2)} |`)
  lines.push("", "## Average DSC per round", "", `| round | ${e.perRound.map((r) => r.round).join(" | ")} |`, `| --- |${e.perRound.map(() => " --- |").join("")}`)
  lines.push(`| DSC | ${e.perRound.map((r) => pct(r.dsc)).join(" | ")} |`)
  lines.push(...meansRows("", e.perRound, e.foreground).slice(1))
  const views = [...new Set(e.perRound.flatMap((r) => Object.keys(r.views)))]
  if (views.length > 1) {
    lines.push("", "## Each view before fusion, per round", "", `| round | ${e.perRound.map((r) => r.round).join(" | ")} |`, `| --- |${e.perRound.map(() => " --- |").join("")}`)
    for (const view of views) lines.push(...meansRows(`${view} `, e.perRound.map((r) => r.views[view])))
  }
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

/** Table rows of per-round means: DSC, precision and recall in %, and mean predicted voxels. */
const meansRows = (prefix: string, means: ReadonlyArray<Means | undefined>, foreground?: number): string[] => {
  const row = (name: string, f: (m: Means) => string) => `| ${prefix}${name} | ${means.map((m) => (m ? f(m) : "–")).join(" | ")} |`
  return [
    row("DSC", (m) => pct(m.dsc)),
    row("precision", (m) => (m.precision === null ? "–" : pct(m.precision))),
    row("recall", (m) => (m.recall === null ? "–" : pct(m.recall))),
    row(`voxels${foreground === undefined ? "" : ` (truth ${Math.round(foreground)})`}`, (m) => (Number.isFinite(m.voxels) ? Math.round(m.voxels).toString() : "–"))
  ]
}

const AGREEMENT = ["dsc", "voxels", "precision", "recall"] as const satisfies ReadonlyArray<keyof Agreement>

/**
 * cases.csv: one row per case, DSC and inter-iteration DSC of every round, the round each t was
 * met, each round's time; then the fused mask's foreground, voxels, precision and recall per
 * round, and the same with the DSC for each view before fusion (`X_recall_r2`).
 */
export const casesCsv = (results: ReadonlyArray<CaseResult>, thresholds: ReadonlyArray<number>, t: number | null): string => {
  const maxRound = Math.max(0, ...results.map((r) => r.rounds.length - 1))
  const rounds = Array.from({ length: maxRound + 1 }, (_, i) => i)
  const views = [...new Set(results.flatMap((r) => r.rounds.flatMap((x) => x.views.map((v) => v.view))))]
  const header = [
    "case",
    "fold",
    "coarse_dsc",
    "final_dsc",
    "final_round",
    ...rounds.map((r) => `dsc_r${r}`),
    ...rounds.slice(1).map((r) => `inter_dsc_r${r}`),
    ...thresholds.map((th) => `round_t${th}`),
    ...rounds.map((r) => `ms_r${r}`),
    "foreground",
    ...AGREEMENT.flatMap((a) => (a === "dsc" ? [] : rounds.map((r) => `${a}_r${r}`))),
    ...views.flatMap((v) => AGREEMENT.flatMap((a) => rounds.map((r) => `${v}_${a}_r${r}`)))
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
      ...rounds.map((i) => cell(r.rounds[i]?.ms)),
      String(r.foreground),
      ...AGREEMENT.flatMap((a) => (a === "dsc" ? [] : rounds.map((i) => cell(r.rounds[i]?.[a])))),
      ...views.flatMap((v) => AGREEMENT.flatMap((a) => rounds.map((i) => cell(r.rounds[i]?.views.find((x) => x.view === v)?.[a]))))
    ].join(",")
  })
  return [header.join(","), ...rows].join("\n") + "\n"
}
