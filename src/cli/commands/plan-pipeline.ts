/** `rstn plan` over pipeline files: the generic plan command given the pipeline compiler; on a sweep, the sweep's plan. */
import { Console, Effect, Either } from "effect"
import { loadPipeline } from "../../dsl/load.ts"
import { loadSweep } from "../../dsl/load-sweep.ts"
import { compilePipeline } from "../../runtime/compile.ts"
import { describeExecutor } from "../../runtime/execution/choose.ts"
import { prepareDataset } from "../../runtime/pipeline-dataset.ts"
import { formatSweepPlan, planSweep, sweepPlanJson } from "../../runtime/sweep-plan.ts"
import { booleanFlag, listFlag, stringFlag, UsageError } from "../args.ts"
import type { Run } from "../command.ts"
import { makePlanCommand } from "./plan.ts"

const planPipeline = makePlanCommand((file, overrides) =>
  Effect.gen(function* () {
    const { pipeline } = yield* loadPipeline(file, overrides)
    // Lists the cases without generating or reading any data.
    const dataset = yield* prepareDataset(pipeline, { generate: false })
    const graph = yield* Either.match(compilePipeline(pipeline, dataset), { onLeft: Effect.fail, onRight: Effect.succeed })
    return { graph, runDir: pipeline.run.dir, executor: describeExecutor(pipeline.run.executor), store: pipeline.run.store }
  })
)

export const run: Run = (args) =>
  Effect.gen(function* () {
    const file = args.positionals[0]!
    const sets = listFlag(args, "set")
    const grid = listFlag(args, "grid")
    const isSweep = grid.length > 0 || (yield* loadPipeline(file, sets)).sweep !== undefined
    if (!isSweep) return yield* planPipeline(args)
    if (stringFlag(args, "run-dir") !== undefined) {
      return yield* new UsageError({ command: "plan", message: "--run-dir names one run directory; a sweep has one per run", hint: "each run's directory is <run.dir>-<values>" })
    }
    const plan = yield* planSweep(yield* loadSweep(file, sets, grid))
    yield* Console.log(booleanFlag(args, "json") ? sweepPlanJson(plan) : formatSweepPlan(plan))
    return 0
  })
