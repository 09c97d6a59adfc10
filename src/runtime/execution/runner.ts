/**
 * Where a ready node runs: the seam between the scheduler (executor.ts), which decides *when*
 * a node runs and alone writes manifests and events, and an executor that decides *where*: in the
 * driver process, in a pool of local worker processes, or as a Slurm job. Every runner prepares
 * the node's attempt, runs its body over the shared run directory and reports how it ended.
 */
import type { Effect, Scope } from "effect"
import type { ArtifactStoreService } from "../artifact-store.ts"
import type { EventBusService } from "../event-bus.ts"
import type { GraphNode } from "../graph.ts"
import type { Manifest } from "../manifest.ts"
import type { StopSignal } from "../stop-signal.ts"
import type { BodyResult } from "./node-body.ts"

/** Where a node runs, as node-started announces it and `rstn status` shows it. */
export interface Placement {
  /** `w1`, `w2`, ... for local workers; `slurm` for a batch job. */
  readonly worker: string
  /** The process running the node, when it is on this machine. */
  readonly pid?: number
  /** The Slurm job id. */
  readonly jobId?: string
  /** The file the node's process writes its output to. */
  readonly log?: string
}

export interface NodeJob<E, R> {
  readonly node: GraphNode<E, R>
  /** The manifests of its finished deps, in `deps` order (without the missing ones). */
  readonly inputs: ReadonlyArray<Manifest>
  readonly missingInputs: ReadonlyArray<string>
  /**
   * Call once, when the node actually begins (a local worker took it, a Slurm job started): the
   * scheduler publishes node-started then and times the node from there.
   */
  readonly started: (where: Placement | undefined) => Effect.Effect<void>
}

export interface NodeRunner<E, R> {
  /** How many nodes may run at once. */
  readonly slots: number
  /**
   * Runs the node to its end. Interrupting it (a second Ctrl-C) must stop the node at once,
   * wherever it runs; a stop request lets it reach its next safe point instead.
   */
  readonly run: (job: NodeJob<E, R>) => Effect.Effect<BodyResult, never, R>
}

export interface RunnerEnv {
  readonly store: ArtifactStoreService
  readonly bus: EventBusService
  readonly stop: StopSignal
}

/** Builds a runner for one run; its resources (worker processes, submitted jobs) live in the scope. */
export type MakeRunner<E, R> = (env: RunnerEnv) => Effect.Effect<NodeRunner<E, R>, never, Scope.Scope>
