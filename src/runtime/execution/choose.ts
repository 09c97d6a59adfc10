/**
 * The executor a pipeline asks for (`run.executor`), as the runner the scheduler uses.
 */
import * as os from "node:os"
import type { Executor } from "../../dsl/pipeline.ts"
import { inProcess } from "./in-process.ts"
import { localPool } from "./local-pool.ts"
import type { MakeRunner } from "./runner.ts"
import { slurmExecutor } from "./slurm.ts"
import type { SlurmService } from "./slurm-client.ts"

/** `workers: auto` is one worker per core the machine has. */
export const resolveWorkers = (workers: "auto" | number): number => (workers === "auto" ? os.availableParallelism() : workers)

/** The executor in one line, for run-started, `rstn status` and `rstn plan`. */
export const describeExecutor = (executor: Executor): string => {
  if (executor.kind === "local") {
    const n = resolveWorkers(executor.workers)
    const auto = executor.workers === "auto" ? " (auto: one per core)" : ""
    return n <= 1 ? `local, 1 worker (the rstn process itself)${auto}` : `local, ${n} worker processes${auto}`
  }
  const parts = [executor.partition !== undefined ? `partition ${executor.partition}` : "", executor.gres !== undefined ? `gres ${executor.gres}` : ""]
  return `slurm, one batch job per node${parts.some(Boolean) ? ` (${parts.filter(Boolean).join(", ")})` : ""}`
}

export interface ExecutorContext {
  readonly runDir: string
  /** The backend the driver chose, which every local worker loads. */
  readonly backend: string
  /**
   * The pipeline's backend choice (`run.backend`), which each Slurm job makes for itself: a job
   * may run on a GPU node the driver's machine is not.
   */
  readonly backendChoice: string
  readonly slurm: SlurmService
}

export const executorFor = <E, R>(executor: Executor, ctx: ExecutorContext): MakeRunner<E, R> => {
  if (executor.kind === "local") {
    const workers = resolveWorkers(executor.workers)
    // One worker is the driver itself: no process to start, and the run is what it always was.
    return workers <= 1 ? inProcess(1) : localPool({ workers, runDir: ctx.runDir, backend: ctx.backend })
  }
  return slurmExecutor({ runDir: ctx.runDir, backend: ctx.backendChoice, executor, slurm: ctx.slurm })
}
