/** `rstn report RUN_DIR`: write the run's report.html again from what the run directory holds. */
import { Console, Effect } from "effect"
import * as path from "node:path"
import { writeReport } from "../../runtime/html-report.ts"
import { displayDir } from "../../runtime/run.ts"
import type { Run } from "../command.ts"

export const run: Run = (args) =>
  Effect.gen(function* () {
    const file = yield* writeReport(path.resolve(args.positionals[0]!))
    yield* Console.log(`wrote ${displayDir(file)}`)
    return 0
  })
