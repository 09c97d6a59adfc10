import { Effect } from "effect"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, describe, expect, it } from "vitest"
import { runInspect, valueStats } from "../../src/cli/commands/inspect.ts"
import { encodeNifti1, geometryFromAffine } from "../../src/ops/nifti/index.ts"
import { encodeDicomSeries } from "../../src/ops/dicom/index.ts"
import { writeDicomSeries } from "../../src/runtime/dicom-series.ts"
import { buildNifti } from "../ops/nifti/build-nifti.ts"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rstn-inspect-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))
const bin = path.join(path.dirname(fileURLToPath(import.meta.url)), "../../bin/rstn.js")

const ct = path.join(dir, "ct.nii.gz")
const geometry = geometryFromAffine([0.5, 0, 0, -10, 0, 0.5, 0, 20, 0, 0, 2, -30, 0, 0, 0, 1], { qformCode: 1, sformCode: 1 })
fs.writeFileSync(ct, encodeNifti1({ shape: [2, 2, 2], geometry, data: new Int16Array([-1000, -500, 0, 40, 80, 120, 200, 1000]) }, "int16"))
// A big-endian NIfTI-2 with scaling: stored 0..7, slope 2, inter -1 -> -1, 1, ..., 13.
const scaled = path.join(dir, "scaled.nii")
fs.writeFileSync(scaled, buildNifti({ version: 2, littleEndian: false, dims: [2, 2, 2], sclSlope: 2, sclInter: -1 }))
const garbage = path.join(dir, "garbage.nii.gz")
fs.writeFileSync(garbage, new Uint8Array([0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]))
const missing = path.join(dir, "missing.nii")
// A 4D series (2x2x2 voxels, 3 volumes) as nibabel's test data holds: stored 0..23.
const series = path.join(dir, "series.nii")
fs.writeFileSync(series, buildNifti({ dims: [2, 2, 2, 3] }))

const inspect = async (files: string[], maxVoxels?: number) => {
  const stdout: string[] = []
  const stderr: string[] = []
  const code = await Effect.runPromise(runInspect(files, { maxVoxels }, { stdout: (l) => stdout.push(l), stderr: (l) => stderr.push(l) }))
  return { code, stdout, stderr }
}

describe("rstn inspect", () => {
  it("prints one JSON object per readable file with header, geometry and value range", async () => {
    const { code, stdout, stderr } = await inspect([ct, scaled])
    expect(code).toBe(0)
    expect(stderr).toEqual([])
    expect(stdout).toHaveLength(2)
    const [a, b] = stdout.map((l) => JSON.parse(l))
    expect(a).toMatchObject({
      path: ct,
      version: 1,
      datatype: "int16",
      byte_order: "little",
      dims: [2, 2, 2],
      spacing: [0.5, 0.5, 2],
      affine: [[0.5, 0, 0, -10], [0, 0.5, 0, 20], [0, 0, 2, -30], [0, 0, 0, 1]],
      qform_code: 1,
      sform_code: 1,
      scl_slope: 1,
      scl_inter: 0,
      scaled: false,
      min: -1000,
      max: 1000,
      mean: -60 / 8,
      nan_count: 0
    })
    expect(a.pixdim.slice(0, 4)).toEqual([1, 0.5, 0.5, 2])
    expect(b).toMatchObject({ path: scaled, version: 2, byte_order: "big", scl_slope: 2, scl_inter: -1, scaled: true, min: -1, max: 13, mean: 6 })
  })

  it("prints each bad file's error, still inspects the others, and exits 1", async () => {
    const { code, stdout, stderr } = await inspect([missing, ct, garbage])
    expect(code).toBe(1)
    expect(stdout.map((l) => JSON.parse(l).path)).toEqual([ct])
    expect(stderr).toHaveLength(2)
    expect(stderr[0]).toBe(`rstn: cannot read ${missing}: no such file\n  hint: check the path (relative paths start at the current directory)`)
    expect(stderr[1]).toMatch(new RegExp(`^rstn: cannot read ${garbage}: gzip: .*\\n  hint: `))
  })

  it("shows a 4D file's header and the value range of all its volumes: inspecting is not running", async () => {
    const { code, stdout, stderr } = await inspect([series])
    expect([code, stderr]).toEqual([0, []])
    expect(JSON.parse(stdout[0]!)).toMatchObject({ path: series, dims: [2, 2, 2, 3], min: 0, max: 23, mean: 11.5, nan_count: 0 })
    // --max-voxels counts every volume.
    expect((await inspect([series], 20)).stderr[0]).toContain("dim: 2x2x2x3 is 24 voxels, more than the limit of 20")
  })

  it("refuses a named pipe and a device at once instead of waiting on them", async () => {
    const fifo = path.join(dir, "pipe.nii")
    spawnSync("mkfifo", [fifo])
    const { code, stderr } = await inspect([fifo, "/dev/zero"])
    expect(code).toBe(1)
    expect(stderr).toEqual([
      `rstn: cannot read ${fifo}: it is a named pipe (FIFO), not a NIfTI file\n  hint: name a .nii or .nii.gz file`,
      "rstn: cannot read /dev/zero: it is a device, not a NIfTI file\n  hint: name a .nii or .nii.gz file"
    ])
  })

  it("refuses images above --max-voxels", async () => {
    const { code, stderr } = await inspect([ct], 7)
    expect(code).toBe(1)
    expect(stderr[0]).toContain("dim: 2x2x2 is 8 voxels, more than the limit of 7")
  })

  it("is registered as a command of the rstn binary", () => {
    const r = spawnSync(process.execPath, [bin, "inspect", "--max-voxels", "100", ct, missing], { encoding: "utf8" })
    expect(r.status).toBe(1)
    expect(JSON.parse(r.stdout.trim())).toMatchObject({ path: ct, dims: [2, 2, 2] })
    expect(r.stderr).toContain(`rstn: cannot read ${missing}: no such file`)
  })
})

