/** `rstn config FILE [--set PATH=VALUE] [--origins]`: the fully resolved pipeline, as YAML. */
import { Effect } from "effect"
import { booleanFlag, listFlag } from "../args.ts"
import type { Command } from "../command.ts"
import { loadPipeline } from "../../dsl/load.ts"
import { pipelineYaml } from "../../dsl/print.ts"

export const configCommand: Command = {
  spec: {
    name: "config",
    summary: "Print a pipeline fully resolved: extends merged, overrides applied, every default filled in.",
    positionals: "FILE",
    minPositionals: 1,
    maxPositionals: 1,
    flags: {
      set: { kind: "string", multiple: true, placeholder: "PATH=VALUE", description: "Override a key, e.g. test.stages[2].converge-until.threshold=0.95." },
      origins: { kind: "boolean", description: "Comment each value with the file:line (or flag) that set it, or 'default'." }
    },
    details: "The output is itself a valid pipeline file (paths are absolute)."
  },
  run: (args) =>
    Effect.gen(function* () {
      const resolved = yield* loadPipeline(args.positionals[0]!, listFlag(args, "set"))
      const text = pipelineYaml(resolved, { origins: booleanFlag(args, "origins") })
      yield* Effect.sync(() => process.stdout.write(text))
      return 0
    })
}
