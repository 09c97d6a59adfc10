import { Either } from "effect"
import { describe, expect, it } from "vitest"
import { decodeNifti, encodeNifti1, geometryFromAffine } from "../../../src/ops/nifti/index.ts"
import { defaultGeometry, type Volume } from "../../../src/ops/volume.ts"

const rotated = geometryFromAffine([0, -0.8, 0, 10.5, 0.7, 0, 0, -20.25, 0, 0, -2.5, 30, 0, 0, 0, 1], { qformCode: 1, sformCode: 2 })
const decode = (bytes: Uint8Array) => decodeNifti(bytes, { file: "out.nii.gz" }).pipe(Either.getOrThrow)

describe("encodeNifti1", () => {
  it("round-trips uint8, int16 and float32 volumes with their geometry", () => {
    const shape = [3, 4, 5] as const
    const cases = [
      { datatype: "uint8", data: new Uint8Array(60).map((_, i) => i % 2) },
      { datatype: "int16", data: new Int16Array(60).map((_, i) => i * 37 - 1024) },
      { datatype: "float32", data: new Float32Array(60).map((_, i) => i / 7 - 3) }
    ] as const
    for (const { datatype, data } of cases) {
      const volume: Volume = { shape, geometry: rotated, data }
      const back = decode(encodeNifti1(volume, datatype, { description: "mask" }))
      expect(back.header.version).toBe(1)
      expect(back.header.datatype).toBe(datatype)
      expect(back.header.description).toBe("mask")
      expect(back.header.scaled).toBe(false)
      expect(back.volume.shape).toEqual(shape)
      expect(back.volume.data).toBeInstanceOf(data.constructor)
      expect(Array.from(back.volume.data)).toEqual(Array.from(data))
      const g = back.volume.geometry
      expect(g.qformCode).toBe(1)
      expect(g.sformCode).toBe(2)
      expect(g.qfac).toBe(rotated.qfac)
      expect(g.xyztUnits).toBe(2)
      expect(g.spacing).toEqual(rotated.spacing.map(Math.fround))
      expect(g.quatern).toEqual(rotated.quatern.map(Math.fround))
      expect(g.qoffset).toEqual(rotated.qoffset.map(Math.fround))
      expect(g.srow).toEqual(rotated.srow.map(Math.fround))
      expect(g.affine).toEqual(rotated.affine.map(Math.fround))
    }
  })

  it("keeps a mask aligned with the image it was predicted from", () => {
    const ct = decode(encodeNifti1({ shape: [2, 2, 2], geometry: rotated, data: new Int16Array(8) }, "int16"))
    const mask = decode(encodeNifti1({ ...ct.volume, data: new Uint8Array(8).fill(1) }, "uint8"))
    expect(mask.volume.geometry).toEqual(ct.volume.geometry)
  })

  it("rounds and saturates when narrowing to an integer datatype", () => {
    const data = new Float32Array([-40000, -1.5, -0.4, 0.5, 2.6, 40000, Number.NaN, 1e9])
    const asInt16 = decode(encodeNifti1({ shape: [8, 1, 1], geometry: defaultGeometry(), data }, "int16"))
    expect(Array.from(asInt16.volume.data)).toEqual([-32768, -1, -0, 1, 3, 32767, 0, 32767].map((x) => x + 0))
    const asUint8 = decode(encodeNifti1({ shape: [8, 1, 1], geometry: defaultGeometry(), data }, "uint8"))
    expect(Array.from(asUint8.volume.data)).toEqual([0, 0, 0, 1, 3, 255, 0, 255])
    const fromInt32 = decode(encodeNifti1({ shape: [2, 1, 1], geometry: defaultGeometry(), data: new Int32Array([70000, -70000]) }, "int16"))
    expect(Array.from(fromInt32.volume.data)).toEqual([32767, -32768])
  })

  it("writes a raw little-endian NIfTI-1 with vox_offset 352 when gzip is off", () => {
    const bytes = encodeNifti1({ shape: [2, 1, 1], geometry: defaultGeometry([0.5, 0.5, 1]), data: new Int16Array([1, -2]) }, "int16", { gzip: false })
    const view = new DataView(bytes.buffer, bytes.byteOffset)
    expect(bytes.length).toBe(352 + 4)
    expect(view.getInt32(0, true)).toBe(348)
    expect(view.getFloat32(108, true)).toBe(352)
    expect(new TextDecoder().decode(bytes.subarray(344, 347))).toBe("n+1")
    expect(view.getInt16(352, true)).toBe(1)
    expect(view.getInt16(354, true)).toBe(-2)
  })

  it("keeps at most 79 printable characters of the description", () => {
    const long = "é".repeat(3) + "x".repeat(100)
    const back = decode(encodeNifti1({ shape: [1, 1, 1], geometry: defaultGeometry(), data: new Uint8Array(1) }, "uint8", { description: long }))
    expect(back.header.description).toBe("???" + "x".repeat(76))
  })

  it("refuses volumes NIfTI-1 cannot hold or whose data does not match the shape", () => {
    expect(() => encodeNifti1({ shape: [40000, 1, 1], geometry: defaultGeometry(), data: new Uint8Array(40000) }, "uint8")).toThrow(RangeError)
    expect(() => encodeNifti1({ shape: [2, 2, 2], geometry: defaultGeometry(), data: new Uint8Array(7) }, "uint8")).toThrow(RangeError)
  })
})
