/** `rstn validate FILE... [--set PATH=VALUE] [--format text|json|github]`: checks pipeline files without running anything. */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type { Diagnostic } from "../../dsl/diagnostic.ts"
import { loadPipeline } from "../../dsl/load.ts"
import { loadSweep } from "../../dsl/load-sweep.ts"
import { booleanFlag, listFlag, stringFlag, UsageError } from "../args.ts"
import type { Run } from "../command.ts"
import { renderAnnotation, renderLocated } from "../render-error.ts"

export type Format = "text" | "json" | "github"

export interface FileResult {
  readonly file: string
  readonly ok: boolean
  readonly diagnostics: ReadonlyArray<Diagnostic>
}

/**
 * The results in a format. text: `file: ok` on stdout, problems as `file:line:col: message`
 * on stderr; json: one document on stdout; github: `file: ok` and one workflow command per
 * problem, all on stdout, where the Actions runner reads them.
 */
export const renderResults = (results: ReadonlyArray<FileResult>, format: Format): { readonly stdout: string; readonly stderr: string } => {
  if (format === "json") return { stdout: `${JSON.stringify(results, null, 2)}\n`, stderr: "" }
  let stdout = ""
  let stderr = ""
  for (const r of results) {
    if (r.ok) stdout += `${r.file}: ok\n`
    else if (format === "github") stdout += r.diagnostics.map((d) => `${renderAnnotation(d)}\n`).join("")
    else stderr += r.diagnostics.map((d) => `${renderLocated(d)}\n`).join("")
  }
  return { stdout, stderr }
}

export const run: Run = (args) =>
  Effect.gen(function* () {
    const format = (stringFlag(args, "format") ?? "text") as Format
    if (booleanFlag(args, "json") && format !== "text" && format !== "json") {
      return yield* new UsageError({ command: "validate", message: `--json and --format ${format} ask for two formats`, hint: "give one of them" })
    }
    const sets = listFlag(args, "set")
    const results: FileResult[] = []
    for (const file of args.positionals) {
      const r = yield* Effect.either(loadPipeline(file, sets))
      // A sweep is valid when every one of its runs is.
      const runs = Either.isRight(r) && r.right.sweep !== undefined ? yield* Effect.either(loadSweep(file, sets)) : undefined
      const problems = Either.isLeft(r) ? r.left.diagnostics : runs !== undefined && Either.isLeft(runs) ? runs.left.diagnostics : []
      results.push({ file, ok: problems.length === 0, diagnostics: problems })
    }
    const out = renderResults(results, booleanFlag(args, "json") ? "json" : format)
    yield* Effect.sync(() => {
      process.stdout.write(out.stdout)
      process.stderr.write(out.stderr)
    })
    return results.every((r) => r.ok) ? 0 : 1
  })
