import { Effect, Exit } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { decodeNifti } from "../../src/ops/nifti/index.ts"
import { generatePhantom } from "../../src/ops/phantom/generate.ts"
import { readDicomSeries } from "../../src/runtime/dicom-series.ts"
import { PHANTOM_MARKER, PhantomError, writePhantomDataset } from "../../src/runtime/phantom-dataset.ts"

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "rstn-phantom-ds-"))
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }))

const snapshot = (dir: string): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const sub of ["", "imagesTr", "labelsTr"]) {
    const d = path.join(dir, sub)
    for (const name of fs.readdirSync(d)) {
      const f = path.join(d, name)
      if (fs.statSync(f).isFile()) out[path.join(sub, name)] = fs.readFileSync(f).toString("base64")
    }
  }
  return out
}

describe("writePhantomDataset", () => {
  const out = path.join(tmp, "ds")

  it("writes a Decathlon layout whose files decode to the generated cases", async () => {
    const seen: string[] = []
    const summary = await Effect.runPromise(
      writePhantomDataset({ out, cases: 3, seed: 5, size: "small", onCase: (p) => seen.push(`${p.id}:${p.status}`) })
    )
    expect(summary).toMatchObject({ written: 3, kept: 0 })
    expect(seen).toEqual(["case_000:written", "case_001:written", "case_002:written"])
    const json = JSON.parse(fs.readFileSync(path.join(out, "dataset.json"), "utf8"))
    expect(json.labels).toEqual({ "0": "background", "1": "pancreas" })
    expect(json.numTraining).toBe(3)
    expect(json.training[2]).toEqual({ image: "./imagesTr/case_002.nii.gz", label: "./labelsTr/case_002.nii.gz" })
    const bytes = new Uint8Array(fs.readFileSync(path.join(out, "imagesTr", "case_001.nii.gz")))
    const decoded = decodeNifti(bytes, { file: "case_001" })
    expect(decoded._tag).toBe("Right")
    if (decoded._tag !== "Right") return
    expect(decoded.right.header.datatype).toBe("int16")
    const expected = generatePhantom({ seed: 5, index: 1, size: "small" })
    expect(Array.from(decoded.right.volume.data.slice(0, 5000))).toEqual(Array.from(expected.image.data.slice(0, 5000)))
    expect(decoded.right.volume.geometry.spacing[2]).toBeCloseTo(expected.image.geometry.spacing[2], 5)
    const label = decodeNifti(new Uint8Array(fs.readFileSync(path.join(out, "labelsTr", "case_001.nii.gz"))), { file: "l" })
    expect(label._tag === "Right" && label.right.header.datatype).toBe("uint8")
  })

  it("is idempotent: a rerun keeps every case and leaves identical bytes", async () => {
    const before = snapshot(out)
    const summary = await Effect.runPromise(writePhantomDataset({ out, cases: 3, seed: 5, size: "small" }))
    expect(summary).toMatchObject({ written: 0, kept: 3 })
    expect(snapshot(out)).toEqual(before)
  })

  it("completes an interrupted dataset and regenerates the same bytes for a lost case", async () => {
    const before = snapshot(out)
    fs.rmSync(path.join(out, "labelsTr", "case_001.nii.gz"))
    fs.rmSync(path.join(out, "dataset.json"))
    const summary = await Effect.runPromise(writePhantomDataset({ out, cases: 3, seed: 5, size: "small" }))
    expect(summary).toMatchObject({ written: 1, kept: 2 })
    expect(snapshot(out)).toEqual(before)
  })

  it("rewrites every case when the seed changes, and drops cases beyond the new count", async () => {
    const summary = await Effect.runPromise(writePhantomDataset({ out, cases: 2, seed: 6, size: "small" }))
    expect(summary).toMatchObject({ written: 2, kept: 0 })
    expect(fs.readdirSync(path.join(out, "imagesTr")).sort()).toEqual(["case_000.nii.gz", "case_001.nii.gz"])
    expect(JSON.parse(fs.readFileSync(path.join(out, PHANTOM_MARKER), "utf8"))).toMatchObject({ seed: 6, size: "small" })
  })

  it("refuses a directory holding other data, and bad counts or seeds", async () => {
    const foreign = path.join(tmp, "foreign")
    fs.mkdirSync(foreign)
    fs.writeFileSync(path.join(foreign, "notes.txt"), "mine")
    const exit = await Effect.runPromiseExit(writePhantomDataset({ out: foreign, cases: 1, seed: 0, size: "small" }))
    expect(Exit.isFailure(exit)).toBe(true)
    const error = Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined
    expect(error).toBeInstanceOf(PhantomError)
    expect((error as PhantomError).message).toContain("not written by rstn phantom")
    expect(fs.readdirSync(foreign)).toEqual(["notes.txt"])

    for (const bad of [{ cases: 0, seed: 0 }, { cases: 2.5, seed: 0 }, { cases: 1, seed: -1 }]) {
      const e = await Effect.runPromise(Effect.flip(writePhantomDataset({ out: path.join(tmp, "x"), size: "small", ...bad })))
      expect(e._tag).toBe("PhantomError")
    }
  })
})

