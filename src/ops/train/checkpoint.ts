/**
 * The checkpoint codec: weights, optimiser slots, RNG states and progress in one binary file,
 * encoded and decoded on bytes here (the runtime writes them atomically).
 *
 * Format, version 1 (all integers little-endian):
 *
 *   offset 0        8 bytes  magic "RSTNCKPT"
 *   offset 8        uint32   M, byte length of the manifest
 *   offset 12       M bytes  manifest, UTF-8 JSON (below)
 *   then            0-3 zero bytes so the data section starts at a multiple of 4
 *   data section    the tensors' float32 values, little-endian, back to back
 *
 *   manifest = {
 *     format: "rstn-checkpoint", version: 1,
 *     architecture: JSON describing the networks (e.g. describeRstn(config)),
 *     iteration: number,                      // completed training steps
 *     tensors: [{ name, shape: number[], dtype: "float32", offset, length }],
 *                                              // offset in bytes from the data section,
 *                                              // length in elements; weights under their
 *                                              // parameter names, optimiser slots under
 *                                              // `optimizer/<slot>/<parameter name>`
 *     optimizer: JSON | null,                  // e.g. { kind, updates, config }
 *     rng: { [stream]: [u32, u32, u32, u32] }, // xoshiro128** states (src/ops/random.ts)
 *     extra: JSON | null,                      // e.g. the sampler position
 *     dataBytes: number, crc32: number         // of the data section
 *   }
 *
 * The same file serves as a pretrained-weights file: `loadPretrained` reads only `tensors`.
 */
import { Data, Either } from "effect"
import type { RngState } from "../random.ts"

export interface NamedArray {
  readonly name: string
  readonly shape: ReadonlyArray<number>
  readonly data: Float32Array
}

export interface Checkpoint {
  readonly architecture: unknown
  readonly iteration: number
  readonly tensors: ReadonlyArray<NamedArray>
  readonly optimizer: unknown
  readonly rng: Readonly<Record<string, RngState>>
  readonly extra: unknown
}

export const CHECKPOINT_MAGIC = "RSTNCKPT"
export const CHECKPOINT_VERSION = 1

/** The file is not a readable checkpoint (truncated, corrupted, another format or version). */
export class CheckpointError extends Data.TaggedError("CheckpointError")<{
  readonly file: string
  readonly reason: string
  readonly hint: string
}> {
  override get message(): string {
    return `${this.file}: not a usable checkpoint: ${this.reason}`
  }
}

export interface ShapeDifference {
  readonly name: string
  readonly expected: ReadonlyArray<number>
  readonly found: ReadonlyArray<number>
}

/** The checkpoint holds another architecture than the one it is loaded into. */
export class CheckpointMismatchError extends Data.TaggedError("CheckpointMismatchError")<{
  readonly file: string
  /** Tensors the model needs that the file lacks. */
  readonly missing: ReadonlyArray<string>
  /** Tensors in the file the model does not have. */
  readonly unexpected: ReadonlyArray<string>
  readonly shapeDiffers: ReadonlyArray<ShapeDifference>
  readonly hint: string
}> {
  override get message(): string {
    const list = (xs: ReadonlyArray<string>) => (xs.length <= 6 ? xs.join(", ") : `${xs.slice(0, 6).join(", ")} and ${xs.length - 6} more`)
    const parts: string[] = []
    if (this.missing.length > 0) parts.push(`missing ${list(this.missing)}`)
    if (this.unexpected.length > 0) parts.push(`unexpected ${list(this.unexpected)}`)
    if (this.shapeDiffers.length > 0) {
      parts.push(
        `shape differs for ${list(this.shapeDiffers.map((d) => `${d.name} (file [${d.found.join(",")}], model [${d.expected.join(",")}])`))}`
      )
    }
    return `${this.file}: checkpoint does not fit this architecture: ${parts.join("; ")}`
  }
}

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

