/**
 * `node.json`: the record that makes a node's directory complete. It is written last, atomically,
 * so a node is finished exactly when its manifest exists; it names the key the outputs were made
 * under, the configuration and input keys that key hashed (so `rstn plan` can say what changed),
 * the outputs (small ones inline as JSON, large ones as files beside it), and timings.
 */
import { Either, Schema } from "effect"
import type { Json } from "./canonical-json.ts"
import type { NodeKey, NodeResult } from "./node.ts"

const JsonValue = Schema.Unknown as unknown as Schema.Schema<Json>

export const FileOutput = Schema.Struct({
  /** Relative to the node's directory, e.g. `3fa9c1e2b7d04a11/weights.ckpt`. */
  path: Schema.String,
  bytes: Schema.Number
})
export type FileOutput = typeof FileOutput.Type

export const Manifest = Schema.Struct({
  format: Schema.Literal(1),
  id: Schema.String,
  key: Schema.String,
  kind: Schema.String,
  label: Schema.String,
  /** The engine version the node's key hashed (`NodeSpec.engine`); absent for nodes that run no engine code. */
  engine: Schema.optional(Schema.Number),
  config: JsonValue,
  deps: Schema.Array(Schema.Struct({ id: Schema.String, key: Schema.String })),
  outputs: Schema.Struct({
    json: Schema.Record({ key: Schema.String, value: JsonValue }),
    files: Schema.Record({ key: Schema.String, value: FileOutput })
  }),
  /** Deps that had failed when this node ran (`partialInputs` nodes); such a manifest is never reused. */
  missingInputs: Schema.optional(Schema.Array(Schema.String)),
  /**
   * Set when the node was not computed in this run directory but taken finished from the shared
   * store (shared-store.ts): the run directory that computed it. Timings are that run's.
   */
  sharedFrom: Schema.optional(Schema.String),
  /** Milliseconds since the Unix epoch (the run's Clock). */
  finishedAt: Schema.Number,
  durationMs: Schema.Number
})
export type Manifest = typeof Manifest.Type

export const keyOf = (m: Manifest): NodeKey => m.key as NodeKey
export const jsonOutputs = (m: Manifest): NodeResult => m.outputs.json

export const encodeManifest = (m: Manifest): string => `${JSON.stringify(Schema.encodeSync(Manifest)(m), null, 2)}\n`

export const decodeManifest = (text: string): Either.Either<Manifest, string> =>
  Either.mapLeft(Schema.decodeUnknownEither(Schema.parseJson(Manifest))(text), (e) => e.message)
