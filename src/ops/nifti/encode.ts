/**
 * Writing a Volume as a NIfTI-1 file (little-endian, single .nii, gzipped by default) that
 * keeps the source geometry: pixdim, qform and sform with their codes and parameters, and
 * xyzt_units, so a predicted mask opens aligned over its CT in any viewer.
 */
import * as zlib from "node:zlib"
import { type Volume, voxelCount } from "../volume.ts"
import { HOST_LITTLE_ENDIAN, swapBytesInPlace } from "./byte-order.ts"
import { datatypeByName } from "./datatype.ts"
import { NIFTI1_HEADER_SIZE } from "./header.ts"

export type NiftiWriteDatatype = "uint8" | "int16" | "float32"

export interface EncodeOptions {
  /** Gzip the output (a .nii.gz); default true. */
  readonly gzip?: boolean
  /** The header's descrip field (at most 79 ASCII characters are kept). */
  readonly description?: string
  /** zlib compression level 0-9; default DEFAULT_GZIP_LEVEL (6). */
  readonly level?: number
}

/** zlib's own default: a good size/speed balance for CT images and masks alike. */
export const DEFAULT_GZIP_LEVEL = 6

/** Header plus the 4-byte extension flag (all zero: no extensions); nifti1.h requires >= 352. */
const VOX_OFFSET = 352

/** Integer ranges of the writable integer datatypes, for saturating conversion. */
const RANGE = { uint8: [0, 255], int16: [-32768, 32767] } as const

/**
 * Voxel values in the target datatype's typed array. Same type: the input itself. Float to
 * integer (or a wider integer): rounded to nearest and clamped to the type's range, NaN to 0,
 * so a probability map thresholded upstream or an HU image survives a narrowing write sanely.
 */
const convert = (data: Volume["data"], datatype: NiftiWriteDatatype): Uint8Array | Int16Array | Float32Array => {
  const dt = datatypeByName(datatype)
  if (data instanceof dt.array) return data as Uint8Array | Int16Array | Float32Array
  const out = new dt.array(data.length) as Uint8Array | Int16Array | Float32Array
  if (datatype === "float32") {
    out.set(data)
    return out
  }
  const [lo, hi] = RANGE[datatype]
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!
    out[i] = v !== v ? 0 : v <= lo ? lo : v >= hi ? hi : Math.round(v)
  }
  return out
}

const writeHeader = (view: DataView, bytes: Uint8Array, volume: Volume, datatype: NiftiWriteDatatype, description: string): void => {
  const le = true
  const g = volume.geometry
  const dt = datatypeByName(datatype)
  // Offsets: nifti1.h.
  view.setInt32(0, NIFTI1_HEADER_SIZE, le)
  bytes[38] = 0x72 // regular = 'r', as Analyze-era readers expect
  const dim = [3, volume.shape[0], volume.shape[1], volume.shape[2], 1, 1, 1, 1]
  dim.forEach((d, i) => view.setInt16(40 + 2 * i, d, le))
  view.setInt16(70, dt.code, le)
  view.setInt16(72, dt.bytes * 8, le)
  const pixdim = [g.qfac < 0 ? -1 : 1, g.spacing[0], g.spacing[1], g.spacing[2], 1, 1, 1, 1]
  pixdim.forEach((p, i) => view.setFloat32(76 + 4 * i, p, le))
  view.setFloat32(108, VOX_OFFSET, le)
  view.setFloat32(112, 1, le) // scl_slope 1, scl_inter 0: values are stored as they are
  view.setFloat32(116, 0, le)
  bytes[123] = g.xyztUnits & 0xff
  const descrip = description.replace(/[^\x20-\x7e]/g, "?").slice(0, 79)
  for (let i = 0; i < descrip.length; i++) bytes[148 + i] = descrip.charCodeAt(i)
  view.setInt16(252, g.qformCode, le)
  view.setInt16(254, g.sformCode, le)
  g.quatern.forEach((q, i) => view.setFloat32(256 + 4 * i, q, le))
  g.qoffset.forEach((q, i) => view.setFloat32(268 + 4 * i, q, le))
  for (let i = 0; i < 12; i++) view.setFloat32(280 + 4 * i, g.srow[i] ?? 0, le)
  bytes.set([0x6e, 0x2b, 0x31, 0], 344) // magic "n+1\0": header and data in one file
}

/**
 * The bytes of a NIfTI-1 file holding `volume` as `datatype` (uint8 for masks, int16 or float32
 * for images). Throws RangeError for a volume that NIfTI-1 cannot hold (an axis above 32767
 * voxels) or whose data does not match its shape: programming errors, not file errors.
 */
export const encodeNifti1 = (volume: Volume, datatype: NiftiWriteDatatype, options: EncodeOptions = {}): Uint8Array => {
  const n = voxelCount(volume.shape)
  if (volume.data.length !== n) {
    throw new RangeError(`encodeNifti1: ${volume.data.length} values for a ${volume.shape.join("x")} volume`)
  }
  if (volume.shape.some((d) => !Number.isInteger(d) || d < 1 || d > 32767)) {
    throw new RangeError(`encodeNifti1: shape ${volume.shape.join("x")} does not fit NIfTI-1 (1 to 32767 per axis)`)
  }
  const values = convert(volume.data, datatype)
  const bytes = new Uint8Array(VOX_OFFSET + values.byteLength)
  writeHeader(new DataView(bytes.buffer), bytes, volume, datatype, options.description ?? "")
  bytes.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), VOX_OFFSET)
  if (!HOST_LITTLE_ENDIAN) swapBytesInPlace(bytes.subarray(VOX_OFFSET), values.BYTES_PER_ELEMENT)
  if (options.gzip === false) return bytes
  const gz = zlib.gzipSync(bytes, { level: options.level ?? DEFAULT_GZIP_LEVEL })
  return new Uint8Array(gz.buffer, gz.byteOffset, gz.byteLength)
}
