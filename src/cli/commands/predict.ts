/** `rstn predict RUN_DIR_OR_MODEL -i IMAGE... -o DIR`: masks of unlabelled scans. */
import { Effect, Fiber } from "effect"
import { predictLine } from "../../runtime/predict/events.ts"
import { predict } from "../../runtime/predict/predict.ts"
import { openTrainedModel } from "../../runtime/predict/trained-model.ts"
import { booleanFlag, listFlag, numberFlag, stringFlag, UsageError } from "../args.ts"
import type { Run } from "../command.ts"

export const run: Run = (args) =>
  Effect.gen(function* () {
    const inputs = listFlag(args, "input")
    const out = stringFlag(args, "out")
    const usage = (message: string, hint: string) => new UsageError({ command: "predict", message, hint })
    if (inputs.length === 0) return yield* usage("no scans to segment", "name them with -i IMAGE... or -i DIR")
    if (out === undefined) return yield* usage("no output directory", "name it with -o DIR")
    const fold = numberFlag(args, "fold")
    if (fold !== undefined && stringFlag(args, "folds") !== undefined) return yield* usage("--fold and --folds exclude each other", "give one fold, or --folds all")
    if (fold !== undefined && fold < 0) return yield* usage(`--fold ${fold} is not a fold`, "folds count from 0")
    const model = yield* openTrainedModel(args.positionals[0]!)
    const tty = booleanFlag(args, "tui") && process.stdout.isTTY === true
    const ui = tty ? (yield* Effect.promise(() => import("../../../tui/predict/mount-predict-ui.tsx"))).mountPredictUi() : null
    const prediction = predict({
      model,
      inputs,
      outDir: out,
      fold,
      overrides: listFlag(args, "set"),
      force: booleanFlag(args, "force"),
      saveProbabilities: booleanFlag(args, "save-probabilities"),
      backend: stringFlag(args, "backend"),
      onEvent:
        ui !== null
          ? ui.publish
          : (e) => {
              const line = predictLine(e)
              if (line !== null) process.stdout.write(`${line}\n`)
            }
    }).pipe(Effect.ensuring(ui === null ? Effect.void : Effect.promise(() => ui.finish())))
    // Ctrl-C and SIGTERM stop at the next safe point (between batches, views and rounds) and say
    // how to continue, rather than ending the process at once (main.ts leaves them to us then).
    const fiber = yield* Effect.fork(prediction)
    const stop = () => void Effect.runFork(Fiber.interrupt(fiber))
    process.on("SIGINT", stop)
    process.on("SIGTERM", stop)
    return yield* Fiber.join(fiber).pipe(
      Effect.ensuring(
        Effect.sync(() => {
          process.off("SIGINT", stop)
          process.off("SIGTERM", stop)
        })
      )
    )
  })
