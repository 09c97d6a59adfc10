/**
 * `rstn node-run RUN_DIR --serve` (a local worker) and `rstn node-run RUN_DIR NODE_ID --key KEY`
 * (a Slurm job): the processes executors start to run nodes for a driver (runtime/execution/).
 */
import { Effect } from "effect"
import { serveWorker } from "../../runtime/execution/worker.ts"
import { booleanFlag, numberFlag, stringFlag, UsageError } from "../args.ts"
import type { Run } from "../command.ts"

export const run: Run = (args) =>
  Effect.gen(function* () {
    const runDir = args.positionals[0]!
    const backend = stringFlag(args, "backend") ?? "auto"
    const threads = numberFlag(args, "threads") ?? 1
    if (booleanFlag(args, "serve")) {
      if (args.positionals.length > 1) {
        return yield* new UsageError({ command: "node-run", message: "--serve takes no NODE_ID", hint: "a worker runs the nodes its driver sends" })
      }
      return yield* serveWorker(runDir, backend, threads)
    }
    const id = args.positionals[1]
    const key = stringFlag(args, "key")
    if (id === undefined || key === undefined) {
      return yield* new UsageError({ command: "node-run", message: "give NODE_ID and --key KEY, or --serve", hint: "rstn help node-run" })
    }
    const { runJob } = yield* Effect.promise(() => import("../../runtime/execution/node-job.ts"))
    return yield* runJob(runDir, id, key, backend, threads)
  })
