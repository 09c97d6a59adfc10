/** `rstn validate FILE... [--set PATH=VALUE]`: checks pipeline files without running anything. */
import { Effect, Either } from "effect"
import { booleanFlag, listFlag } from "../args.ts"
import type { Command } from "../command.ts"
import { renderError } from "../render-error.ts"
import { loadPipeline } from "../../dsl/load.ts"

export const validateCommand: Command = {
  spec: {
    name: "validate",
    summary: "Check pipeline files (schema, extends, overrides, stage order) without running them.",
    positionals: "FILE...",
    minPositionals: 1,
    flags: {
      set: { kind: "string", multiple: true, placeholder: "PATH=VALUE", description: "Override a key in every file, e.g. training.batch-size=4." },
      json: { kind: "boolean", description: "Print the results as JSON on stdout: [{ file, ok, diagnostics }]." }
    },
    details:
      "Prints every problem as file:line:col: message (hint) and exits 1 if any file has one, 0 when all are valid,\nso it can run in CI. Files that `extends` others are checked merged with their bases."
  },
  run: (args) =>
    Effect.gen(function* () {
      const sets = listFlag(args, "set")
      const json = booleanFlag(args, "json")
      const results: Array<{ file: string; ok: boolean; diagnostics: ReadonlyArray<unknown> }> = []
      for (const file of args.positionals) {
        const r = yield* Effect.either(loadPipeline(file, sets))
        results.push({ file, ok: Either.isRight(r), diagnostics: Either.isLeft(r) ? r.left.diagnostics : [] })
        if (json) continue
        if (Either.isRight(r)) yield* Effect.sync(() => process.stdout.write(`${file}: ok\n`))
        else yield* Effect.sync(() => process.stderr.write(`${renderError(r.left)}\n`))
      }
      if (json) yield* Effect.sync(() => process.stdout.write(`${JSON.stringify(results, null, 2)}\n`))
      return results.every((r) => r.ok) ? 0 : 1
    })
}
