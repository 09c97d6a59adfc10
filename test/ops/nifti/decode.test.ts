import { Either } from "effect"
import * as zlib from "node:zlib"
import { describe, expect, it } from "vitest"
import { decodeNifti, decodeNiftiHeader, type NiftiError, type NiftiImage } from "../../../src/ops/nifti/index.ts"
import { buildNifti, type FixtureSpec } from "./build-nifti.ts"

const ok = (bytes: Uint8Array, maxVoxels?: number): NiftiImage => {
  const r = decodeNifti(bytes, { file: "f.nii", maxVoxels })
  if (Either.isLeft(r)) throw new Error(`unexpected failure: ${r.left.message}`)
  return r.right
}
const fails = (bytes: Uint8Array, maxVoxels?: number): NiftiError => {
  const r = decodeNifti(bytes, { file: "bad.nii", maxVoxels })
  if (Either.isRight(r)) throw new Error("decoded a bad file")
  expect(r.left._tag).toBe("NiftiError")
  expect(r.left.file).toBe("bad.nii")
  expect(r.left.hint.length).toBeGreaterThan(0)
  return r.left
}

const types = [
  { code: 2, name: "uint8", array: Uint8Array, values: [0, 1, 127, 255] },
  { code: 256, name: "int8", array: Int8Array, values: [-128, -1, 0, 127] },
  { code: 4, name: "int16", array: Int16Array, values: [-32768, -1024, 1, 32767] },
  { code: 512, name: "uint16", array: Uint16Array, values: [0, 1, 40000, 65535] },
  { code: 8, name: "int32", array: Int32Array, values: [-2147483648, -5, 70000, 2147483647] },
  { code: 768, name: "uint32", array: Uint32Array, values: [0, 1, 3000000000, 4294967295] },
  { code: 16, name: "float32", array: Float32Array, values: [-1.5, 0, 3.25, 1e30] },
  { code: 64, name: "float64", array: Float64Array, values: [-1e300, 0.1, Math.PI, 1e-300] }
] as const

describe("decodeNifti: datatypes and byte orders", () => {
  for (const t of types) {
    for (const version of [1, 2] as const) {
      for (const littleEndian of [true, false]) {
        it(`reads ${t.name}, NIfTI-${version}, ${littleEndian ? "little" : "big"}-endian, raw and gzipped`, () => {
          const spec: FixtureSpec = { version, littleEndian, datatype: t.code, dims: [2, 2, 1], values: t.values }
          for (const gzip of [false, true]) {
            const img = ok(buildNifti({ ...spec, gzip }))
            expect(img.header.version).toBe(version)
            expect(img.header.littleEndian).toBe(littleEndian)
            expect(img.header.datatype).toBe(t.name)
            expect(img.header.scaled).toBe(false)
            expect(img.volume.shape).toEqual([2, 2, 1])
            expect(img.volume.data).toBeInstanceOf(t.array)
            expect(Array.from(img.volume.data)).toEqual(t.values.map((v) => (t.code === 16 ? Math.fround(v) : v)))
          }
        })
      }
    }
  }
})

describe("decodeNifti: memory", () => {
  it("views little-endian voxels of a raw file in place, without a copy", () => {
    const bytes = buildNifti({ datatype: 4, dims: [4, 4, 4] })
    const img = ok(bytes)
    expect(img.volume.data.buffer).toBe(bytes.buffer)
    expect(img.volume.data.byteOffset).toBe(352)
  })

  it("leaves the caller's big-endian bytes untouched unless they are handed over", () => {
    const bytes = buildNifti({ datatype: 4, littleEndian: false, dims: [4, 4, 4] })
    const before = bytes.slice()
    const copied = ok(bytes)
    expect(bytes).toEqual(before)
    expect(copied.volume.data.buffer).not.toBe(bytes.buffer)
    const adopted = decodeNifti(bytes, { file: "f", adoptBuffer: true }).pipe(Either.getOrThrow)
    expect(adopted.volume.data.buffer).toBe(bytes.buffer)
    expect(Array.from(adopted.volume.data)).toEqual(Array.from(copied.volume.data))
  })

  it("copies voxels at an unaligned offset into an aligned array", () => {
    const bytes = buildNifti({ datatype: 16, dims: [3, 1, 1], voxOffset: 353, values: [1.5, -2, 7] })
    const img = ok(bytes)
    expect(Array.from(img.volume.data)).toEqual([1.5, -2, 7])
  })
})

