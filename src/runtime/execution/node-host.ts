/**
 * A process that runs nodes for a driver (a local worker, a Slurm job) sets itself up the same
 * way: read the run's `pipeline.json` from the shared run directory, load the tensor backend the
 * driver chose, list the dataset (never generating it: the driver did) and compile the same
 * graph. It can then run any node the driver names, provided the node's key is the one the
 * driver scheduled: a different key means the pipeline or the data changed under the run.
 */
import { Effect, Either, Option } from "effect"
import * as path from "node:path"
import * as ArtifactStore from "../artifact-store.ts"
import { type BackendInfo, checkBackend, describeBackend } from "../backend.ts"
import { compilePipeline, type PipelineGraph } from "../compile.ts"
import { FileSystem } from "../file-system.ts"
import type { Manifest } from "../manifest.ts"
import type { RunEvent } from "../events.ts"
import { prepareDataset } from "../pipeline-dataset.ts"
import { readRunRecord } from "../run-record.ts"
import type { StopSignal } from "../stop-signal.ts"
import { type BodyResult, runBody } from "./node-body.ts"
import { NodeFailure } from "./node-error.ts"

export interface NodeHost {
  readonly runDir: string
  readonly backend: BackendInfo
  readonly graph: PipelineGraph
  readonly store: ArtifactStore.ArtifactStoreService
}

/** Why a process cannot host the run's nodes at all. */
export interface HostProblem {
  readonly message: string
  readonly hint: string
}

export const openHost = (runDir: string, backendName: string, threads: number): Effect.Effect<NodeHost, HostProblem> =>
  Effect.gen(function* () {
    const dir = path.resolve(runDir)
    const record = yield* readRunRecord(dir)
    const p = { ...record.pipeline, run: { ...record.pipeline.run, dir } }
    const backend = yield* checkBackend(backendName, { source: "the driver's backend", threads })
    // The process's output is its log (a worker's, a job's): say what computes there.
    yield* Effect.sync(() => process.stderr.write(`rstn node-run: ${describeBackend(backend)} for ${dir}\n`))
    const dataset = yield* prepareDataset(p, { generate: false })
    const graph = yield* Either.match(compilePipeline(p, dataset), { onLeft: Effect.fail, onRight: Effect.succeed })
    const store = yield* ArtifactStore.make(dir).pipe(Effect.provide(FileSystem.layer))
    return { runDir: dir, backend, graph, store }
  }).pipe(
    Effect.mapError((e) => ({
      message: `cannot run nodes of ${runDir}: ${e.message}`,
      hint: "hint" in e && typeof e.hint === "string" ? e.hint : "check that every machine running nodes sees the run directory and the dataset at the same paths"
    }))
  )

export interface NodeRequest {
  readonly id: string
  readonly key: string
  readonly inputs: ReadonlyArray<Manifest>
  readonly missingInputs: ReadonlyArray<string>
}

/** Runs one node the driver asked for, publishing its events through `publish`. */
export const runRequested = (
  host: NodeHost,
  request: NodeRequest,
  stop: StopSignal,
  publish: (event: RunEvent) => Effect.Effect<void>
): Effect.Effect<BodyResult> =>
  Effect.gen(function* () {
    const node = Option.fromNullable(host.graph.byId.get(request.id))
    if (Option.isNone(node) || node.value.key !== request.key) {
      return {
        _tag: "failed",
        cause: yield* Effect.cause(
          Effect.fail(
            new NodeFailure({
              message: `${request.id}: the pipeline or its dataset changed since the run started (this process computes ${Option.isNone(node) ? "no such node" : `key ${node.value.key.slice(0, 16)}`}, the driver scheduled ${request.key.slice(0, 16)})`,
              hint: "run `rstn resume` again: it compiles the pipeline anew"
            })
          )
        )
      } as const
    }
    return yield* runBody(node.value, request.inputs.map(host.store.input), request.missingInputs, { store: host.store, stop, publish })
  })
