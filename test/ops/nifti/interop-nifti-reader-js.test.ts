/**
 * Files written here, read by nifti-reader-js, the parser inside browser viewers (NiiVue,
 * Papaya): same dims, datatype, voxel values and affine, so a mask opens aligned there too.
 */
import * as nifti from "nifti-reader-js"
import { describe, expect, it } from "vitest"
import { encodeNifti1, geometryFromAffine } from "../../../src/ops/nifti/index.ts"
import type { Volume } from "../../../src/ops/volume.ts"

const toArrayBuffer = (u: Uint8Array): ArrayBuffer => u.slice().buffer

describe("files written by rstn, read by nifti-reader-js", () => {
  it("give the same dims, datatype, values and affine", () => {
    const geometry = geometryFromAffine([0, 0.9, 0, -80, -0.7, 0, 0, 95.5, 0, 0, -2, 150, 0, 0, 0, 1], { qformCode: 1, sformCode: 2 })
    const volume: Volume = { shape: [4, 3, 2], geometry, data: new Float32Array(24).map((_, i) => i * 0.25 - 2) }
    for (const datatype of ["uint8", "int16", "float32"] as const) {
      let data = toArrayBuffer(encodeNifti1(volume, datatype))
      expect(nifti.isCompressed(data)).toBe(true)
      data = nifti.decompress(data) as ArrayBuffer
      expect(nifti.isNIFTI1(data)).toBe(true)
      const h = nifti.readHeader(data)
      expect(h.dims.slice(0, 4)).toEqual([3, 4, 3, 2])
      expect(h.datatypeCode).toBe({ uint8: 2, int16: 4, float32: 16 }[datatype])
      const values = Array.from(new { uint8: Uint8Array, int16: Int16Array, float32: Float32Array }[datatype](nifti.readImage(h, data)))
      const want = Array.from(volume.data, (v) => (datatype === "float32" ? v : datatype === "uint8" ? Math.min(255, Math.max(0, Math.round(v))) : Math.round(v)))
      expect(values.map((v) => v + 0)).toEqual(want.map((v) => v + 0))
      h.affine.flat().forEach((x: number, i: number) => expect(x).toBeCloseTo(geometry.affine[i]!, 5))
    }
  })
})
