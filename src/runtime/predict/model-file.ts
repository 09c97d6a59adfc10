/**
 * The portable model file `rstn export` writes and `rstn predict` and `rstn inspect` read: one
 * file with everything a prediction needs and nothing of the run directory or the training data.
 *
 * Format, version 1 (integers little-endian):
 *
 *   offset 0     8 bytes   magic "RSTNMODL"
 *   offset 8     uint32    H, byte length of the header
 *   offset 12    32 bytes  SHA-256 of the header bytes
 *   offset 44    H bytes   header, UTF-8 JSON (below)
 *   then         0-7 zero bytes, so the weights start at a multiple of 8
 *   weights      the entries' bytes back to back, each an rstn checkpoint (ops/train/checkpoint.ts,
 *                "RSTNCKPT" version 1) holding only the networks the test reads from that phase
 *
 *   header = {
 *     format: "rstn-model", version: 1,
 *     rstn: "0.1.0", engine: 2,              // the rstn and numeric engine that trained and wrote it
 *     pipeline: { ... },                     // the resolved pipeline (as pipeline.json holds it):
 *                                            // networks, saliency, test.stages, crop, window, ...
 *     folds: [0, 1], views: ["X", "Y", "Z"], // the trained folds it holds, the views the test fuses
 *     window: [-100, 240],                   // HU clip before scaling to [0, 1] (dataset.window)
 *     orientation: { axes: "LPS", images: 36 },  // axis codes of the training images' voxel axes
 *     weights: [{ fold, view, phase, stage: "coarse" | "fine", offset, bytes, sha256 }],
 *                                            // offset from the start of the weights section
 *     dataBytes: number                      // length of the weights section
 *   }
 *
 * A damaged file (truncated, a flipped byte) fails a checksum and says which part; a file of
 * another kind (a NIfTI image, a training checkpoint) is named as what it is.
 */
import { Either, ParseResult, Schema } from "effect"
import { createHash } from "node:crypto"
import { Pipeline, View } from "../../dsl/pipeline.ts"
import { isGzip } from "../../ops/nifti/index.ts"
import { CHECKPOINT_MAGIC } from "../../ops/train/checkpoint.ts"
import { ModelFileError } from "./errors.ts"

export const MODEL_MAGIC = "RSTNMODL"
export const MODEL_VERSION = 1
const PREFIX = 44

export const WeightEntry = Schema.Struct({
  fold: Schema.Int.pipe(Schema.nonNegative()),
  view: View,
  phase: Schema.String,
  /** Which stage reads it: `coarse` (the coarse network) or `fine` (saliency transform and fine network). */
  stage: Schema.Literal("coarse", "fine"),
  offset: Schema.Int.pipe(Schema.nonNegative()),
  bytes: Schema.Int.pipe(Schema.nonNegative()),
  sha256: Schema.String.pipe(Schema.pattern(/^[0-9a-f]{64}$/))
})
export type WeightEntry = typeof WeightEntry.Type

export const ModelHeader = Schema.Struct({
  format: Schema.Literal("rstn-model"),
  version: Schema.Literal(MODEL_VERSION),
  rstn: Schema.String,
  engine: Schema.Number,
  pipeline: Pipeline,
  folds: Schema.Array(Schema.Int.pipe(Schema.nonNegative())),
  views: Schema.Array(View),
  window: Schema.Tuple(Schema.Number, Schema.Number),
  orientation: Schema.Struct({ axes: Schema.String, images: Schema.Int }),
  weights: Schema.Array(WeightEntry),
  dataBytes: Schema.Int.pipe(Schema.nonNegative())
})
export type ModelHeader = typeof ModelHeader.Type

export interface ModelFile {
  readonly header: ModelHeader
  /** The weights section; an entry's bytes are `data.subarray(offset, offset + bytes)`. */
  readonly data: Uint8Array
}

const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex")

/** A model file's bytes from its header (without `weights` offsets and `dataBytes`, which are laid out here) and the weights of each entry. */
export const encodeModelFile = (
  header: Omit<ModelHeader, "weights" | "dataBytes">,
  entries: ReadonlyArray<{ readonly entry: Omit<WeightEntry, "offset" | "bytes" | "sha256">; readonly bytes: Uint8Array }>
): Uint8Array => {
  let offset = 0
  const weights = entries.map(({ entry, bytes }) => {
    const e: WeightEntry = { ...entry, offset, bytes: bytes.length, sha256: sha256(bytes) }
    offset += bytes.length
    return e
  })
  const full: ModelHeader = { ...header, weights, dataBytes: offset }
  const json = new TextEncoder().encode(JSON.stringify(Schema.encodeSync(ModelHeader)(full)))
  const start = Math.ceil((PREFIX + json.length) / 8) * 8
  const out = new Uint8Array(start + offset)
  out.set(new TextEncoder().encode(MODEL_MAGIC), 0)
  new DataView(out.buffer).setUint32(8, json.length, true)
  out.set(Buffer.from(sha256(json), "hex"), 12)
  out.set(json, PREFIX)
  let at = start
  for (const { bytes } of entries) {
    out.set(bytes, at)
    at += bytes.length
  }
  return out
}

