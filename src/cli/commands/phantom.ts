/**
 * `rstn phantom OUT`: write a synthetic abdominal CT dataset (Decathlon layout) with a small,
 * low-contrast pancreas-like target — the embedded default dataset and the test fixture.
 */
import { Effect } from "effect"
import { didYouMean } from "../../dsl/did-you-mean.ts"
import { PHANTOM_SIZES, type PhantomSize } from "../../ops/phantom/grid.ts"
import { writePhantomDataset } from "../../runtime/phantom-dataset.ts"
import { type CommandSpec, numberFlag, stringFlag, UsageError } from "../args.ts"
import type { Command } from "../command.ts"

export const phantomSpec: CommandSpec = {
  name: "phantom",
  summary: "Write a synthetic abdominal CT dataset with a pancreas-like target (Decathlon layout).",
  positionals: "OUT",
  minPositionals: 1,
  maxPositionals: 1,
  flags: {
    cases: { kind: "number", placeholder: "N", description: "Number of cases.", default: 20 },
    seed: { kind: "number", placeholder: "S", description: "Seed; case i depends only on (seed, i, size).", default: 0 },
    size: {
      kind: "string",
      placeholder: "SIZE",
      description: "small (96x96x48), medium (192x192x96) or full (512x512xL, L in 181..466).",
      default: "small"
    }
  },
  details: [
    "Writes OUT/dataset.json, OUT/imagesTr/case_NNN.nii.gz (int16 HU) and OUT/labelsTr/case_NNN.nii.gz",
    "(uint8, 1 = target). OUT must be new, empty or an earlier phantom dataset. Rerunning with the same",
    "arguments keeps the cases already written and completes an interrupted run; the files are the same",
    "bytes either way."
  ].join("\n")
}

export interface PhantomRequest {
  readonly out: string
  readonly cases: number
  readonly seed: number
  readonly size: string
}

/** Writes the dataset, reporting each case on `stdout`; returns the exit code. */
export const runPhantom = (request: PhantomRequest, stdout: (line: string) => void) =>
  Effect.gen(function* () {
    if (!(PHANTOM_SIZES as ReadonlyArray<string>).includes(request.size)) {
      const guess = didYouMean(request.size, PHANTOM_SIZES)
      return yield* Effect.fail(
        new UsageError({
          command: "phantom",
          message: `--size must be one of ${PHANTOM_SIZES.join(", ")}, got '${request.size}'`,
          hint: guess ? `did you mean --size ${guess}?` : "e.g. --size small"
        })
      )
    }
    const started = Date.now()
    const summary = yield* writePhantomDataset({
      out: request.out,
      cases: request.cases,
      seed: request.seed,
      size: request.size as PhantomSize,
      onCase: ({ id, status }) => stdout(`${id}  ${status}`)
    })
    const seconds = ((Date.now() - started) / 1000).toFixed(1)
    stdout(`${summary.datasetJson}: ${request.cases} cases (${summary.written} written, ${summary.kept} kept) in ${seconds} s`)
    return 0
  })

export const phantomCommand: Command = {
  spec: phantomSpec,
  run: (args) =>
    runPhantom(
      {
        out: args.positionals[0]!,
        cases: numberFlag(args, "cases") ?? 20,
        seed: numberFlag(args, "seed") ?? 0,
        size: stringFlag(args, "size") ?? "small"
      },
      (line) => process.stdout.write(line + "\n")
    )
}
