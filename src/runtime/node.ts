/**
 * What a unit of work looks like to the runtime: a node declares the configuration it reads and
 * the nodes whose outputs it reads, and runs as an Effect given a `NodeContext` (its inputs, a
 * place for its files, checkpoints, safe points, and the event bus). The pipeline compiler
 * builds these; the executor runs them; nothing here knows about tensors.
 */
import type { Brand, Effect, Option } from "effect"
import type { Json } from "./canonical-json.ts"
import type { NodeGroup, RunEvent } from "./events.ts"
import type { FileSystemError } from "./file-system.ts"

/** sha256 (hex) of the node's kind, canonical config and its inputs' keys. */
export type NodeKey = string & Brand.Brand<"NodeKey">

/** Small outputs, stored in the manifest; large ones are files written with `ctx.writeFile`. */
export type NodeResult = { readonly [name: string]: Json }

export interface NodeSpec<E = unknown, R = never> {
  /**
   * Stable identity and the node's directory under `<runDir>/nodes/`: `/`-separated segments of
   * letters, digits, `.`, `_`, `-` (not starting with `.`), e.g. `train/fold-0/Z/J`.
   */
  readonly id: string
  /** What the node computes (`train`, `coarse`, `round`, ...); part of the key. */
  readonly kind: string
  readonly group: NodeGroup
  /** Human-readable, e.g. `train fold 0 view Z phase J`. */
  readonly label: string
  /** Ids of the nodes whose outputs this node reads, in the order the key hashes them. */
  readonly deps: ReadonlyArray<string>
  /**
   * Exactly the configuration the node reads, as plain JSON. Keep the pipeline's key paths
   * (e.g. `{ training: { optimizer: { lr } } }`) so `rstn plan` can name the edited key.
   */
  readonly config: unknown
  readonly run: (ctx: NodeContext) => Effect.Effect<NodeResult, E, R>
  /**
   * Run even when some inputs failed or were skipped (an evaluation over the cases that
   * succeeded); the missing ones are in `ctx.missingInputs`. Such a result is never reused from
   * cache, since the missing inputs may succeed on the next run.
   */
  readonly partialInputs?: boolean
  /**
   * Estimated work, comparable among the nodes of one graph (default 1): a scheduler with
   * several workers starts the longest remaining chain first (execution/priority.ts). Not hashed.
   */
  readonly cost?: number
  /**
   * The version of the numeric code the node runs (`src/ops`'s ENGINE_VERSION): hashed into the
   * key, so results computed by older numerics are not taken from cache. Absent for nodes that
   * run no engine code.
   */
  readonly engine?: number
}

/** A finished node's outputs as a dependent sees them. */
export interface InputArtifact {
  readonly id: string
  readonly key: NodeKey
  readonly json: NodeResult
  /** Names of the file outputs. */
  readonly files: ReadonlyArray<string>
  /** Absolute path of a file output (for readers that stream); prefer `readFile`. */
  readonly filePath: (name: string) => string
  readonly readFile: (name: string) => Effect.Effect<Uint8Array, FileSystemError>
}

export interface NodeContext {
  readonly id: string
  readonly key: NodeKey
  readonly kind: string
  readonly label: string
  /** The canonical form of `spec.config`. */
  readonly config: Json
  /** The inputs, in `deps` order (without the missing ones of a `partialInputs` node). */
  readonly inputs: ReadonlyArray<InputArtifact>
  /** Ids of deps that failed or were skipped (only ever non-empty for `partialInputs` nodes). */
  readonly missingInputs: ReadonlyArray<string>
  /** One input by id; a dependency that was not declared is a bug and dies. */
  readonly input: (id: string) => InputArtifact
  /**
   * Writes a file output atomically into the node's directory for this key; it becomes part of
   * the outputs when the node finishes. Names: letters, digits, `.`, `_`, `-`.
   */
  readonly writeFile: (name: string, data: Uint8Array | string) => Effect.Effect<void, FileSystemError>
  /**
   * A point where the node can stop cleanly. When a stop was requested (Ctrl-C, SIGTERM, or a
   * failure under `on-case-error: stop`), runs `beforeStop` (e.g. save a checkpoint) and then
   * interrupts the node; otherwise yields to the event loop so signals and subscribers get to run
   * during long synchronous work.
   */
  readonly safePoint: <E = never, R = never>(beforeStop?: Effect.Effect<void, E, R>) => Effect.Effect<void, E, R>
  readonly stopRequested: Effect.Effect<boolean>
  /** Replaces the node's checkpoint (atomically). It is kept only until the node finishes. */
  readonly saveCheckpoint: (data: Uint8Array) => Effect.Effect<void, FileSystemError>
  /** The last checkpoint saved under this node's current key, if any. */
  readonly loadCheckpoint: Effect.Effect<Option.Option<Uint8Array>, FileSystemError>
  /** Publishes on the run's event bus (training progress, round results, warnings). */
  readonly publish: (event: RunEvent) => Effect.Effect<void>
}
