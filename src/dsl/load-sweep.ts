/**
 * Loading a sweep (sweep.ts): the file itself, then each of its runs, every run resolved and
 * checked like a pipeline file of its own, with the problems of all runs reported at once (a
 * value that is wrong for one run is reported once, at its line in the sweep).
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { type Diagnostic, diagnostic, PipelineError, sortDiagnostics } from "./diagnostic.ts"
import { readFileText, type ReadText, resolvePipeline, type ResolvedPipeline } from "./load.ts"
import type { Pipeline } from "./pipeline.ts"
import { expandSweep, MAX_RUNS, parseGridFlag, type SweepAxis } from "./sweep.ts"

export interface SweepRun {
  /** What the run's name and directory add to the file's: `kernel-1x1`, `threshold-0.95`. */
  readonly slug: string
  /** The values the run sets, as `path=value`. */
  readonly describe: ReadonlyArray<string>
  /** Resolved; named `<name>-<slug>`, in `<run.dir>-<slug>`, sharing the store of its runs root unless the file says otherwise. */
  readonly pipeline: Pipeline
}

export interface ResolvedSweep {
  readonly file: string
  /** The file without its sweep. */
  readonly base: ResolvedPipeline
  readonly runs: ReadonlyArray<SweepRun>
}

const NAME_MAX = 128

export const resolveSweep = (
  file: string,
  overrides: ReadonlyArray<string>,
  gridFlags: ReadonlyArray<string>,
  read: ReadText,
  cwd: string = process.cwd()
): Effect.Effect<ResolvedSweep, PipelineError> =>
  Effect.gen(function* () {
    const base = yield* resolvePipeline(file, overrides, read, cwd)
    const diagnostics: Diagnostic[] = []
    const flagAxes: SweepAxis[] = []
    for (const flag of gridFlags) {
      const axis = parseGridFlag(flag)
      if (Either.isLeft(axis)) diagnostics.push(axis.left)
      else flagAxes.push(axis.right)
    }
    const spec = { variants: base.sweep?.variants ?? [], grid: [...(base.sweep?.grid ?? []), ...flagAxes] }
    const start = { file, line: 1, col: 1 }
    if (diagnostics.length === 0 && spec.variants.length === 0 && spec.grid.length === 0) {
      diagnostics.push(diagnostic(start, "sweep-invalid", `${file} has no sweep: section and no --grid was given: it is one run`, "rstn run FILE runs it; or add --grid PATH=[a,b]"))
    }
    const points = diagnostics.length === 0 ? expandSweep(spec) : []
    if (points.length > MAX_RUNS) {
      diagnostics.push(diagnostic(start, "sweep-invalid", `the sweep has ${points.length} runs; at most ${MAX_RUNS}`, "sweep fewer values, or split it into several files"))
    }
    const runs: SweepRun[] = []
    for (const point of points.length > MAX_RUNS ? [] : points) {
      const r = yield* Effect.either(resolvePipeline(file, overrides, read, cwd, { point: point.assignments }))
      if (Either.isLeft(r)) {
        diagnostics.push(...r.left.diagnostics)
        continue
      }
      const p = r.right.pipeline
      const name = `${base.pipeline.name}-${point.slug}`
      if (name.length > NAME_MAX) {
        diagnostics.push(diagnostic(point.assignments[0]?.at ?? start, "sweep-invalid", `the run name ${name.slice(0, 40)}... is longer than ${NAME_MAX} characters`, "use a shorter name or shorter variant names"))
        continue
      }
      runs.push({
        slug: point.slug,
        describe: point.describe,
        pipeline: { ...p, name, run: { ...p.run, dir: `${base.pipeline.run.dir}-${point.slug}`, store: p.run.store ?? "auto" } }
      })
    }
    // A value wrong in every run (or in all runs of one grid value) is one problem at one place.
    const seen = new Set<string>()
    const unique = diagnostics.filter((d) => {
      const id = `${d.file}:${d.line}:${d.col}:${d.message}`
      return seen.has(id) ? false : (seen.add(id), true)
    })
    if (unique.length > 0) return yield* Effect.fail(new PipelineError({ file, diagnostics: sortDiagnostics(unique) }))
    return { file, base, runs }
  })

/** Loads a sweep file (and the files it extends) with `--set` flags and `--grid` axes. */
export const loadSweep = (file: string, overrides: ReadonlyArray<string>, gridFlags: ReadonlyArray<string> = []) =>
  resolveSweep(file, overrides, gridFlags, readFileText)
