/**
 * `rstn compare`: finished runs side by side in the layout of the paper's Table 1 (DSC mean ±
 * std, max, min per run), with the DSC and average rounds at each threshold t a run evaluated,
 * its training time, and each run's per-case DSC paired against the first run's with a Wilcoxon
 * signed-rank p-value. Reads the files a run publishes (summary.json, cases.json) and its
 * training nodes' manifests; refuses runs tested on different cases, since paired differences
 * and the means themselves would then compare different things.
 */
import { Data, Effect, Either } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { wilcoxonSignedRank, type WilcoxonResult } from "../ops/wilcoxon.ts"
import type { Summary } from "../ops/metrics.ts"
import { decodeManifest } from "./manifest.ts"
import { finalRound, type TestCaseResult } from "./nodes/test-case.ts"

export class CompareError extends Data.TaggedError("CompareError")<{
  readonly message: string
  readonly hint: string
}> {}

export interface ThresholdFigures {
  readonly t: number
  readonly dsc: Summary
  readonly converged: number
  readonly meanRounds: number | null
}

export interface RunFigures {
  /** The directory as given on the command line. */
  readonly dir: string
  readonly pipeline: string
  /** The run's own stopping threshold (its final DSC is taken there). */
  readonly t: number | null
  readonly cases: number
  readonly final: Summary
  readonly coarse: Summary | null
  readonly thresholds: ReadonlyArray<ThresholdFigures>
  /** Final DSC per case id. */
  readonly perCase: Readonly<Record<string, number>>
  readonly training: TrainingTime
}

/** The training nodes' own durations (the compute their networks cost, wherever they ran). */
export interface TrainingTime {
  readonly ms: number
  readonly nodes: number
  /** Of those, the ones this run took finished from the shared store (trained by another run). */
  readonly shared: number
}

export interface Paired {
  readonly dir: string
  /** This run's final DSC minus the first run's, per case (in DSC units, 0..1). */
  readonly differences: Readonly<Record<string, number>>
  readonly meanDifference: number
  readonly medianDifference: number
  readonly better: number
  readonly worse: number
  readonly equal: number
  readonly wilcoxon: WilcoxonResult
}

export interface Comparison {
  readonly runs: ReadonlyArray<RunFigures>
  /** Every threshold any run evaluated, ascending. */
  readonly thresholds: ReadonlyArray<number>
  readonly caseIds: ReadonlyArray<string>
  /** Runs 2.. against run 1. */
  readonly paired: ReadonlyArray<Paired>
}

const readJson = (file: string, what: string, dir: string): Either.Either<unknown, CompareError> => {
  if (!fs.existsSync(file)) {
    return Either.left(
      new CompareError({
        message: `${dir} has no ${path.basename(file)}: it is not a finished run`,
        hint: `rstn status ${dir} says where it stands; a run publishes ${path.basename(file)} when its report node finishes`
      })
    )
  }
  try {
    return Either.right(JSON.parse(fs.readFileSync(file, "utf8")))
  } catch (e) {
    return Either.left(new CompareError({ message: `cannot read ${file} (${what}): ${(e as Error).message}`, hint: `run rstn resume ${dir} to publish it again` }))
  }
}

/** Manifests of the run's training nodes (`nodes/train/**\/node.json`). */
const trainingTime = (runDir: string): TrainingTime => {
  const root = path.join(runDir, "nodes", "train")
  if (!fs.existsSync(root)) return { ms: 0, nodes: 0, shared: 0 }
  let ms = 0
  let nodes = 0
  let shared = 0
  for (const d of fs.readdirSync(root, { recursive: true, withFileTypes: true }) as fs.Dirent[]) {
    if (!d.isFile() || d.name !== "node.json") continue
    const m = decodeManifest(fs.readFileSync(path.join(d.parentPath, d.name), "utf8"))
    if (Either.isLeft(m)) continue
    ms += m.right.durationMs
    nodes++
    if (m.right.sharedFrom !== undefined) shared++
  }
  return { ms, nodes, shared }
}

