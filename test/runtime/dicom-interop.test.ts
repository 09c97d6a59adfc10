/**
 * Interop with independent DICOM writers: a series written by pydicom and the same series
 * written by dcmtk's dump2dcm (implicit VR) read back as the volume and affine nibabel reports
 * for the equivalent NIfTI (dicom-interop-fixtures.py). dcmtk also makes the bad series real
 * tools make: a JPEG-compressed slice (dcmcjpeg, undone with dcmdjpeg as the error says), a slice
 * of another series and a slice without pixel data (dcmodify).
 */
import { spawnSync } from "node:child_process"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { runInspect } from "../../src/cli/commands/inspect.ts"
import type { DicomError } from "../../src/ops/dicom/index.ts"
import { readDicomSeries } from "../../src/runtime/dicom-series.ts"
import { DCMTK, NIBABEL, PYDICOM, PYTHON, requireTool, toolRuns } from "../support/external-tool.ts"

const HERE = path.dirname(fileURLToPath(import.meta.url))
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rstn-dicom-interop-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

const run = (command: string, args: ReadonlyArray<string>): string => {
  const r = spawnSync(command, args, { encoding: "utf8" })
  if (r.error !== undefined || r.status !== 0) throw new Error(`${command} ${args.join(" ")} failed (${r.error?.message ?? `exit ${r.status}`}):\n${r.stdout}\n${r.stderr}`)
  return r.stdout
}

/** The typed failure (a defect or a success rejects the promise). */
const failure = (effect: Effect.Effect<unknown, DicomError>): Promise<DicomError> => Effect.runPromise(Effect.flip(effect))

interface NibabelReport {
  readonly shape: number[]
  readonly affine: number[][]
  readonly data: number[]
}

/** A copy of the dcmtk series in a fresh directory, for a test to damage. */
const copyOf = (name: string): string => {
  const to = path.join(dir, name)
  fs.cpSync(path.join(dir, "dcmtk-series"), to, { recursive: true })
  return to
}

const tools = [NIBABEL, PYDICOM, DCMTK]

describe.runIf(tools.every(toolRuns))("DICOM series from pydicom and dcmtk", () => {
  let nibabel: NibabelReport
  beforeAll(() => {
    for (const t of tools) requireTool(t)
    run(PYTHON, [path.join(HERE, "dicom-interop-fixtures.py"), dir])
    nibabel = JSON.parse(fs.readFileSync(path.join(dir, "nibabel.json"), "utf8")) as NibabelReport
    fs.mkdirSync(path.join(dir, "dcmtk-series"))
    for (const dump of fs.readdirSync(path.join(dir, "dcmtk")).filter((f) => f.endsWith(".dump"))) {
      run("dump2dcm", ["+ti", path.join(dir, "dcmtk", dump), path.join(dir, "dcmtk-series", dump.replace(/\.dump$/, ".dcm"))])
    }
  }, 60_000)

  for (const [writer, sub, syntax] of [
    ["pydicom", "pydicom", "1.2.840.10008.1.2.1"],
    ["dcmtk's dump2dcm", "dcmtk-series", "1.2.840.10008.1.2"]
  ] as const) {
    it(`reads the series ${writer} wrote as nibabel reads the equivalent NIfTI`, async () => {
      const series = await Effect.runPromise(readDicomSeries(path.join(dir, sub)))
      expect(series.info.transferSyntax).toBe(syntax)
      expect([...series.volume.shape]).toEqual(nibabel.shape)
      expect(Array.from(series.volume.data)).toEqual(nibabel.data)
      const affine = series.volume.geometry.affine
      nibabel.affine.flat().forEach((x, i) => expect(Math.abs(affine[i]! - x), `affine[${Math.floor(i / 4)}][${i % 4}]`).toBeLessThan(1e-5))
    })
  }

  it("rstn inspect prints for the series what it prints for the NIfTI twin", async () => {
    const lines: string[] = []
    const code = await Effect.runPromise(runInspect([path.join(dir, "pydicom"), path.join(dir, "twin.nii.gz")], {}, { stdout: (l) => lines.push(l), stderr: (l) => lines.push(l) }))
    expect(code).toBe(0)
    const [series, twin] = lines.map((l) => JSON.parse(l) as Record<string, unknown>)
    for (const key of Object.keys(twin!)) expect(series, key).toHaveProperty(key)
    expect(series!.dims).toEqual(twin!.dims)
    for (const key of ["min", "max", "mean"]) expect(series![key] as number).toBeCloseTo(twin![key] as number, 4)
    const flat = (k: string, r: Record<string, unknown>) => (r[k] as number[][]).flat()
    flat("affine", series!).forEach((x, i) => expect(Math.abs(x - flat("affine", twin!)[i]!)).toBeLessThan(1e-4))
    ;(series!.spacing as number[]).forEach((x, i) => expect(x).toBeCloseTo((twin!.spacing as number[])[i]!, 5))
    expect(series).toMatchObject({ version: "dicom", datatype: "int16", scl_slope: 2, scl_inter: -1000, files: 6 })
  })

  it("a JPEG-compressed slice is named, with dcmdjpeg to undo it; decompressed, the series reads again", async () => {
    const series = copyOf("jpeg")
    const slice = path.join(series, "s002.dcm")
    run("dcmcjpeg", [slice, `${slice}.jpeg`])
    fs.renameSync(`${slice}.jpeg`, slice)
    const e = await failure(readDicomSeries(series))
    expect(e).toMatchObject({ dir: series, file: "s002.dcm" })
    expect(e.reason).toMatch(/compressed with JPEG Lossless.* \(1\.2\.840\.10008\.1\.2\.4\.70\), which rstn does not decode/)
    expect(e.hint).toContain("dcmdjpeg")
    run("dcmdjpeg", [slice, `${slice}.raw`])
    fs.renameSync(`${slice}.raw`, slice)
    const read = await Effect.runPromise(readDicomSeries(series))
    expect(Array.from(read.volume.data)).toEqual(nibabel.data)
  })

  it("a slice dcmodify moved to another series makes a mixed series", async () => {
    const series = copyOf("mixed")
    run("dcmodify", ["-nb", "-m", "(0020,000e)=1.2.826.0.1.3680043.8.498.1", path.join(series, "s004.dcm")])
    const e = await failure(readDicomSeries(series))
    expect(e.dir).toBe(series)
    expect(e.reason).toMatch(/^mixes 2 series: .*\(5 files, e\.g\. s000\.dcm\); 1\.2\.826\.0\.1\.3680043\.8\.498\.1 \(1 file, e\.g\. s004\.dcm\)$/)
  })

  it("a slice whose pixel data dcmodify erased", async () => {
    const series = copyOf("no-pixels")
    run("dcmodify", ["-nb", "-ea", "(7fe0,0010)", path.join(series, "s001.dcm")])
    const e = await failure(readDicomSeries(series))
    expect(e).toMatchObject({ dir: series, file: "s001.dcm" })
    expect(e.reason).toContain("has no pixel data")
  })

  it("a slice taken out of the pydicom series", async () => {
    const series = path.join(dir, "gap")
    fs.cpSync(path.join(dir, "pydicom"), series, { recursive: true })
    // The third slice along the normal, whatever its shuffled name.
    const sorted = (await Effect.runPromise(readDicomSeries(series))).info.sliceFiles
    fs.rmSync(sorted[2]!)
    const e = await failure(readDicomSeries(series))
    expect(e.reason).toMatch(/^a slice is missing between IM\d{4} \(at .* mm\) and IM\d{4} \(at .* mm\): a gap of 5 mm in a series that steps 2\.5 mm$/)
  })
})
