/**
 * Interop with nifti_tool (nifti_clib, Debian nifti-bin), an independent C implementation:
 * files written here pass its header and image checks, carry the header fields we set, give
 * its qto_xyz/sto_xyz matrices equal to our affine, and hold the voxel values we wrote.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { encodeNifti1, geometryFromAffine, qformAffine, sformAffine } from "../../../src/ops/nifti/index.ts"
import type { Volume } from "../../../src/ops/volume.ts"
import { toolRuns } from "../../support/external-tool.ts"
import { NIFTI_TOOL, requireNiftiTool, run } from "./external-tools.ts"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rstn-nifti-tool-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

/** `name offset nvals values` rows of nifti_tool's -disp_hdr / -disp_nim tables. */
const fieldsOf = (table: string): Record<string, string> => {
  const fields: Record<string, string> = {}
  for (const line of table.split("\n")) {
    const m = /^\s{2}(\w+)\s+\d+\s+\d+\s?(.*)$/.exec(line)
    if (m) fields[m[1]!] = m[2]!.trim()
  }
  return fields
}
const numbers = (s: string | undefined): number[] => (s ?? "").split(/\s+/).filter(Boolean).map(Number)

/** nifti_tool prints floats with about 6 significant digits. */
const expectNumbersClose = (got: number[], want: ReadonlyArray<number>, what: string): void => {
  expect(got.length, what).toBe(want.length)
  got.forEach((g, i) => expect(Math.abs(g - want[i]!), `${what}[${i}]: ${g} vs ${want[i]}`).toBeLessThanOrEqual(2e-5 * Math.max(1, Math.abs(want[i]!))))
}

const geometry = geometryFromAffine([-0.7, 0.1, 0, 180.5, -0.1, -0.69, 0.02, 210.25, 0, 0.03, 2.5, -410, 0, 0, 0, 1], {
  qformCode: 1,
  sformCode: 2
})
const volume: Volume = { shape: [6, 5, 4], geometry, data: new Int16Array(120).map((_, i) => (i * 613) % 4001 - 2000) }

describe.runIf(toolRuns(NIFTI_TOOL))("files written by rstn, read by nifti_tool", () => {
  beforeAll(() => requireNiftiTool())

  it("pass nifti_tool's header and image checks", () => {
    const file = path.join(dir, "check.nii.gz")
    fs.writeFileSync(file, encodeNifti1(volume, "int16"))
    const out = run("nifti_tool", ["-check_hdr", "-check_nim", "-infiles", file])
    expect(out).toContain(`header IS GOOD for file ${file}`)
    expect(out).toContain(`nifti_image IS GOOD for file ${file}`)
  })

  it("show the header fields we set", () => {
    for (const datatype of ["uint8", "int16", "float32"] as const) {
      const file = path.join(dir, `hdr-${datatype}.nii.gz`)
      fs.writeFileSync(file, encodeNifti1(volume, datatype, { description: "rstn interop" }))
      const f = fieldsOf(run("nifti_tool", ["-disp_hdr", "-infiles", file]))
      expect(f.sizeof_hdr).toBe("348")
      expect(f.magic).toBe("n+1")
      expect(numbers(f.dim)).toEqual([3, 6, 5, 4, 1, 1, 1, 1])
      expect(Number(f.datatype)).toBe({ uint8: 2, int16: 4, float32: 16 }[datatype])
      expect(Number(f.bitpix)).toBe({ uint8: 8, int16: 16, float32: 32 }[datatype])
      expect(Number(f.vox_offset)).toBe(352)
      expect([Number(f.scl_slope), Number(f.scl_inter)]).toEqual([1, 0])
      expect(Number(f.xyzt_units)).toBe(2)
      expect([Number(f.qform_code), Number(f.sform_code)]).toEqual([1, 2])
      expect(f.descrip).toBe("rstn interop")
      expectNumbersClose(numbers(f.pixdim).slice(0, 4), [geometry.qfac, ...geometry.spacing], "pixdim")
      expectNumbersClose([f.quatern_b, f.quatern_c, f.quatern_d].map(Number), geometry.quatern, "quatern")
      expectNumbersClose([f.qoffset_x, f.qoffset_y, f.qoffset_z].map(Number), geometry.qoffset, "qoffset")
      expectNumbersClose([...numbers(f.srow_x), ...numbers(f.srow_y), ...numbers(f.srow_z)], geometry.srow, "srow")
    }
  })

  it("compute the same qform and sform matrices as we do", () => {
    const file = path.join(dir, "nim.nii.gz")
    fs.writeFileSync(file, encodeNifti1(volume, "uint8"))
    const f = fieldsOf(run("nifti_tool", ["-disp_nim", "-infiles", file]))
    const g = geometry
    expectNumbersClose(numbers(f.qto_xyz), qformAffine(g.quatern, g.qoffset, g.spacing, g.qfac), "qto_xyz")
    expectNumbersClose(numbers(f.sto_xyz), sformAffine(g.srow), "sto_xyz")
    expect(Number(f.qfac)).toBe(g.qfac)
  })

  it("hold the voxel values we wrote, in NIfTI order", () => {
    for (const gzip of [true, false]) {
      const file = path.join(dir, gzip ? "data.nii.gz" : "data.nii")
      fs.writeFileSync(file, encodeNifti1(volume, "int16", { gzip }))
      const all = numbers(run("nifti_tool", ["-disp_ci", "-1", "-1", "-1", "0", "0", "0", "0", "-quiet", "-infiles", file]))
      expect(all).toEqual(Array.from(volume.data))
      // One voxel by index (x=4, y=3, z=2): x varies fastest.
      const one = numbers(run("nifti_tool", ["-disp_ci", "4", "3", "2", "0", "0", "0", "0", "-quiet", "-infiles", file]))
      expect(one).toEqual([volume.data[4 + 6 * (3 + 5 * 2)]])
    }
  })
})
