/** `rstn config FILE [--set PATH=VALUE] [--origins]`: the fully resolved pipeline, as YAML. */
import * as Effect from "effect/Effect"
import { booleanFlag, listFlag } from "../args.ts"
import type { Run } from "../command.ts"
import { loadPipeline } from "../../dsl/load.ts"
import { pipelineYaml } from "../../dsl/print.ts"

export const run: Run = (args) =>
  Effect.gen(function* () {
    const resolved = yield* loadPipeline(args.positionals[0]!, listFlag(args, "set"))
    const text = pipelineYaml(resolved, { origins: booleanFlag(args, "origins") })
    yield* Effect.sync(() => process.stdout.write(text))
    return 0
  })
