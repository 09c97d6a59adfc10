/**
 * A located problem in a pipeline file (or a `--set` flag), and the error that carries all of
 * them. Every stage of loading a pipeline collects diagnostics instead of stopping at the first
 * one; they become text only in `src/cli/render-error.ts` (`file:line:col: message (hint)`).
 */
import * as Data from "effect/Data"
import * as Schema from "effect/Schema"

/** A closed set, so tests and tools can match problems without parsing messages. */
export const DiagnosticCode = Schema.Literal(
  // reading and YAML syntax
  "read-failed",
  "too-large",
  "not-text",
  "too-deep",
  "empty",
  "yaml-syntax",
  "tab-indent",
  "duplicate-key",
  "alias-limit",
  "unsupported-value",
  "non-finite",
  "not-a-mapping",
  // extends and overrides
  "extends-cycle",
  "extends-invalid",
  "override-invalid",
  // sweeps (sweep.ts)
  "sweep-invalid",
  // schema
  "unknown-key",
  "missing-key",
  "unknown-stage",
  "type",
  // cross-field checks
  "range",
  "duplicate",
  "reference",
  "stage-order",
  "inconsistent",
  // more problems than are reported (load.ts MAX_DIAGNOSTICS)
  "more-problems"
)
export type DiagnosticCode = typeof DiagnosticCode.Type

export const Diagnostic = Schema.Struct({
  /** The file, or `--set PATH=VALUE` for a value that came from the command line. */
  file: Schema.String,
  /** 1-based. */
  line: Schema.Number,
  /** 1-based. */
  col: Schema.Number,
  code: DiagnosticCode,
  message: Schema.String,
  /** The fix, when there is one to suggest. */
  hint: Schema.optional(Schema.String)
})
export type Diagnostic = typeof Diagnostic.Type

/** A place in a source: the file (or flag) and a 1-based line and column. */
export interface Origin {
  readonly file: string
  readonly line: number
  readonly col: number
}

export const diagnostic = (
  at: Origin,
  code: DiagnosticCode,
  message: string,
  hint?: string
): Diagnostic => (hint === undefined ? { file: at.file, line: at.line, col: at.col, code, message } : { file: at.file, line: at.line, col: at.col, code, message, hint })

/**
 * Orders diagnostics by file (in the order the files were met), then position, and drops exact
 * repeats (one value reached twice, e.g. through a YAML alias).
 */
export const sortDiagnostics = (ds: ReadonlyArray<Diagnostic>): ReadonlyArray<Diagnostic> => {
  const fileOrder = new Map<string, number>()
  for (const d of ds) if (!fileOrder.has(d.file)) fileOrder.set(d.file, fileOrder.size)
  const seen = new Set<string>()
  const unique = ds.filter((d) => {
    const k = `${d.file}\0${d.line}\0${d.col}\0${d.message}`
    if (seen.has(k)) return false
    seen.add(k)
    return true
  })
  return unique
    .map((d, i) => [d, i] as const)
    .sort(([a, i], [b, j]) => fileOrder.get(a.file)! - fileOrder.get(b.file)! || a.line - b.line || a.col - b.col || i - j)
    .map(([d]) => d)
}

/** Everything wrong with one pipeline, all at once. */
export class PipelineError extends Data.TaggedError("PipelineError")<{
  /** The pipeline file that was asked for. */
  readonly file: string
  readonly diagnostics: ReadonlyArray<Diagnostic>
}> {
  override get message(): string {
    const n = this.diagnostics.length
    const first = this.diagnostics[0]
    const head = `${this.file}: ${n} problem${n === 1 ? "" : "s"}`
    return first === undefined ? head : `${head}; first: ${first.file}:${first.line}:${first.col}: ${first.message}`
  }
}