describe("writePhantomDataset --format dicom", () => {
  const out = path.join(tmp, "nih")
  const files = (dir: string): string[] => (fs.readdirSync(dir, { recursive: true }) as string[]).sort()

  it("writes NIH Pancreas-CT's layout: case i's series is its NIfTI twin's volume, voxel for voxel", async () => {
    const seen: string[] = []
    const summary = await Effect.runPromise(
      writePhantomDataset({ out, cases: 3, seed: 5, size: "small", format: "dicom", onCase: (p) => seen.push(`${p.id}:${p.status}`) })
    )
    expect(summary).toEqual({ listing: path.join(out, "images"), written: 3, kept: 0 })
    expect(seen).toEqual(["PANCREAS_0001:written", "PANCREAS_0002:written", "PANCREAS_0003:written"])
    expect(fs.readdirSync(path.join(out, "labels")).sort()).toEqual(["label0001.nii.gz", "label0002.nii.gz", "label0003.nii.gz"])
    const slices = fs.readdirSync(path.join(out, "images", "PANCREAS_0002", "phantom-study", "ct-series")).sort()
    expect(slices).toHaveLength(48)
    expect(slices[0]).toBe("1-001.dcm")
    const series = await Effect.runPromise(readDicomSeries(path.join(out, "images", "PANCREAS_0002")))
    const expected = generatePhantom({ seed: 5, index: 1, size: "small" })
    expect(series.volume.shape).toEqual(expected.image.shape)
    expect(Array.from(series.volume.data)).toEqual(Array.from(expected.image.data))
    series.volume.geometry.affine.forEach((x, i) => expect(x).toBeCloseTo(expected.image.geometry.affine[i]!, 9))
  })

  it("keeps the series on a rerun, and drops patients beyond a smaller count", async () => {
    const before = files(out)
    expect(await Effect.runPromise(writePhantomDataset({ out, cases: 3, seed: 5, size: "small", format: "dicom" }))).toMatchObject({ written: 0, kept: 3 })
    expect(files(out)).toEqual(before)
    await Effect.runPromise(writePhantomDataset({ out, cases: 2, seed: 5, size: "small", format: "dicom" }))
    expect(fs.readdirSync(path.join(out, "images")).sort()).toEqual(["PANCREAS_0001", "PANCREAS_0002"])
    expect(fs.readdirSync(path.join(out, "labels")).sort()).toEqual(["label0001.nii.gz", "label0002.nii.gz"])
  })

  it("holds one layout: switching format replaces the other one's files", async () => {
    await Effect.runPromise(writePhantomDataset({ out, cases: 2, seed: 5, size: "small", format: "nifti" }))
    expect(fs.readdirSync(out).sort()).toEqual([PHANTOM_MARKER, "dataset.json", "imagesTr", "labelsTr"].sort())
    await Effect.runPromise(writePhantomDataset({ out, cases: 2, seed: 5, size: "small", format: "dicom" }))
    expect(fs.readdirSync(out).sort()).toEqual([PHANTOM_MARKER, "images", "labels"].sort())
  })
})