describe("decodeNifti: scl_slope / scl_inter", () => {
  it("applies non-trivial scaling into a Float32Array, computed in double", () => {
    for (const version of [1, 2] as const) {
      for (const littleEndian of [true, false]) {
        const img = ok(buildNifti({ version, littleEndian, datatype: 4, dims: [3, 1, 1], values: [-3, 0, 1000], sclSlope: 0.5, sclInter: -1024 }))
        expect(img.header.scaled).toBe(true)
        expect(img.volume.data).toBeInstanceOf(Float32Array)
        expect(Array.from(img.volume.data)).toEqual([-1025.5, -1024, -524])
      }
    }
  })

  it("applies an intercept alone", () => {
    const img = ok(buildNifti({ datatype: 2, dims: [2, 1, 1], values: [0, 10], sclSlope: 1, sclInter: -5 }))
    expect(Array.from(img.volume.data)).toEqual([-5, 5])
  })

  it("treats slope 0, NaN and identity as no scaling and keeps the native array", () => {
    for (const [sclSlope, sclInter] of [[0, 7], [Number.NaN, 7], [1, 0]]) {
      const img = ok(buildNifti({ datatype: 4, dims: [2, 1, 1], values: [3, 4], sclSlope, sclInter }))
      expect(img.header.scaled).toBe(false)
      expect(img.volume.data).toBeInstanceOf(Int16Array)
      expect(Array.from(img.volume.data)).toEqual([3, 4])
    }
  })

  it("refuses a valid slope with an infinite intercept", () => {
    expect(fails(buildNifti({ sclSlope: 2, sclInter: Number.POSITIVE_INFINITY })).field).toBe("scl_inter")
  })
})

describe("decodeNifti: geometry", () => {
  const srow = [0, -0.75, 0, 12, 0.5, 0, 0, -30, 0, 0, 2, 40]

  it("uses the sform when sform_code > 0, whatever the qform says", () => {
    const img = ok(buildNifti({ sformCode: 2, qformCode: 1, srow, quatern: [0, 0, 1], qoffset: [1, 2, 3] }))
    expect(img.header.affine).toEqual([...srow.map(Math.fround), 0, 0, 0, 1])
    expect(img.volume.geometry.sformCode).toBe(2)
    expect(img.volume.geometry.qformCode).toBe(1)
  })

  it("uses the qform when only qform_code > 0, with qfac flipping the third axis", () => {
    // quatern (0, 0, 1): 180 degrees about z; qfac -1 flips k.
    const img = ok(buildNifti({ version: 2, qformCode: 1, quatern: [0, 0, 1], qoffset: [5, 6, 7], pixdim: [-1, 2, 3, 4, 1, 1, 1, 1], srow }))
    expect(img.header.affine.map((x) => x + 0)).toEqual([-2, 0, 0, 5, 0, -3, 0, 6, 0, 0, -4, 7, 0, 0, 0, 1])
    expect(img.volume.geometry.qfac).toBe(-1)
    expect(img.volume.geometry.spacing).toEqual([2, 3, 4])
  })

  it("scales by pixdim when neither code is set", () => {
    const img = ok(buildNifti({ pixdim: [1, 0.5, 0.75, 2.5, 1, 1, 1, 1], srow }))
    expect(img.header.affine).toEqual([0.5, 0, 0, 0, 0, 0.75, 0, 0, 0, 0, 2.5, 0, 0, 0, 0, 1])
  })

  it("treats a 2D image as one slice and a trailing unit dimension as 3D", () => {
    expect(ok(buildNifti({ dims: [4, 5] })).volume.shape).toEqual([4, 5, 1])
    expect(ok(buildNifti({ dims: [2, 3, 4, 1] })).volume.shape).toEqual([2, 3, 4])
  })
})