/** Whether `bytes` (a file's first bytes) start like a model file. */
export const isModelFile = (bytes: Uint8Array): boolean =>
  bytes.length >= 8 && new TextDecoder().decode(bytes.subarray(0, 8)) === MODEL_MAGIC

/** What a file that is not a model file looks like, for the message. */
const foreignKind = (bytes: Uint8Array): string => {
  const magic = new TextDecoder().decode(bytes.subarray(0, 8))
  if (magic === CHECKPOINT_MAGIC) return "an rstn training checkpoint (one network's weights), not a model file"
  if (isGzip(bytes)) return "a gzip file (a .nii.gz image?), not an rstn model file"
  if (bytes.length >= 348 && new DataView(bytes.buffer, bytes.byteOffset).getInt32(0, true) === 348) return "a NIfTI-1 image, not an rstn model file"
  return "not an rstn model file (it does not start with the bytes \"RSTNMODL\")"
}

const EXPORT_HINT = "make one with `rstn export RUN_DIR -o model.rstn`"
const DAMAGED_HINT = "the file is damaged (truncated or altered in transfer): copy or export it again"

/** Decodes a model file's header and checks every checksum; entries are verified here, before any prediction starts. */
export const decodeModelFile = (bytes: Uint8Array, file: string): Either.Either<ModelFile, ModelFileError> => {
  const fail = (reason: string, hint = DAMAGED_HINT) => Either.left(new ModelFileError({ file, reason, hint }))
  if (!isModelFile(bytes)) return fail(`is ${foreignKind(bytes)}`, EXPORT_HINT)
  if (bytes.length < PREFIX) return fail(`is truncated: ${bytes.length} bytes, less than the ${PREFIX}-byte prefix`)
  const length = new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true)
  if (PREFIX + length > bytes.length) return fail(`is truncated: its header of ${length} bytes runs past the end of the file (${bytes.length} bytes)`)
  const json = bytes.subarray(PREFIX, PREFIX + length)
  if (sha256(json) !== Buffer.from(bytes.subarray(12, PREFIX)).toString("hex")) return fail("its header does not match its SHA-256 checksum")
  let raw: unknown
  try {
    raw = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(json))
  } catch (e) {
    return fail(`its header is not JSON (${(e as Error).message})`)
  }
  const version = (raw as { version?: unknown } | null)?.version
  if (typeof version === "number" && version !== MODEL_VERSION) {
    return fail(`is a model file of format version ${version}; this rstn reads version ${MODEL_VERSION}`, "use the rstn version that exported it, or export the run again with this one")
  }
  const header = Schema.decodeUnknownEither(ModelHeader)(raw)
  if (Either.isLeft(header)) {
    return fail(`its header is not a valid model header: ${ParseResult.TreeFormatter.formatErrorSync(header.left).split("\n").slice(0, 3).join(" ")}`)
  }
  const h = header.right
  const start = Math.ceil((PREFIX + length) / 8) * 8
  if (start + h.dataBytes !== bytes.length) {
    return fail(`should hold ${h.dataBytes} bytes of weights but holds ${Math.max(0, bytes.length - start)}: ${start + h.dataBytes > bytes.length ? "truncated" : "extra bytes at the end"}`)
  }
  const data = bytes.subarray(start)
  for (const e of h.weights) {
    if (e.offset + e.bytes > h.dataBytes) return fail(`the weights of fold ${e.fold} view ${e.view} phase ${e.phase} lie outside the weights section`)
    if (sha256(data.subarray(e.offset, e.offset + e.bytes)) !== e.sha256) {
      return fail(`the weights of fold ${e.fold} view ${e.view} phase ${e.phase} (${e.stage}) do not match their SHA-256 checksum`)
    }
  }
  if (h.window[0] !== h.pipeline.dataset.window[0] || h.window[1] !== h.pipeline.dataset.window[1]) {
    return fail(`its window [${h.window.join(", ")}] differs from its pipeline's dataset.window`)
  }
  return Either.right({ header: h, data })
}

/** An entry's bytes. */
export const entryBytes = (m: ModelFile, e: WeightEntry): Uint8Array => m.data.subarray(e.offset, e.offset + e.bytes)

/** What `rstn inspect` prints for a model file: one JSON object. */
export const describeModel = (file: string, bytes: number, m: ModelFile): Record<string, unknown> => {
  const h = m.header
  const encoded = Schema.encodeSync(Pipeline)(h.pipeline) as Record<string, unknown>
  const loop = h.pipeline.test.stages.find((s) => s.kind === "converge-until")
  return {
    path: file,
    kind: "rstn-model",
    version: h.version,
    bytes,
    rstn: h.rstn,
    engine: h.engine,
    pipeline: h.pipeline.name,
    folds: h.folds,
    views: h.views,
    window: h.window,
    slice_thickness: h.pipeline.sliceThickness,
    orientation: h.orientation,
    t: loop?.kind === "converge-until" ? loop.threshold : null,
    max_rounds: loop?.kind === "converge-until" ? loop.maxRounds : null,
    networks: encoded.networks,
    saliency: encoded.saliency,
    test: (encoded.test as { stages: unknown }).stages,
    weights: h.weights.map((e) => ({ fold: e.fold, view: e.view, phase: e.phase, stage: e.stage, bytes: e.bytes, sha256: e.sha256 })),
    checksums: "ok"
  }
}
