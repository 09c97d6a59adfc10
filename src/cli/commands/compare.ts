/** `rstn compare RUN_DIR... [--json | --html] [--out FILE]`: finished runs side by side (compare.ts). */
import { Console, Effect } from "effect"
import { atomicWrite } from "../../runtime/atomic-write.ts"
import { compareDirs } from "../../runtime/compare.ts"
import { comparisonHtml, comparisonJson, comparisonMarkdown } from "../../runtime/compare-format.ts"
import { booleanFlag, stringFlag, UsageError } from "../args.ts"
import type { Run } from "../command.ts"

export const run: Run = (args) =>
  Effect.gen(function* () {
    const json = booleanFlag(args, "json")
    const html = booleanFlag(args, "html")
    if (json && html) return yield* new UsageError({ command: "compare", message: "--json and --html ask for two formats", hint: "give one of them" })
    const comparison = yield* compareDirs(args.positionals)
    const text = json ? comparisonJson(comparison) : html ? comparisonHtml(comparison) : comparisonMarkdown(comparison)
    const out = stringFlag(args, "out")
    if (out === undefined) yield* Console.log(text.trimEnd())
    else yield* atomicWrite(out, text)
    return 0
  })