describe("decodeNifti: bad files", () => {
  const good = buildNifti({ dims: [4, 4, 4] })

  it("an empty file", () => {
    const e = fails(new Uint8Array(0))
    expect(e.field).toBe("file")
    expect(e.message).toBe("cannot read bad.nii: the file is empty")
  })

  it("a file cut inside the header", () => {
    const e = fails(good.subarray(0, 200))
    expect(e.field).toBe("file")
    expect(e.reason).toContain("ends after 200 bytes")
  })

  it("not a NIfTI file at all", () => {
    const e = fails(new TextEncoder().encode("just some text that is long enough to be anything"))
    expect(e.field).toBe("sizeof_hdr")
  })

  it("a bad magic string, and a .hdr/.img pair header", () => {
    expect(fails(buildNifti({ magic: "xyz" })).field).toBe("magic")
    expect(fails(buildNifti({ magic: "ni1" })).reason).toContain(".hdr/.img")
    expect(fails(buildNifti({ version: 2, magic: "n+1" })).field).toBe("magic")
  })

  it("an unknown or unsupported datatype", () => {
    const e = fails(buildNifti({ datatype: 1024 }))
    expect(e.field).toBe("datatype")
    expect(e.reason).toBe("1024 (int64) is not supported")
    expect(fails(buildNifti({ datatype: 77 })).reason).toBe("77 is not supported")
  })

  it("zero, negative and out-of-range dims", () => {
    expect(fails(buildNifti({ dims: [4, 0, 4] })).field).toBe("dim[2]")
    expect(fails(buildNifti({ dims: [4, 4, -3] })).field).toBe("dim[3]")
    expect(fails(buildNifti({ dims: [4, 4, 4], ndim: 0 })).field).toBe("dim[0]")
    expect(fails(buildNifti({ dims: [4, 4, 4], ndim: 9 })).field).toBe("dim[0]")
    expect(fails(buildNifti({ dims: [2, 2, 2, 3] })).field).toBe("dim[4]")
  })

  it("reads a 4D file only when asked to (volumes: any): every volume's voxels, the first volume's shape", () => {
    const image = Either.getOrThrow(decodeNifti(buildNifti({ dims: [2, 2, 2, 3] }), { file: "series.nii", volumes: "any" }))
    expect(image.header.dims).toEqual([2, 2, 2, 3])
    expect(image.volume.shape).toEqual([2, 2, 2])
    expect(Array.from(image.volume.data)).toEqual(Array.from({ length: 24 }, (_, i) => i))
  })

  it("more voxels than the limit, checked before reading the data", () => {
    const e = fails(buildNifti({ dims: [4, 4, 4] }), 63)
    expect(e.field).toBe("dim")
    expect(e.reason).toContain("64 voxels, more than the limit of 63")
  })

  it("vox_offset inside the header or past the end", () => {
    expect(fails(buildNifti({ voxOffset: 100 })).field).toBe("vox_offset")
    const past = buildNifti({ dims: [1, 1, 1], voxOffset: 100000 }).subarray(0, 400)
    expect(fails(past).field).toBe("vox_offset")
  })

  it("a header claiming more voxels than the file holds", () => {
    const e = fails(good.subarray(0, good.length - 1))
    expect(e.field).toBe("data")
    expect(e.reason).toBe("the header declares 4x4x4 int16 voxels (bytes 352 to 480) but the file ends at byte 479")
  })

  it("a truncated .nii.gz", () => {
    const gz = buildNifti({ dims: [32, 32, 32], gzip: true, values: Array.from({ length: 32768 }, (_, i) => (i * 7919) % 30000) })
    const e = fails(gz.subarray(0, Math.floor(gz.length / 2)))
    expect(e.field).toBe("data")
    expect(e.reason).toContain("decompressed file ends at byte")
  })

  it("gzip garbage", () => {
    const garbage = new Uint8Array(1000).map((_, i) => (i * 31 + 7) & 255)
    garbage.set([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3])
    expect(fails(garbage).field).toBe("gzip")
    expect(fails(new Uint8Array([0x1f, 0x8b, 1, 2])).field).toBe("gzip")
  })

  it("a corrupt checksum in an otherwise complete .nii.gz", () => {
    const gz = buildNifti({ gzip: true })
    gz[gz.length - 6]! ^= 0xff
    expect(fails(gz).field).toBe("gzip")
  })

  it("a tiny .nii.gz claiming huge dims is refused without inflating", () => {
    // Inflating 5.4e13 bytes could not end in this error: the header was checked first.
    const gz = buildNifti({ dims: [30000, 30000, 30000], values: [], gzip: true })
    const e = fails(gz)
    expect(e.field).toBe("dim")
  })

  it("a .nii.gz inflating far beyond its declared size is cut off at the declared size", () => {
    const header = buildNifti({ dims: [2, 2, 2] })
    const bomb = new Uint8Array(header.length + (256 << 20))
    bomb.set(header)
    const gz = zlib.gzipSync(bomb, { level: 1 })
    const e = fails(new Uint8Array(gz))
    expect(e.field).toBe("data")
    expect(e.reason).toContain("inflates to more than the 368 bytes its header declares")
  })

  it("tolerates a little trailing data after the voxels", () => {
    const bytes = buildNifti({ dims: [2, 2, 2] })
    const padded = new Uint8Array(bytes.length + 100)
    padded.set(bytes)
    expect(Array.from(ok(padded).volume.data)).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
    expect(Array.from(ok(new Uint8Array(zlib.gzipSync(padded))).volume.data)).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
  })
})

describe("decodeNiftiHeader", () => {
  it("reads the header of a .nii.gz from its first bytes", () => {
    const gz = buildNifti({ dims: [64, 64, 64], version: 2, gzip: true, values: Array.from({ length: 64 ** 3 }, (_, i) => (i * 2654435761) % 65536 - 32768) })
    expect(gz.length).toBeGreaterThan(8192)
    const h = decodeNiftiHeader(gz.subarray(0, 4096), { file: "f" }).pipe(Either.getOrThrow)
    expect(h.dims).toEqual([64, 64, 64])
    expect(h.version).toBe(2)
    expect(h.byteLength).toBe(544 + 2 * 64 ** 3)
  })

  it("refuses a header beyond the voxel limit", () => {
    const r = decodeNiftiHeader(buildNifti({ dims: [10, 10, 10] }), { file: "f", maxVoxels: 999 })
    expect(Either.isLeft(r) && r.left.field).toBe("dim")
  })
})
