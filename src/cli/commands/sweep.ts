/** `rstn sweep FILE [--grid PATH=[a,b]...]`: every run of a sweep, sharing finished nodes, then compared (run-sweep.ts). */
import { Effect } from "effect"
import { loadSweep } from "../../dsl/load-sweep.ts"
import { flagOverrides } from "../../runtime/run-pipeline.ts"
import { runSweep } from "../../runtime/run-sweep.ts"
import { listFlag, stringFlag } from "../args.ts"
import type { Run } from "../command.ts"

export const run: Run = (args) =>
  Effect.gen(function* () {
    // `--backend` was checked against the backend names when the flags were parsed.
    const overrides = [...listFlag(args, "set"), ...flagOverrides({ backend: stringFlag(args, "backend") })]
    const sweep = yield* loadSweep(args.positionals[0]!, overrides, listFlag(args, "grid"))
    return yield* runSweep({ sweep, overrides })
  })
