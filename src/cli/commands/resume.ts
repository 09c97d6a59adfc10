/** `rstn resume RUN_DIR`: continue a run with the pipeline it was started with. */
import { Effect } from "effect"
import * as path from "node:path"
import { readRunRecord, runPipeline } from "../../runtime/run-pipeline.ts"
import { booleanFlag } from "../args.ts"
import type { Run } from "../command.ts"
import { terminalView } from "../terminal-view.ts"

export const run: Run = (args) =>
  Effect.gen(function* () {
    const runDir = path.resolve(args.positionals[0]!)
    const record = yield* readRunRecord(runDir)
    return yield* runPipeline({
      file: record.file,
      overrides: record.overrides,
      // The directory may have moved since the run started.
      pipeline: { ...record.pipeline, run: { ...record.pipeline.run, dir: runDir } },
      ...(booleanFlag(args, "tui") && process.stdout.isTTY === true ? { observe: yield* terminalView } : {})
    })
  })
