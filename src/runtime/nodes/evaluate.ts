/**
 * Evaluation nodes: per fold, the paper's figures over the fold's test cases; and the report,
 * the same over every case of the run, written as summary.json, summary.md, cases.json and
 * cases.csv (published at the root of the run directory after the run, with the predicted masks).
 * Both run over the cases that succeeded and list the ones that failed.
 */
import { Effect } from "effect"
import { casesCsv, evaluate, summaryMarkdown, type CaseResult, type Evaluation } from "../evaluation.ts"
import type { FileSystemError } from "../file-system.ts"
import type { NodeContext, NodeResult } from "../node.ts"
import { type PipelineEnv, roundMaskFile } from "./env.ts"
import { caseResultOf, convergeThreshold, finalRound } from "./test-case.ts"

export interface EvaluateTarget {
  readonly fold: number | null
  /** Test-case node id → case id, for naming failed cases. */
  readonly cases: Readonly<Record<string, string>>
}

const options = (env: PipelineEnv, failedCases: ReadonlyArray<string>) => {
  const converge = env.pipeline.test.stages.find((s) => s.kind === "converge-until")
  return {
    t: convergeThreshold(env.pipeline.test.stages),
    thresholds: env.pipeline.evaluation.thresholds,
    maxRounds: converge?.kind === "converge-until" ? converge.maxRounds : 0,
    failedCases
  }
}

/** Statistics of no cases are NaN, which JSON spells null. */
const asJson = (value: object): NodeResult => JSON.parse(JSON.stringify(value)) as NodeResult

const resultsOf = (ctx: NodeContext, t: EvaluateTarget): CaseResult[] =>
  ctx.inputs.filter((i) => i.id in t.cases).map((i) => caseResultOf(i.json))

const failedOf = (ctx: NodeContext, t: EvaluateTarget): string[] => ctx.missingInputs.filter((id) => id in t.cases).map((id) => t.cases[id]!)

export const runEvaluateFold = (ctx: NodeContext, env: PipelineEnv, t: EvaluateTarget): Effect.Effect<NodeResult> =>
  Effect.sync(() => {
    const results = resultsOf(ctx, t)
    return asJson({ fold: t.fold, evaluation: evaluate(results, options(env, failedOf(ctx, t))) })
  })

/** A predicted mask copied under the run directory's root after the run (besides the report's own files). */
export interface Publication {
  readonly from: string
  readonly to: string
}

export const runReport = (ctx: NodeContext, env: PipelineEnv, t: EvaluateTarget): Effect.Effect<NodeResult, FileSystemError> =>
  Effect.gen(function* () {
    const p = env.pipeline
    const results = resultsOf(ctx, t).sort((a, b) => (a.caseId < b.caseId ? -1 : 1))
    const opts = options(env, failedOf(ctx, t))
    const overall = evaluate(results, opts)
    const folds = ctx.inputs
      .filter((i) => i.id.startsWith("evaluate/"))
      .map((i) => ({ fold: i.json.fold as number, evaluation: i.json.evaluation as unknown as Evaluation }))
    yield* ctx.writeFile("summary.json", JSON.stringify({ pipeline: p.name, ...overall, folds }, null, 2) + "\n")
    yield* ctx.writeFile("summary.md", summaryMarkdown(p.name, overall, folds))
    yield* ctx.writeFile("cases.json", JSON.stringify(results, null, 2) + "\n")
    yield* ctx.writeFile("cases.csv", casesCsv(results, opts.thresholds, opts.t))
    const publish: Publication[] = []
    for (const i of ctx.inputs.filter((i) => i.id in t.cases)) {
      const r = i.json as unknown as CaseResult
      publish.push({ from: i.filePath(roundMaskFile(finalRound(r.rounds, opts.t))), to: `predictions/${r.caseId}.nii.gz` })
      if (p.evaluation.saveRounds) {
        for (const round of r.rounds) publish.push({ from: i.filePath(roundMaskFile(round.round)), to: `predictions/${r.caseId}/${roundMaskFile(round.round)}` })
      }
    }
    return asJson({ final: overall.final, coarse: overall.coarse, failedCases: overall.failedCases, publish })
  })