let crcTable: Uint32Array | undefined
/** CRC-32 (IEEE 802.3, as zlib). */
export const crc32 = (bytes: Uint8Array): number => {
  if (!crcTable) {
    crcTable = new Uint32Array(256)
    for (let n = 0; n < 256; n++) {
      let c = n
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
      crcTable[n] = c >>> 0
    }
  }
  const t = crcTable
  let c = 0xffffffff
  for (let i = 0; i < bytes.length; i++) c = t[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

const size = (shape: ReadonlyArray<number>): number => shape.reduce((a, b) => a * b, 1)

export const encodeCheckpoint = (c: Checkpoint): Uint8Array => {
  let offset = 0
  const entries = c.tensors.map((t) => {
    if (t.data.length !== size(t.shape)) throw new RangeError(`checkpoint tensor ${t.name}: ${t.data.length} values for shape [${t.shape.join(",")}]`)
    const e = { name: t.name, shape: [...t.shape], dtype: "float32", offset, length: t.data.length }
    offset += t.data.length * 4
    return e
  })
  const dataBytes = offset
  const data = new Uint8Array(dataBytes)
  const view = new DataView(data.buffer)
  entries.forEach((e, i) => {
    const src = c.tensors[i]!.data
    if (littleEndian) data.set(new Uint8Array(src.buffer, src.byteOffset, src.byteLength), e.offset)
    else for (let k = 0; k < src.length; k++) view.setFloat32(e.offset + 4 * k, src[k]!, true)
  })
  const manifest = {
    format: "rstn-checkpoint",
    version: CHECKPOINT_VERSION,
    architecture: c.architecture ?? null,
    iteration: c.iteration,
    tensors: entries,
    optimizer: c.optimizer ?? null,
    // xoshiro words may come back as signed 32-bit integers; store them unsigned
    rng: Object.fromEntries(Object.entries(c.rng).map(([k, v]) => [k, v.map((x) => x >>> 0)])),
    extra: c.extra ?? null,
    dataBytes,
    crc32: crc32(data)
  }
  const json = new TextEncoder().encode(JSON.stringify(manifest))
  const head = 12 + json.length
  const start = Math.ceil(head / 4) * 4
  const out = new Uint8Array(start + dataBytes)
  out.set(new TextEncoder().encode(CHECKPOINT_MAGIC), 0)
  new DataView(out.buffer).setUint32(8, json.length, true)
  out.set(json, 12)
  out.set(data, start)
  return out
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)
const isShape = (u: unknown): u is number[] => Array.isArray(u) && u.every((d) => Number.isInteger(d) && d >= 0)
const isRngState = (u: unknown): u is RngState =>
  Array.isArray(u) && u.length === 4 && u.every((x) => Number.isInteger(x) && x >= 0 && x <= 0xffffffff)

export const decodeCheckpoint = (bytes: Uint8Array, file: string): Either.Either<Checkpoint, CheckpointError> => {
  const fail = (reason: string, hint = "the file is damaged or was not written by rstn; delete it and retrain, or point at another file") =>
    Either.left(new CheckpointError({ file, reason, hint }))
  if (bytes.length < 12 || new TextDecoder().decode(bytes.subarray(0, 8)) !== CHECKPOINT_MAGIC) {
    return fail(`missing the "${CHECKPOINT_MAGIC}" magic bytes`)
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const m = dv.getUint32(8, true)
  if (12 + m > bytes.length) return fail(`manifest of ${m} bytes runs past the end of the file (${bytes.length} bytes): truncated`)
  let manifest: unknown
  try {
    manifest = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(12, 12 + m)))
  } catch (e) {
    return fail(`manifest is not valid JSON (${String(e)})`)
  }
  if (!isRecord(manifest) || manifest.format !== "rstn-checkpoint") return fail("manifest has no `format: rstn-checkpoint`")
  if (manifest.version !== CHECKPOINT_VERSION) {
    return fail(`format version ${String(manifest.version)}, this rstn reads version ${CHECKPOINT_VERSION}`, "use the rstn version that wrote it, or retrain")
  }
  const start = Math.ceil((12 + m) / 4) * 4
  const dataBytes = manifest.dataBytes
  if (typeof dataBytes !== "number" || start + dataBytes !== bytes.length) {
    return fail(`data section should be ${String(dataBytes)} bytes but the file holds ${bytes.length - start}: truncated or padded`)
  }
  const data = bytes.subarray(start)
  if (crc32(data) !== manifest.crc32) return fail("data checksum (crc32) does not match the manifest")
  if (typeof manifest.iteration !== "number" || !Number.isInteger(manifest.iteration) || manifest.iteration < 0) return fail("manifest `iteration` is not a non-negative integer")
  if (!Array.isArray(manifest.tensors)) return fail("manifest `tensors` is not a list")
  if (!isRecord(manifest.rng) || !Object.values(manifest.rng).every(isRngState)) return fail("manifest `rng` is not a map of 4-word states")
  const tensors: NamedArray[] = []
  const seen = new Set<string>()
  for (const t of manifest.tensors as unknown[]) {
    if (!isRecord(t) || typeof t.name !== "string" || !isShape(t.shape) || t.dtype !== "float32" || typeof t.offset !== "number" || typeof t.length !== "number") {
      return fail(`malformed tensor entry ${JSON.stringify(t).slice(0, 120)}`)
    }
    if (seen.has(t.name)) return fail(`tensor ${t.name} appears twice`)
    seen.add(t.name)
    if (t.length !== size(t.shape) || t.offset % 4 !== 0 || t.offset < 0 || t.offset + 4 * t.length > dataBytes) {
      return fail(`tensor ${t.name} (shape [${t.shape.join(",")}], offset ${t.offset}) does not fit the data section`)
    }
    let values: Float32Array
    if (littleEndian) {
      values = new Float32Array(t.length)
      new Uint8Array(values.buffer).set(data.subarray(t.offset, t.offset + 4 * t.length))
    } else {
      values = new Float32Array(t.length)
      const view = new DataView(data.buffer, data.byteOffset + t.offset)
      for (let k = 0; k < t.length; k++) values[k] = view.getFloat32(4 * k, true)
    }
    tensors.push({ name: t.name, shape: t.shape, data: values })
  }
  return Either.right({
    architecture: manifest.architecture,
    iteration: manifest.iteration,
    tensors,
    optimizer: manifest.optimizer ?? null,
    rng: manifest.rng as Record<string, RngState>,
    extra: manifest.extra ?? null
  })
}

/** Compares what a model expects with what a file holds: every name present, no extra, same shapes. */
export const matchTensors = (
  expected: ReadonlyArray<{ readonly name: string; readonly shape: ReadonlyArray<number> }>,
  found: ReadonlyArray<NamedArray>,
  file: string,
  hint: string
): Either.Either<ReadonlyMap<string, NamedArray>, CheckpointMismatchError> => {
  const byName = new Map(found.map((t) => [t.name, t]))
  const wanted = new Set(expected.map((e) => e.name))
  const missing: string[] = []
  const shapeDiffers: ShapeDifference[] = []
  for (const e of expected) {
    const t = byName.get(e.name)
    if (!t) missing.push(e.name)
    else if (t.shape.length !== e.shape.length || t.shape.some((d, i) => d !== e.shape[i])) {
      shapeDiffers.push({ name: e.name, expected: [...e.shape], found: [...t.shape] })
    }
  }
  const unexpected = found.filter((t) => !wanted.has(t.name)).map((t) => t.name)
  if (missing.length + unexpected.length + shapeDiffers.length > 0) {
    return Either.left(new CheckpointMismatchError({ file, missing, unexpected, shapeDiffers, hint }))
  }
  return Either.right(byName)
}
