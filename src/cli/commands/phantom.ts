/**
 * `rstn phantom OUT`: write a synthetic abdominal CT dataset (Decathlon layout) with a small,
 * low-contrast pancreas-like target — the embedded default dataset and the test fixture.
 */
import { Effect } from "effect"
import { didYouMean } from "../../dsl/did-you-mean.ts"
import { PHANTOM_SIZES, type PhantomSize } from "../../ops/phantom/grid.ts"
import { type PhantomFormat, writePhantomDataset } from "../../runtime/phantom-dataset.ts"
import { numberFlag, stringFlag, UsageError } from "../args.ts"
import type { Run } from "../command.ts"

export interface PhantomRequest {
  readonly out: string
  readonly cases: number
  readonly seed: number
  readonly size: string
  /** Default "nifti". */
  readonly format?: PhantomFormat
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
      format: request.format,
      onCase: ({ id, status }) => stdout(`${id}  ${status}`)
    })
    const seconds = ((Date.now() - started) / 1000).toFixed(1)
    stdout(`${summary.listing}: ${request.cases} cases (${summary.written} written, ${summary.kept} kept) in ${seconds} s`)
    return 0
  })

export const run: Run = (args) =>
  runPhantom(
    {
      out: args.positionals[0]!,
      cases: numberFlag(args, "cases") ?? 20,
      seed: numberFlag(args, "seed") ?? 0,
      size: stringFlag(args, "size") ?? "small",
      // The spec's choices have checked the value.
      format: (stringFlag(args, "format") ?? "nifti") as PhantomFormat
    },
    (line) => process.stdout.write(line + "\n")
  )
