/**
 * The NIfTI datatypes rstn reads and writes: their header codes (nifti1.h `DT_*`), sizes and the
 * typed arrays that hold them.
 */
import type { VoxelArray } from "../volume.ts"

export type NiftiDatatype = "uint8" | "int8" | "int16" | "uint16" | "int32" | "uint32" | "float32" | "float64"

interface TypedArrayClass {
  readonly BYTES_PER_ELEMENT: number
  new (length: number): VoxelArray
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): VoxelArray
}

export interface DatatypeInfo {
  readonly name: NiftiDatatype
  /** nifti1.h DT_* code. */
  readonly code: number
  readonly bytes: number
  readonly array: TypedArrayClass
  /** Reads one value at a byte offset in the given byte order (unaligned or foreign-endian data). */
  readonly get: (view: DataView, at: number, littleEndian: boolean) => number
}

const table: ReadonlyArray<DatatypeInfo> = [
  { name: "uint8", code: 2, bytes: 1, array: Uint8Array, get: (v, at) => v.getUint8(at) },
  { name: "int16", code: 4, bytes: 2, array: Int16Array, get: (v, at, le) => v.getInt16(at, le) },
  { name: "int32", code: 8, bytes: 4, array: Int32Array, get: (v, at, le) => v.getInt32(at, le) },
  { name: "float32", code: 16, bytes: 4, array: Float32Array, get: (v, at, le) => v.getFloat32(at, le) },
  { name: "float64", code: 64, bytes: 8, array: Float64Array, get: (v, at, le) => v.getFloat64(at, le) },
  { name: "int8", code: 256, bytes: 1, array: Int8Array, get: (v, at) => v.getInt8(at) },
  { name: "uint16", code: 512, bytes: 2, array: Uint16Array, get: (v, at, le) => v.getUint16(at, le) },
  { name: "uint32", code: 768, bytes: 4, array: Uint32Array, get: (v, at, le) => v.getUint32(at, le) }
]

export const datatypeByCode = (code: number): DatatypeInfo | undefined => table.find((d) => d.code === code)
export const datatypeByName = (name: NiftiDatatype): DatatypeInfo => table.find((d) => d.name === name)!

/** Names of datatypes the standard defines that rstn does not read, for error messages. */
const otherCodes: Readonly<Record<number, string>> = {
  0: "DT_UNKNOWN",
  1: "DT_BINARY",
  32: "complex64",
  128: "RGB24",
  1024: "int64",
  1280: "uint64",
  1536: "float128",
  1792: "complex128",
  2048: "complex256",
  2304: "RGBA32"
}

export const describeDatatypeCode = (code: number): string => {
  const known = datatypeByCode(code)?.name ?? otherCodes[code]
  return known === undefined ? `${code}` : `${code} (${known})`
}

export const supportedDatatypeNames = (): ReadonlyArray<NiftiDatatype> => table.map((d) => d.name)
