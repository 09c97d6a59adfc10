/** `rstn schema [--out FILE]`: the JSON Schema of pipeline files, for editors. */
import * as Effect from "effect/Effect"
import { stringFlag } from "../args.ts"
import type { Run } from "../command.ts"
import { pipelineJsonSchema } from "../../dsl/json-schema.ts"
import { atomicWrite } from "../../runtime/atomic-write.ts"

export const schemaText = (): string => `${JSON.stringify(pipelineJsonSchema(), null, 2)}\n`

export const run: Run = (args) =>
  Effect.gen(function* () {
    const out = stringFlag(args, "out")
    if (out === undefined) yield* Effect.sync(() => process.stdout.write(schemaText()))
    else yield* atomicWrite(out, schemaText())
    return 0
  })
