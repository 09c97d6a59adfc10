/** `rstn export RUN_DIR -o model.rstn`: a run's networks and test in one portable file. */
import { Effect } from "effect"
import { exportModel } from "../../runtime/predict/export.ts"
import { stringFlag, UsageError } from "../args.ts"
import type { Run } from "../command.ts"
import { packageVersion } from "../version.ts"

export const run: Run = (args) =>
  Effect.gen(function* () {
    const out = stringFlag(args, "out")
    if (out === undefined) return yield* new UsageError({ command: "export", message: "no model file to write", hint: "name it with -o model.rstn" })
    const s = yield* exportModel(args.positionals[0]!, out, packageVersion())
    yield* Effect.sync(() =>
      process.stdout.write(
        `${s.file}: ${s.bytes} bytes, folds ${s.folds.join(", ")}, views ${s.views.join("")}, ${s.entries} sets of weights (rstn inspect ${s.file} describes it)\n`
      )
    )
    return 0
  })
