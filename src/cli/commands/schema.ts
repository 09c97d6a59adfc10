/** `rstn schema [--out FILE]`: the JSON Schema of pipeline files, for editors. */
import { Effect } from "effect"
import { stringFlag } from "../args.ts"
import type { Command } from "../command.ts"
import { pipelineJsonSchema } from "../../dsl/json-schema.ts"
import { atomicWrite } from "../../runtime/atomic-write.ts"

export const schemaText = (): string => `${JSON.stringify(pipelineJsonSchema(), null, 2)}\n`

export const schemaCommand: Command = {
  spec: {
    name: "schema",
    summary: "Print the JSON Schema of pipeline files (for yaml-language-server and other editors).",
    positionals: "",
    maxPositionals: 0,
    flags: {
      out: { kind: "string", placeholder: "FILE", description: "Write it to FILE instead of stdout." }
    },
    details:
      "Draft-07. Use it from a pipeline file with a first line like\n  # yaml-language-server: $schema=./pipeline.schema.json\nFiles with `extends` are partial: every key is optional in them."
  },
  run: (args) =>
    Effect.gen(function* () {
      const out = stringFlag(args, "out")
      if (out === undefined) yield* Effect.sync(() => process.stdout.write(schemaText()))
      else yield* atomicWrite(out, schemaText())
      return 0
    })
}
