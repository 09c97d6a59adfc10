/**
 * Interop with nibabel, an independent implementation: files nibabel writes (every datatype,
 * both byte orders, NIfTI-1 and NIfTI-2, rotated/mirrored qform, sheared sform, scaling) read
 * back identically here, and files written here read back identically in nibabel.
 */
import { Either } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { decodeNifti, encodeNifti1, geometryFromAffine, type NiftiImage, type NiftiWriteDatatype } from "../../../src/ops/nifti/index.ts"
import type { Geometry, Volume } from "../../../src/ops/volume.ts"
import { toolRuns } from "../../support/external-tool.ts"
import { expectAffineClose, HERE, NIBABEL, PYTHON, readF64, requireNibabel, run } from "./external-tools.ts"

interface Written {
  readonly name: string
  readonly version: 1 | 2
  readonly littleEndian: boolean
  readonly datatype: string
  readonly shape: number[]
  readonly affine: number[][]
  readonly qformCode: number
  readonly sformCode: number
  readonly slope: number
  readonly inter: number
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rstn-nibabel-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

const decodeFile = (file: string): NiftiImage =>
  decodeNifti(fs.readFileSync(file), { file }).pipe(
    Either.getOrElse((e) => {
      throw new Error(e.message)
    })
  )

describe.runIf(toolRuns(NIBABEL))("files written by nibabel", () => {
  let manifest: Written[] = []
  beforeAll(() => {
    requireNibabel()
    run(PYTHON, [path.join(HERE, "nibabel-write-fixtures.py"), dir])
    manifest = JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8")) as Written[]
  })

  it("cover every datatype, both byte orders and both versions", () => {
    expect(manifest).toHaveLength(32)
    expect(new Set(manifest.map((m) => `${m.version}${m.littleEndian}`)).size).toBe(4)
    expect(manifest.some((m) => m.sformCode === 0)).toBe(true)
    expect(manifest.some((m) => m.slope !== 1 || m.inter !== 0)).toBe(true)
  })

  it("read back with nibabel's voxel values, affine and header facts", () => {
    for (const m of manifest) {
      const img = decodeFile(path.join(dir, m.name))
      const h = img.header
      expect({ name: m.name, version: h.version, le: h.littleEndian, dt: h.datatype, dims: h.dims }).toEqual({
        name: m.name,
        version: m.version,
        le: m.littleEndian,
        dt: m.datatype,
        dims: m.shape
      })
      expect([h.qformCode, h.sformCode]).toEqual([m.qformCode, m.sformCode])
      expect(img.volume.shape).toEqual(m.shape)
      // nibabel computes the qform in float32 arithmetic; the sform is read exactly by both.
      expectAffineClose(h.affine, m.affine, m.sformCode > 0 ? 1e-12 : 2e-6, m.name)
      const theirs = readF64(path.join(dir, `${m.name}.f64`))
      const ours = img.volume.data
      const scaled = m.slope !== 1 || m.inter !== 0
      expect(h.scaled).toBe(scaled)
      expect(ours.length).toBe(theirs.length)
      // Scaled values are float32 here: nibabel's float64 value rounded to float32, exactly.
      const want = scaled || m.datatype === "float32" ? Array.from(theirs, Math.fround) : Array.from(theirs)
      expect({ name: m.name, values: Array.from(ours) }).toEqual({ name: m.name, values: want })
    }
  })
})

describe.runIf(toolRuns(NIBABEL))("files written by rstn", () => {
  const rotated = geometryFromAffine([0.68, -0.12, 0.2, -101.5, 0.1, 0.79, 0.05, 97.25, -0.25, -0.02, 2.49, -310, 0, 0, 0, 1], {
    qformCode: 1,
    sformCode: 2
  })
  const mirrored = geometryFromAffine([-0.9, 0, 0, 200, 0, 0.9, 0, -50, 0, 0, -3, 20, 0, 0, 0, 1], { qformCode: 2, sformCode: 0 })
  const cases: ReadonlyArray<{ name: string; datatype: NiftiWriteDatatype; geometry: Geometry; data: Volume["data"] }> = [
    { name: "mask.nii.gz", datatype: "uint8", geometry: rotated, data: new Uint8Array(60).map((_, i) => (i * 7) % 3 === 0 ? 1 : 0) },
    { name: "ct.nii.gz", datatype: "int16", geometry: mirrored, data: new Int16Array(60).map((_, i) => i * 1093 - 32000) },
    { name: "prob.nii", datatype: "float32", geometry: rotated, data: new Float32Array(60).map((_, i) => Math.sin(i) / 3) }
  ]
  let read: Record<string, { shape: number[]; dtype: string; affine: number[][]; qform: number[][]; sform: number[][]; qformCode: number; sformCode: number; pixdim: number[]; xyztUnits: number; descrip: string; voxOffset: number; headerClass: string }> = {}
  beforeAll(() => {
    requireNibabel()
    const files = cases.map((c) => {
      const file = path.join(dir, c.name)
      const bytes = encodeNifti1({ shape: [5, 4, 3], geometry: c.geometry, data: c.data }, c.datatype, { gzip: c.name.endsWith(".gz"), description: `rstn ${c.datatype}` })
      fs.writeFileSync(file, bytes)
      return file
    })
    run(PYTHON, [path.join(HERE, "nibabel-read.py"), dir, ...files])
    read = JSON.parse(fs.readFileSync(path.join(dir, "read.json"), "utf8"))
  })

  it("read back in nibabel with identical values, datatype, geometry and header fields", () => {
    for (const c of cases) {
      const r = read[c.name]!
      expect(r.headerClass).toBe("Nifti1Header")
      expect(r.shape).toEqual([5, 4, 3])
      expect(r.dtype).toBe(c.datatype)
      expect(r.voxOffset).toBe(352)
      expect(r.descrip).toBe(`rstn ${c.datatype}`)
      expect([r.qformCode, r.sformCode]).toEqual([c.geometry.qformCode, c.geometry.sformCode])
      expect(r.pixdim.slice(0, 4)).toEqual([c.geometry.qfac, ...c.geometry.spacing].map(Math.fround))
      expect(r.xyztUnits).toBe(2)
      expect(Array.from(readF64(path.join(dir, `${c.name}.f64`)))).toEqual(Array.from(c.data))
      // Header floats are float32: that rounding is the only difference allowed.
      expectAffineClose(c.geometry.affine, r.affine, 2e-6, c.name)
      const q = geometryFromAffine(c.geometry.affine)
      expectAffineClose(q.affine, r.affine, 2e-6, `${c.name} (qform)`)
    }
  })

  it("put a mask predicted over a nibabel CT exactly where nibabel puts the CT", () => {
    // A NIfTI-2 big-endian CT with a sheared sform, and one with only a qform.
    for (const ctName of ["v2-int16-be.nii", "v1-int16-be.nii"]) {
      const ctFile = path.join(dir, ctName)
      if (!fs.existsSync(ctFile)) run(PYTHON, [path.join(HERE, "nibabel-write-fixtures.py"), dir])
      const ct = decodeFile(ctFile)
      const maskName = `mask-over-${ctName}.gz`
      fs.writeFileSync(path.join(dir, maskName), encodeNifti1({ ...ct.volume, data: new Uint8Array(ct.volume.data.length).fill(1) }, "uint8"))
      run(PYTHON, [path.join(HERE, "nibabel-read.py"), dir, ctFile, path.join(dir, maskName)])
      const both = JSON.parse(fs.readFileSync(path.join(dir, "read.json"), "utf8"))
      const [ctRead, maskRead] = [both[ctName], both[maskName]]
      expect([maskRead.qformCode, maskRead.sformCode]).toEqual([ctRead.qformCode, ctRead.sformCode])
      expect(maskRead.shape).toEqual(ctRead.shape)
      // NIfTI-2 stores float64; NIfTI-1 rounds to float32, far below a voxel.
      expectAffineClose(maskRead.affine.flat(), [ctRead.affine.flat()], 1e-6, maskName)
      expectAffineClose(maskRead.qform.flat(), [ctRead.qform.flat()], 1e-6, `${maskName} qform`)
    }
  })
})
