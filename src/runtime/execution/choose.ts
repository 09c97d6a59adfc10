/**
 * The executor a pipeline asks for (`run.executor`), as the runner the scheduler uses.
 */
import * as os from "node:os"
import type { Executor, Pipeline } from "../../dsl/pipeline.ts"
import { defaultThreads, MAX_WASM_THREADS } from "../wasm-threads.ts"
import { inProcess } from "./in-process.ts"
import { localPool } from "./local-pool.ts"
import type { MakeRunner } from "./runner.ts"
import { resourcesFor, slurmExecutor } from "./slurm.ts"
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

/**
 * The wasm threads of each process that computes nodes (`run.threads`; results do not depend on
 * it). Without `run.threads`: in the driver itself, the cores other processes leave idle; local
 * workers share those cores, since XNNPACK's pool stalls on a core it has to share (two workers on
 * two idle cores: one thread each); a Slurm job uses the CPUs it asks for (`cpus-per-task`, 1 by
 * default), the only ones it may assume are its own.
 */
export const nodeThreads = (run: Pipeline["run"], kind = "", idle = defaultThreads()): number => {
  if (run.threads !== undefined) return run.threads
  const e = run.executor
  if (e.kind === "slurm") return Math.min(MAX_WASM_THREADS, resourcesFor(e, kind).cpusPerTask ?? 1)
  return Math.max(1, Math.floor(idle / resolveWorkers(e.workers)))
}

/** The driver's own threads: all of `nodeThreads` when it computes the nodes, else 1 (it only schedules). */
export const driverThreads = (run: Pipeline["run"], idle = defaultThreads()): number =>
  run.executor.kind === "local" && resolveWorkers(run.executor.workers) <= 1 ? nodeThreads(run, "", idle) : 1

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
  /** The wasm threads of each worker or job, by node kind (`nodeThreads`). */
  readonly threads: (kind: string) => number
}

export const executorFor = <E, R>(executor: Executor, ctx: ExecutorContext): MakeRunner<E, R> => {
  if (executor.kind === "local") {
    const workers = resolveWorkers(executor.workers)
    // One worker is the driver itself: no process to start, and the run is what it always was.
    return workers <= 1 ? inProcess(1) : localPool({ workers, runDir: ctx.runDir, backend: ctx.backend, threads: ctx.threads("") })
  }
  return slurmExecutor({ runDir: ctx.runDir, backend: ctx.backendChoice, executor, slurm: ctx.slurm, threads: ctx.threads })
}