export const readRun = (dir: string): Either.Either<RunFigures, CompareError> =>
  Either.gen(function* () {
    const summary = (yield* readJson(path.join(dir, "summary.json"), "the run's summary", dir)) as {
      pipeline: string
      t: number | null
      cases: number
      final: Summary
      coarse: Summary | null
      thresholds: ThresholdFigures[]
    }
    const cases = (yield* readJson(path.join(dir, "cases.json"), "the run's per-case results", dir)) as TestCaseResult[]
    if (!Array.isArray(cases) || typeof summary !== "object" || summary === null || !Array.isArray(summary.thresholds)) {
      return yield* Either.left(new CompareError({ message: `${dir}: summary.json or cases.json is not what rstn writes`, hint: `run rstn resume ${dir} to publish them again` }))
    }
    const perCase = Object.fromEntries(cases.map((c) => [c.caseId, c.rounds[finalRound(c.rounds, summary.t)]!.dsc]))
    return {
      dir,
      pipeline: summary.pipeline,
      t: summary.t,
      cases: cases.length,
      final: summary.final,
      coarse: summary.coarse,
      thresholds: summary.thresholds,
      perCase,
      training: trainingTime(dir)
    } satisfies RunFigures
  })

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length === 0 ? NaN : s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

const listed = (ids: ReadonlyArray<string>): string => (ids.length <= 8 ? ids.join(", ") : `${ids.slice(0, 8).join(", ")} and ${ids.length - 8} more`)

/** The comparison of runs already read; fails when two runs were tested on different cases. */
export const compareRuns = (runs: ReadonlyArray<RunFigures>): Either.Either<Comparison, CompareError> => {
  const first = runs[0]!
  const ids = Object.keys(first.perCase).sort()
  for (const r of runs.slice(1)) {
    const own = new Set(Object.keys(r.perCase))
    const onlyFirst = ids.filter((id) => !own.has(id))
    const onlyThis = [...own].filter((id) => !(id in first.perCase)).sort()
    if (onlyFirst.length > 0 || onlyThis.length > 0) {
      return Either.left(
        new CompareError({
          message:
            `${first.dir} and ${r.dir} were tested on different cases` +
            (onlyFirst.length > 0 ? `; only in ${first.dir}: ${listed(onlyFirst)}` : "") +
            (onlyThis.length > 0 ? `; only in ${r.dir}: ${listed(onlyThis)}` : ""),
          hint: "compare runs of the same dataset and folds; a case that failed in one run is missing from its results (rstn resume it)"
        })
      )
    }
  }
  const paired = runs.slice(1).map((r): Paired => {
    const d = ids.map((id) => r.perCase[id]! - first.perCase[id]!)
    return {
      dir: r.dir,
      differences: Object.fromEntries(ids.map((id, i) => [id, d[i]!])),
      meanDifference: d.reduce((a, b) => a + b, 0) / d.length,
      medianDifference: median(d),
      better: d.filter((x) => x > 0).length,
      worse: d.filter((x) => x < 0).length,
      equal: d.filter((x) => x === 0).length,
      wilcoxon: wilcoxonSignedRank(d)
    }
  })
  const thresholds = [...new Set(runs.flatMap((r) => r.thresholds.map((t) => t.t)))].sort((a, b) => a - b)
  return Either.right({ runs, thresholds, caseIds: ids, paired })
}

/** Reads every run, then compares them. */
export const compareDirs = (dirs: ReadonlyArray<string>): Effect.Effect<Comparison, CompareError> =>
  Effect.suspend(() => {
    const runs: RunFigures[] = []
    for (const dir of dirs) {
      const r = readRun(dir)
      if (Either.isLeft(r)) return Effect.fail(r.left)
      runs.push(r.right)
    }
    return Either.match(compareRuns(runs), { onLeft: Effect.fail, onRight: Effect.succeed })
  })
