/**
 * Decoding a NIfTI-1 or NIfTI-2 file (raw or gzipped bytes) into a Volume and its header.
 *
 * Memory: a .nii.gz is inflated once into a single buffer of the declared size and the voxels
 * are a typed-array view of it (byte-swapped in place when the file's byte order is foreign);
 * a raw .nii is viewed in place when aligned and in host byte order. Only scaled data
 * (scl_slope/scl_inter) gets a new Float32Array.
 */
import { Either } from "effect"
import type * as zlib from "node:zlib"
import type { VoxelArray, Volume } from "../volume.ts"
import { HOST_LITTLE_ENDIAN, swapBytesInPlace } from "./byte-order.ts"
import { datatypeByName } from "./datatype.ts"
import { classifyGunzipError, gunzipAll, gunzipAllOptions, GunzipFailure, gunzipPrefix, isGzip } from "./gzip.ts"
import { geometryOf, type HeaderOptions, NIFTI2_HEADER_SIZE, type NiftiHeaderInfo, parseHeader, shapeOf } from "./header.ts"
import { NiftiError } from "./nifti-error.ts"

export interface NiftiImage {
  readonly header: NiftiHeaderInfo
  /**
   * The image as a volume. A file of more than 3 dimensions (read with `volumes: "any"`) has
   * the first volume's shape and geometry, and data holding every voxel of every volume.
   */
  readonly volume: Volume
}

export interface DecodeOptions extends HeaderOptions {
  /**
   * The caller hands `bytes` over: foreign-endian voxels are then byte-swapped inside it rather
   * than in a copy. Leave unset when the bytes are used afterwards. (Gzipped input is never
   * modified; its inflated copy is always ours.)
   */
  readonly adoptBuffer?: boolean
}

/** Trailing bytes tolerated after the voxel data of a .nii.gz before the file is refused. */
const TRAILING_SLACK = 1 << 20

const gzipError = (file: string, f: GunzipFailure): NiftiError =>
  new NiftiError({
    file,
    field: "gzip",
    reason: f.truncated ? "the compressed stream ends early" : `the compressed stream is corrupt (${f.reason})`,
    hint: "the file is damaged or truncated: copy or download it again"
  })

const outOfMemory = (file: string, what: string): NiftiError =>
  new NiftiError({
    file,
    field: "data",
    reason: `not enough memory for ${what}`,
    hint: "free memory, or crop or resample the image"
  })

const isAllocationFailure = (e: unknown): boolean =>
  e instanceof RangeError && /allocation|Invalid typed array length|Array buffer/i.test(e.message)

/** Runs `body`, turning NiftiError (and allocation failure) into Left; other throws are bugs. */
const attempt = <A>(file: string, body: () => A): Either.Either<A, NiftiError> => {
  try {
    return Either.right(body())
  } catch (e) {
    if (e instanceof NiftiError) return Either.left(e)
    if (isAllocationFailure(e)) return Either.left(outOfMemory(file, "the image"))
    throw e
  }
}

/** The header bytes of a gzipped file, inflating as little as possible. */
const gzipHeaderBytes = (bytes: Uint8Array, file: string): Uint8Array => {
  const prefix = gunzipPrefix(bytes, NIFTI2_HEADER_SIZE)
  if (prefix instanceof GunzipFailure) throw gzipError(file, prefix)
  return prefix
}

/**
 * The validated header of a NIfTI file, from its first bytes (raw or gzipped; for a .nii.gz any
 * prefix of a few KiB). Lets a caller refuse a file before reading or inflating all of it.
 */
export const decodeNiftiHeader = (bytes: Uint8Array, options: HeaderOptions): Either.Either<NiftiHeaderInfo, NiftiError> =>
  attempt(options.file, () => parseHeader(isGzip(bytes) ? gzipHeaderBytes(bytes, options.file) : bytes, options))

const describeSize = (h: NiftiHeaderInfo): string =>
  `${h.dims.join("x")} ${h.datatype} voxels (bytes ${h.voxOffset} to ${h.byteLength})`

