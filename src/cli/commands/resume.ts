/** `rstn resume RUN_DIR`: continue a run with the pipeline it was started with. */
import { Effect } from "effect"
import * as path from "node:path"
import { readRunRecord, runPipeline } from "../../runtime/run-pipeline.ts"
import { booleanFlag, type CommandSpec } from "../args.ts"
import type { Command } from "../command.ts"

export const resumeSpec: CommandSpec = {
  name: "resume",
  summary: "Continue an interrupted or failed run from where it stopped.",
  positionals: "RUN_DIR",
  minPositionals: 1,
  maxPositionals: 1,
  flags: {
    tui: { kind: "boolean", default: true, description: "Show the terminal UI when stdout is a terminal; --no-tui prints log lines." }
  },
  details:
    "Runs the resolved pipeline saved in RUN_DIR/pipeline.json (later edits of the YAML file do not\napply; use `rstn run FILE` for those). Finished nodes are reused; training continues from its last checkpoint."
}

export const resumeCommand: Command = {
  spec: resumeSpec,
  run: (args) =>
    Effect.gen(function* () {
      const runDir = path.resolve(args.positionals[0]!)
      const record = yield* readRunRecord(runDir)
      return yield* runPipeline({
        file: record.file,
        overrides: record.overrides,
        // The directory may have moved since the run started.
        pipeline: { ...record.pipeline, run: { ...record.pipeline.run, dir: runDir } },
        tui: booleanFlag(args, "tui") && process.stdout.isTTY === true
      })
    })
}