describe("valueStats", () => {
  it("leaves NaN out and counts it", () => {
    expect(valueStats(new Float32Array([1, Number.NaN, 3, -2]))).toEqual({ min: -2, max: 3, mean: 2 / 3, nanCount: 1 })
    expect(valueStats(new Float32Array([Number.NaN]))).toEqual({ min: null, max: null, mean: null, nanCount: 1 })
  })
})

describe("rstn inspect DIR (a DICOM series)", () => {
  // ct.nii.gz's volume written as a series: its twin.
  const twin = { shape: [2, 2, 2] as const, geometry, data: new Int16Array([-1000, -500, 0, 40, 80, 120, 200, 1000]) }
  const seriesDir = path.join(dir, "series-dir")
  const gappy = path.join(dir, "gappy")
  const written = (async () => {
    await Effect.runPromise(writeDicomSeries(seriesDir, encodeDicomSeries(twin, { key: "inspect" })))
    // Four slices, the third taken out: a gap of two steps.
    const four = { shape: [2, 2, 4] as const, geometry, data: new Int16Array(16) }
    await Effect.runPromise(writeDicomSeries(gappy, encodeDicomSeries(four, { key: "gappy" }).filter((_, i) => i !== 2)))
  })()

  it("prints the NIfTI twin's keys and values, plus the series' UID, file count and transfer syntax", async () => {
    await written
    const { code, stdout, stderr } = await inspect([seriesDir, ct])
    expect([code, stderr]).toEqual([0, []])
    const [series, nifti] = stdout.map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(Object.keys(series!).slice(0, Object.keys(nifti!).length)).toEqual(Object.keys(nifti!))
    for (const key of ["dims", "spacing", "affine", "min", "max", "mean", "nan_count", "datatype"]) expect(series![key], key).toEqual(nifti![key])
    expect(series).toMatchObject({ path: seriesDir, version: "dicom", files: 2, transfer_syntax: "1.2.840.10008.1.2.1", scl_inter: -1024 })
    expect(series!.series_instance_uid).toMatch(/^2\.25\.\d+$/)
  })

  it("names the directory and the fault of a bad series, and still inspects the rest", async () => {
    await written
    const { code, stdout, stderr } = await inspect([gappy, ct])
    expect(code).toBe(1)
    expect(stdout).toHaveLength(1)
    expect(stderr[0]).toMatch(new RegExp(`^rstn: cannot read DICOM series ${gappy}: a slice is missing between .* a gap of 4 mm in a series that steps 2 mm\\n  hint: `))
  })
})
