/**
 * Test fixtures: a deliberately plain NIfTI writer, independent of src/ops/nifti/encode.ts, that
 * can produce either version, either byte order, every datatype and any (also broken) field.
 */
import * as zlib from "node:zlib"

export interface FixtureSpec {
  readonly version?: 1 | 2
  readonly littleEndian?: boolean
  /** nifti1.h DT_* code. */
  readonly datatype?: number
  /** dim[1..]: dim[0] is their count unless `ndim` says otherwise. */
  readonly dims?: ReadonlyArray<number>
  readonly ndim?: number
  readonly pixdim?: ReadonlyArray<number>
  readonly voxOffset?: number
  readonly sclSlope?: number
  readonly sclInter?: number
  readonly qformCode?: number
  readonly sformCode?: number
  readonly quatern?: ReadonlyArray<number>
  readonly qoffset?: ReadonlyArray<number>
  readonly srow?: ReadonlyArray<number>
  readonly xyztUnits?: number
  readonly descrip?: string
  readonly magic?: string
  readonly sizeofHdr?: number
  /** Voxel values in file order; default 0, 1, 2, ... */
  readonly values?: ReadonlyArray<number>
  readonly gzip?: boolean
}

const sizes: Record<number, number> = { 2: 1, 4: 2, 8: 4, 16: 4, 64: 8, 256: 1, 512: 2, 768: 4, 1024: 8 }

const put = (v: DataView, code: number, at: number, x: number, le: boolean): void => {
  switch (code) {
    case 2: return v.setUint8(at, x)
    case 256: return v.setInt8(at, x)
    case 4: return v.setInt16(at, x, le)
    case 512: return v.setUint16(at, x, le)
    case 8: return v.setInt32(at, x, le)
    case 768: return v.setUint32(at, x, le)
    case 16: return v.setFloat32(at, x, le)
    case 64: return v.setFloat64(at, x, le)
    case 1024: return v.setBigInt64(at, BigInt(x), le)
    default: return v.setUint8(at, x)
  }
}

export const buildNifti = (spec: FixtureSpec = {}): Uint8Array => {
  const version = spec.version ?? 1
  const le = spec.littleEndian ?? true
  const code = spec.datatype ?? 4
  const dims = spec.dims ?? [2, 3, 4]
  const count = dims.reduce((a, b) => a * b, 1)
  const values = spec.values ?? Array.from({ length: count }, (_, i) => i)
  const size = sizes[code] ?? 1
  const hdrSize = version === 1 ? 348 : 540
  const voxOffset = spec.voxOffset ?? hdrSize + 4
  const bytes = new Uint8Array(Math.max(voxOffset, hdrSize + 4) + values.length * size)
  const v = new DataView(bytes.buffer)
  const dim = [spec.ndim ?? dims.length, ...dims, ...Array<number>(7 - dims.length).fill(1)].slice(0, 8)
  const pixdim = spec.pixdim ?? [1, 1, 1, 1, 1, 1, 1, 1]
  const srow = spec.srow ?? [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0]
  const quatern = spec.quatern ?? [0, 0, 0]
  const qoffset = spec.qoffset ?? [0, 0, 0]
  const ascii = (at: number, s: string): void => s.split("").forEach((c, i) => (bytes[at + i] = c.charCodeAt(0)))
  if (version === 1) {
    v.setInt32(0, spec.sizeofHdr ?? 348, le)
    dim.forEach((d, i) => v.setInt16(40 + 2 * i, d, le))
    v.setInt16(70, code, le)
    v.setInt16(72, size * 8, le)
    pixdim.forEach((p, i) => v.setFloat32(76 + 4 * i, p, le))
    v.setFloat32(108, voxOffset, le)
    v.setFloat32(112, spec.sclSlope ?? 1, le)
    v.setFloat32(116, spec.sclInter ?? 0, le)
    bytes[123] = spec.xyztUnits ?? 2
    ascii(148, spec.descrip ?? "fixture")
    v.setInt16(252, spec.qformCode ?? 0, le)
    v.setInt16(254, spec.sformCode ?? 0, le)
    quatern.forEach((q, i) => v.setFloat32(256 + 4 * i, q, le))
    qoffset.forEach((q, i) => v.setFloat32(268 + 4 * i, q, le))
    srow.forEach((s, i) => v.setFloat32(280 + 4 * i, s, le))
    ascii(344, spec.magic ?? "n+1")
  } else {
    v.setInt32(0, spec.sizeofHdr ?? 540, le)
    ascii(4, spec.magic ?? "n+2")
    bytes.set([0x0d, 0x0a, 0x1a, 0x0a], 8)
    v.setInt16(12, code, le)
    v.setInt16(14, size * 8, le)
    dim.forEach((d, i) => v.setBigInt64(16 + 8 * i, BigInt(d), le))
    pixdim.forEach((p, i) => v.setFloat64(104 + 8 * i, p, le))
    v.setBigInt64(168, BigInt(voxOffset), le)
    v.setFloat64(176, spec.sclSlope ?? 1, le)
    v.setFloat64(184, spec.sclInter ?? 0, le)
    ascii(240, spec.descrip ?? "fixture")
    v.setInt32(344, spec.qformCode ?? 0, le)
    v.setInt32(348, spec.sformCode ?? 0, le)
    quatern.forEach((q, i) => v.setFloat64(352 + 8 * i, q, le))
    qoffset.forEach((q, i) => v.setFloat64(376 + 8 * i, q, le))
    srow.forEach((s, i) => v.setFloat64(400 + 8 * i, s, le))
    v.setInt32(500, spec.xyztUnits ?? 2, le)
  }
  const start = Math.max(voxOffset, hdrSize + 4)
  values.forEach((x, i) => put(v, code, start + i * size, x, le))
  return spec.gzip ? new Uint8Array(zlib.gzipSync(bytes)) : bytes
}