/** Voxel values as a typed array: a view when possible, swapped or scaled when required. */
const voxelData = (buf: Uint8Array, h: NiftiHeaderInfo, owned: boolean): VoxelArray => {
  const dt = datatypeByName(h.datatype)
  // Every voxel of every volume (the product of dims; a 3D file's is its shape's).
  const n = h.dims.reduce((a, b) => a * b, 1)
  const start = buf.byteOffset + h.voxOffset
  const aligned = start % dt.bytes === 0
  const foreign = dt.bytes > 1 && h.littleEndian !== HOST_LITTLE_ENDIAN

  if (h.scaled) {
    // Scaled values are computed in double (as nibabel does) and stored as float32.
    const out = new Float32Array(n)
    const slope = h.sclSlope
    const inter = h.sclInter
    if (aligned && !foreign) {
      const src = new dt.array(buf.buffer, start, n)
      for (let i = 0; i < n; i++) out[i] = src[i]! * slope + inter
    } else {
      const view = new DataView(buf.buffer, start, n * dt.bytes)
      for (let i = 0; i < n; i++) out[i] = dt.get(view, i * dt.bytes, h.littleEndian) * slope + inter
    }
    return out
  }
  if (aligned && !foreign) return new dt.array(buf.buffer, start, n)
  if (aligned && owned) {
    swapBytesInPlace(new Uint8Array(buf.buffer, start, n * dt.bytes), dt.bytes)
    return new dt.array(buf.buffer, start, n)
  }
  // A fresh ArrayBuffer is aligned for every element size.
  const copy = new Uint8Array(n * dt.bytes)
  copy.set(buf.subarray(h.voxOffset, h.voxOffset + n * dt.bytes))
  if (foreign) swapBytesInPlace(copy, dt.bytes)
  return new dt.array(copy.buffer, 0, n)
}

/** Checks the (inflated) file holds the declared data, then builds the image. Throws NiftiError. */
const finish = (header: NiftiHeaderInfo, full: Uint8Array, file: string, gz: boolean, owned: boolean): NiftiImage => {
  if (header.voxOffset > full.length) {
    throw new NiftiError({
      file,
      field: "vox_offset",
      reason: `is ${header.voxOffset}, past the end of the data (${full.length} bytes${gz ? " decompressed" : ""})`,
      hint: "the header is corrupt or the file truncated: copy or download it again"
    })
  }
  if (full.length < header.byteLength) {
    throw new NiftiError({
      file,
      field: "data",
      reason: `the header declares ${describeSize(header)} but the ${gz ? "decompressed " : ""}file ends at byte ${full.length}`,
      hint: "the file is truncated: copy or download it again"
    })
  }
  const data = voxelData(full, header, owned)
  return { header, volume: { shape: shapeOf(header), geometry: geometryOf(header), data } }
}

const inflateError = (file: string, header: NiftiHeaderInfo, failure: GunzipFailure | { readonly tooLarge: true }): NiftiError =>
  failure instanceof GunzipFailure
    ? gzipError(file, failure)
    : new NiftiError({
        file,
        field: "data",
        reason: `inflates to more than the ${header.byteLength} bytes its header declares (${describeSize(header)})`,
        hint: "the header's dim or datatype do not match the data: the file is corrupt"
      })

/**
 * Decodes a whole NIfTI-1 or NIfTI-2 image (raw or gzipped, detected by the gzip magic).
 * Every malformed input (truncation, lying header, too many voxels, unknown datatype, bad magic,
 * corrupt gzip, empty file, bad dims or vox_offset) is a NiftiError naming the field.
 */
export const decodeNifti = (bytes: Uint8Array, options: DecodeOptions): Either.Either<NiftiImage, NiftiError> =>
  attempt(options.file, () => {
    const { file } = options
    if (!isGzip(bytes)) return finish(parseHeader(bytes, options), bytes, file, false, options.adoptBuffer === true)
    const header = parseHeader(gzipHeaderBytes(bytes, file), options)
    // The voxel limit has been checked: inflating header.byteLength bytes is bounded.
    const out = gunzipAll(bytes, header.byteLength, TRAILING_SLACK)
    if (out instanceof GunzipFailure || "tooLarge" in out) throw inflateError(file, header, out)
    return finish(header, out, file, true, true)
  })

/**
 * For callers that inflate a .nii.gz themselves, e.g. with the asynchronous zlib off the main
 * thread: the zlib options to use (bounded by the header), and how to finish either way.
 */
export const inflateOptions = (header: NiftiHeaderInfo): zlib.ZlibOptions => gunzipAllOptions(header.byteLength, TRAILING_SLACK)

/** The image from the bytes zlib inflated with `inflateOptions(header)`; the bytes are adopted. */
export const decodeInflated = (
  inflated: Uint8Array,
  header: NiftiHeaderInfo,
  options: { readonly file: string }
): Either.Either<NiftiImage, NiftiError> => attempt(options.file, () => finish(header, inflated, options.file, true, true))

/** The NiftiError for what zlib threw while inflating with `inflateOptions(header)`. */
export const inflateFailure = (e: unknown, header: NiftiHeaderInfo, options: { readonly file: string }): NiftiError =>
  inflateError(options.file, header, classifyGunzipError(e))
