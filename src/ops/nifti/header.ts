/**
 * NIfTI-1 and NIfTI-2 header parsing and validation, either byte order.
 *
 * Our own parser rather than nifti-reader-js (0.8), which falls short here (checked): for
 * NIfTI-1 it prefers the qform whenever qform_code > sform_code (the standard says sform first);
 * for NIfTI-2 it returns the srow matrix even when sform_code is 0 and never computes a qform;
 * it decodes big-endian 64-bit fields of 2^31 or more as huge negative numbers; and it throws
 * plain Errors on malformed input instead of naming the field. Layout: nifti1.h / nifti2.h.
 */
import * as buffer from "node:buffer"
import type { Affine, Geometry, Vec3 } from "../volume.ts"
import { bestAffine, sanitizeSpacing } from "./affine.ts"
import { datatypeByCode, describeDatatypeCode, type NiftiDatatype, supportedDatatypeNames } from "./datatype.ts"
import { DEFAULT_MAX_VOXELS } from "./limits.ts"
import { NiftiError } from "./nifti-error.ts"

export { DEFAULT_MAX_VOXELS }

export const NIFTI1_HEADER_SIZE = 348
export const NIFTI2_HEADER_SIZE = 540

export interface NiftiHeaderInfo {
  readonly version: 1 | 2
  readonly littleEndian: boolean
  readonly datatype: NiftiDatatype
  readonly datatypeCode: number
  readonly bitpix: number
  /** dim[1..dim[0]]: the size along each axis. */
  readonly dims: ReadonlyArray<number>
  /** pixdim[0..7] as stored (pixdim[0] is qfac). */
  readonly pixdim: ReadonlyArray<number>
  readonly voxOffset: number
  readonly sclSlope: number
  readonly sclInter: number
  /** True when scl_slope/scl_inter change values; the volume then holds scaled float32 values. */
  readonly scaled: boolean
  readonly qformCode: number
  readonly sformCode: number
  readonly quatern: Vec3
  readonly qoffset: Vec3
  /** srow_x, srow_y, srow_z (12 numbers). */
  readonly srow: ReadonlyArray<number>
  /** The voxel-to-world affine the standard prescribes (sform > qform > pixdim), row-major. */
  readonly affine: Affine
  readonly xyztUnits: number
  readonly intentCode: number
  readonly calMin: number
  readonly calMax: number
  readonly description: string
  readonly magic: string
  /** Bytes from the start of the file to the end of the voxel data. */
  readonly byteLength: number
}

type PlacementFields = Pick<NiftiHeaderInfo, "pixdim" | "qformCode" | "sformCode" | "quatern" | "qoffset" | "srow" | "xyztUnits">

const placementOf = (h: PlacementFields): Omit<Geometry, "affine"> => ({
  spacing: [sanitizeSpacing(h.pixdim[1]!), sanitizeSpacing(h.pixdim[2]!), sanitizeSpacing(h.pixdim[3]!)],
  // nifti1_io: any negative pixdim[0] flips the third axis; anything else is 1.
  qfac: h.pixdim[0]! < 0 ? -1 : 1,
  qformCode: h.qformCode,
  sformCode: h.sformCode,
  quatern: h.quatern,
  qoffset: h.qoffset,
  srow: h.srow,
  xyztUnits: h.xyztUnits
})

/** The Volume geometry of a header: what a writer needs to reproduce its placement. */
export const geometryOf = (h: NiftiHeaderInfo): Geometry => ({ ...placementOf(h), affine: h.affine })

/** Voxels along x, y, z (1 for axes the image does not have). */
export const shapeOf = (h: NiftiHeaderInfo): [number, number, number] => [h.dims[0] ?? 1, h.dims[1] ?? 1, h.dims[2] ?? 1]

/** Scaling per nibabel and nifti1.h: slope 0 or not finite means none; identity means none. */
const scalingIsTrivial = (slope: number, inter: number): boolean =>
  slope === 0 || !Number.isFinite(slope) || (slope === 1 && inter === 0)

const asciiz = (bytes: Uint8Array, start: number, length: number): string => {
  let end = start
  while (end < start + length && bytes[end] !== 0) end++
  return buffer.Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString("latin1")
}

interface Reader {
  readonly int16: (at: number) => number
  readonly int32: (at: number) => number
  /** 64-bit integers outside the safe range come back as NaN (rejected by the checks). */
  readonly int64: (at: number) => number
  readonly float32: (at: number) => number
  readonly float64: (at: number) => number
}

const readerOf = (view: DataView, le: boolean): Reader => ({
  int16: (at) => view.getInt16(at, le),
  int32: (at) => view.getInt32(at, le),
  int64: (at) => {
    const v = view.getBigInt64(at, le)
    return v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER) ? Number.NaN : Number(v)
  },
  float32: (at) => view.getFloat32(at, le),
  float64: (at) => view.getFloat64(at, le)
})

