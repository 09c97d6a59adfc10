/** `rstn run FILE`: train, test and evaluate a pipeline, resumably. */
import { Effect } from "effect"
import { loadPipeline } from "../../dsl/load.ts"
import { expandSweep, SweepFileError } from "../../dsl/sweep.ts"
import { flagOverrides, runPipeline } from "../../runtime/run-pipeline.ts"
import { booleanFlag, listFlag, stringFlag } from "../args.ts"
import type { Run } from "../command.ts"
import { terminalView } from "../terminal-view.ts"

export const run: Run = (args) =>
  Effect.gen(function* () {
    // `--backend` was checked against the backend names when the flags were parsed.
    const backend = stringFlag(args, "backend")
    const overrides = [...listFlag(args, "set"), ...flagOverrides({ backend, runDir: stringFlag(args, "run-dir") })]
    const file = args.positionals[0]!
    const resolved = yield* loadPipeline(file, overrides)
    if (resolved.sweep !== undefined) {
      return yield* new SweepFileError({ file, runs: expandSweep(resolved.sweep).length, hint: `rstn sweep ${file} runs them; rstn plan ${file} shows what they share` })
    }
    return yield* runPipeline({
      file,
      overrides,
      pipeline: resolved.pipeline,
      ...(booleanFlag(args, "tui") && process.stdout.isTTY === true ? { observe: yield* terminalView } : {})
    })
  })
