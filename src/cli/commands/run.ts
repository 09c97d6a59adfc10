/** `rstn run FILE`: train, test and evaluate a pipeline, resumably. */
import { Effect } from "effect"
import { loadPipeline } from "../../dsl/load.ts"
import { parseBackendChoice } from "../../runtime/backend.ts"
import { flagOverrides, runPipeline } from "../../runtime/run-pipeline.ts"
import { booleanFlag, listFlag, stringFlag, type CommandSpec } from "../args.ts"
import type { Command } from "../command.ts"

export const runSpec: CommandSpec = {
  name: "run",
  summary: "Run a pipeline: train, coarse-to-fine test and evaluate, reusing finished work.",
  positionals: "FILE",
  minPositionals: 1,
  maxPositionals: 1,
  flags: {
    set: { kind: "string", multiple: true, placeholder: "KEY=VALUE", description: "Override a pipeline key, e.g. training.batch-size=4." },
    backend: { kind: "string", placeholder: "NAME", description: "Tensor backend: auto, node-gpu, node, wasm or cpu (the pipeline's run.backend)." },
    "run-dir": { kind: "string", placeholder: "DIR", description: "Run directory (the pipeline's run.dir)." },
    tui: { kind: "boolean", default: true, description: "Show the terminal UI when stdout is a terminal; --no-tui prints log lines." }
  },
  details: [
    "Work is cached in the run directory under keys of the configuration it read: a rerun skips",
    "what finished, and an interrupted run (Ctrl-C, a crash) continues with `rstn resume DIR`.",
    "`rstn plan FILE` shows what would run and why. Results: DIR/summary.md, summary.json,",
    "cases.csv, predictions/CASE.nii.gz; events: DIR/events.jsonl (`rstn watch DIR`)."
  ].join("\n")
}

export const runCommand: Command = {
  spec: runSpec,
  run: (args) =>
    Effect.gen(function* () {
      const backend = stringFlag(args, "backend")
      if (backend !== undefined) yield* parseBackendChoice(backend, "--backend")
      const overrides = [...listFlag(args, "set"), ...flagOverrides({ backend, runDir: stringFlag(args, "run-dir") })]
      const file = args.positionals[0]!
      const resolved = yield* loadPipeline(file, overrides)
      return yield* runPipeline({
        file,
        overrides,
        pipeline: resolved.pipeline,
        tui: booleanFlag(args, "tui") && process.stdout.isTTY === true
      })
    })
}