/** The raw fields of either version, before validation. */
interface RawHeader {
  readonly version: 1 | 2
  readonly magic: string
  readonly datatypeCode: number
  readonly bitpix: number
  readonly dim: number[]
  readonly pixdim: number[]
  readonly voxOffset: number
  readonly sclSlope: number
  readonly sclInter: number
  readonly calMax: number
  readonly calMin: number
  readonly description: string
  readonly qformCode: number
  readonly sformCode: number
  readonly quatern: Vec3
  readonly qoffset: Vec3
  readonly srow: number[]
  readonly xyztUnits: number
  readonly intentCode: number
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i)

// nifti1.h: byte offsets of the NIfTI-1 header fields.
const readNifti1 = (bytes: Uint8Array, r: Reader): RawHeader => ({
  version: 1,
  magic: asciiz(bytes, 344, 4),
  dim: range(8).map((i) => r.int16(40 + 2 * i)),
  intentCode: r.int16(68),
  datatypeCode: r.int16(70),
  bitpix: r.int16(72),
  pixdim: range(8).map((i) => r.float32(76 + 4 * i)),
  voxOffset: r.float32(108),
  sclSlope: r.float32(112),
  sclInter: r.float32(116),
  xyztUnits: bytes[123]!,
  calMax: r.float32(124),
  calMin: r.float32(128),
  description: asciiz(bytes, 148, 80),
  qformCode: r.int16(252),
  sformCode: r.int16(254),
  quatern: [r.float32(256), r.float32(260), r.float32(264)],
  qoffset: [r.float32(268), r.float32(272), r.float32(276)],
  srow: range(12).map((i) => r.float32(280 + 4 * i))
})

// nifti2.h: byte offsets of the NIfTI-2 header fields.
const readNifti2 = (bytes: Uint8Array, r: Reader): RawHeader => ({
  version: 2,
  magic: asciiz(bytes, 4, 8),
  datatypeCode: r.int16(12),
  bitpix: r.int16(14),
  dim: range(8).map((i) => r.int64(16 + 8 * i)),
  pixdim: range(8).map((i) => r.float64(104 + 8 * i)),
  voxOffset: r.int64(168),
  sclSlope: r.float64(176),
  sclInter: r.float64(184),
  calMax: r.float64(192),
  calMin: r.float64(200),
  description: asciiz(bytes, 240, 80),
  qformCode: r.int32(344),
  sformCode: r.int32(348),
  quatern: [r.float64(352), r.float64(360), r.float64(368)],
  qoffset: [r.float64(376), r.float64(384), r.float64(392)],
  srow: range(12).map((i) => r.float64(400 + 8 * i)),
  xyztUnits: r.int32(500),
  intentCode: r.int32(504)
})

/** NIfTI-2 magic after its first four bytes: "\r\n\032\n" guards against text-mode transfers. */
const NIFTI2_MAGIC_TAIL = [0x0d, 0x0a, 0x1a, 0x0a]

export interface HeaderOptions {
  readonly file: string
  readonly maxVoxels?: number
  /**
   * "one" (the default): only 3D volumes, what a pipeline reads; a 4D file is refused with how to
   * extract one volume. "any": images of up to 7 dimensions, for looking at a file (`rstn
   * inspect`); the voxel data then holds every volume, one after another.
   */
  readonly volumes?: "one" | "any"
}

/**
 * Parses and validates the header at the start of `bytes` (the decompressed file, or at least
 * its first 540 bytes). Checks everything that can be checked without the voxel data, so a
 * caller can refuse a file before reading or inflating the rest. Throws NiftiError.
 */
