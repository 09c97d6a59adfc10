/** `rstn plan` over pipeline files: the generic plan command given the pipeline compiler. */
import { Effect, Either } from "effect"
import { loadPipeline } from "../../dsl/load.ts"
import { compilePipeline } from "../../runtime/compile.ts"
import { describeExecutor } from "../../runtime/execution/choose.ts"
import { prepareDataset } from "../../runtime/pipeline-dataset.ts"
import { makePlanCommand } from "./plan.ts"

export const run = makePlanCommand((file, overrides) =>
  Effect.gen(function* () {
    const { pipeline } = yield* loadPipeline(file, overrides)
    // Lists the cases without generating or reading any data.
    const dataset = yield* prepareDataset(pipeline, { generate: false })
    const graph = yield* Either.match(compilePipeline(pipeline, dataset), { onLeft: Effect.fail, onRight: Effect.succeed })
    return { graph, runDir: pipeline.run.dir, executor: describeExecutor(pipeline.run.executor), store: pipeline.run.store }
  })
)