export const parseHeader = (bytes: Uint8Array, options: HeaderOptions): NiftiHeaderInfo => {
  const { file } = options
  const maxVoxels = options.maxVoxels ?? DEFAULT_MAX_VOXELS
  const fail = (field: string, reason: string, hint: string): never => {
    throw new NiftiError({ file, field, reason, hint })
  }
  if (bytes.length === 0) fail("file", "the file is empty", "the file was not written completely: copy or export it again")
  if (bytes.length < 4) {
    fail("file", `the file holds only ${bytes.length} bytes`, "this is not a NIfTI file, or it was cut short")
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const sizeLE = view.getInt32(0, true)
  const sizeBE = view.getInt32(0, false)
  const size = [NIFTI1_HEADER_SIZE, NIFTI2_HEADER_SIZE].includes(sizeLE) ? sizeLE : sizeBE
  const littleEndian = size === sizeLE
  if (size !== NIFTI1_HEADER_SIZE && size !== NIFTI2_HEADER_SIZE) {
    fail(
      "sizeof_hdr",
      `is ${sizeLE}, expected 348 (NIfTI-1) or 540 (NIfTI-2) in either byte order`,
      "this is not a NIfTI file (.nii or .nii.gz); other formats (DICOM, NRRD, MHA) must be converted first"
    )
  }
  if (bytes.length < size) {
    fail(
      "file",
      `the file ends after ${bytes.length} bytes, inside the ${size}-byte NIfTI-${size === NIFTI1_HEADER_SIZE ? 1 : 2} header`,
      "the file is truncated: copy or download it again"
    )
  }
  const r = readerOf(view, littleEndian)
  const raw = size === NIFTI1_HEADER_SIZE ? readNifti1(bytes, r) : readNifti2(bytes, r)

  if (raw.version === 1) {
    if (raw.magic === "ni1") {
      fail("magic", "is 'ni1': a header of a separate .hdr/.img pair", "convert the pair to one .nii file (e.g. nifti_tool -copy_image or nibabel)")
    }
    if (raw.magic !== "n+1") {
      fail(
        "magic",
        `is '${raw.magic}', expected 'n+1'`,
        "an Analyze 7.5 or corrupt header: convert it to NIfTI-1 (e.g. with nibabel) first"
      )
    }
  } else {
    const tail = Array.from(bytes.subarray(8, 12))
    if (raw.magic !== "n+2" || tail.some((b, i) => b !== NIFTI2_MAGIC_TAIL[i])) {
      fail(
        "magic",
        raw.magic === "ni2" ? "is 'ni2': a header of a separate .hdr/.img pair" : `is '${raw.magic}', expected 'n+2'`,
        raw.magic === "ni2"
          ? "convert the pair to one .nii file"
          : "the NIfTI-2 header is corrupt (a text-mode transfer alters its magic): copy the file again in binary mode"
      )
    }
  }

  const datatype = datatypeByCode(raw.datatypeCode)
  if (datatype === undefined) {
    fail(
      "datatype",
      `${describeDatatypeCode(raw.datatypeCode)} is not supported`,
      `convert the image to one of ${supportedDatatypeNames().join(", ")} (e.g. fslmaths IN OUT -odt float)`
    )
  }
  const dt = datatype!

  const ndim = raw.dim[0]!
  if (!(ndim >= 1 && ndim <= 7)) {
    fail("dim[0]", `is ${ndim}, expected the number of dimensions, 1 to 7`, "the header is corrupt")
  }
  for (let i = 1; i <= ndim; i++) {
    const d = raw.dim[i]!
    if (!Number.isSafeInteger(d) || d < 1) {
      fail(`dim[${i}]`, `is ${Number.isNaN(d) ? "beyond 2^53" : d}, expected a size of at least 1`, "the header is corrupt")
    }
  }
  for (let i = 4; i <= ndim && options.volumes !== "any"; i++) {
    if (raw.dim[i] !== 1) {
      fail(
        `dim[${i}]`,
        `is ${raw.dim[i]}: a ${ndim}D image, rstn reads 3D volumes`,
        "extract one 3D volume first (e.g. fslroi IN OUT 0 1 or nibabel's image.slicer[..., 0])"
      )
    }
  }
  const dims = raw.dim.slice(1, ndim + 1)
  const voxels = dims.reduce((a, b) => a * b, 1)
  if (voxels > maxVoxels) {
    fail(
      "dim",
      `${dims.join("x")} is ${voxels} voxels, more than the limit of ${maxVoxels}`,
      "crop or resample the image, or raise the limit (maxVoxels / --max-voxels) if the machine has the memory"
    )
  }

  if (!Number.isSafeInteger(raw.voxOffset) || raw.voxOffset < size) {
    fail(
      "vox_offset",
      `is ${raw.voxOffset}, expected a whole number of bytes past the ${size}-byte header`,
      "the header is corrupt"
    )
  }
  const byteLength = raw.voxOffset + voxels * dt.bytes
  // Every byte is held in one buffer, which Node caps (4 GiB on Node 20).
  if (byteLength > buffer.constants.MAX_LENGTH) {
    fail(
      "dim",
      `${dims.join("x")} ${dt.name} voxels need ${byteLength} bytes, more than one buffer holds (${buffer.constants.MAX_LENGTH})`,
      "crop or resample the image"
    )
  }

  const trivial = scalingIsTrivial(raw.sclSlope, raw.sclInter)
  if (!trivial && !Number.isFinite(raw.sclInter)) {
    fail("scl_inter", `is ${raw.sclInter} while scl_slope is ${raw.sclSlope}`, "the header is corrupt: set scl_inter to a finite number")
  }

  return {
    version: raw.version,
    littleEndian,
    datatype: dt.name,
    datatypeCode: raw.datatypeCode,
    bitpix: raw.bitpix,
    dims,
    pixdim: raw.pixdim,
    voxOffset: raw.voxOffset,
    sclSlope: raw.sclSlope,
    sclInter: raw.sclInter,
    scaled: !trivial,
    qformCode: raw.qformCode,
    sformCode: raw.sformCode,
    quatern: raw.quatern,
    qoffset: raw.qoffset,
    srow: raw.srow,
    affine: bestAffine(placementOf(raw)),
    xyztUnits: raw.xyztUnits,
    intentCode: raw.intentCode,
    calMin: raw.calMin,
    calMax: raw.calMax,
    description: raw.description,
    magic: raw.magic,
    byteLength
  }
}
