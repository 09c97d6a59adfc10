/**
 * The DICOM dataset sources: NIH Pancreas-CT's layout (`PANCREAS_NNNN/<study>/<series>/*.dcm`
 * with `labelNNNN.nii.gz`) and generic series/label pairs; a case's series read with its label,
 * whose geometry must be the series' own.
 */
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { encodeDicomSeries } from "../../src/ops/dicom/index.ts"
import { encodeNifti1, geometryFromAffine } from "../../src/ops/nifti/index.ts"
import type { Volume } from "../../src/ops/volume.ts"
import { DatasetError, loadCase, loadDataset, type DatasetSource } from "../../src/runtime/dataset.ts"
import { writeDicomSeries } from "../../src/runtime/dicom-series.ts"

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "rstn-dicom-dataset-"))
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }))

// RAS affine: 0.5 x 0.75 mm pixels, 2 mm slices; shape 4x3x5.
const affine = [-0.5, 0, 0, 10, 0, -0.75, 0, 20, 0, 0, 2, 30, 0, 0, 0, 1]
const shape = [4, 3, 5] as const
const image = (seed: number): Volume<Int16Array> => ({
  shape,
  geometry: geometryFromAffine(affine),
  data: new Int16Array(60).map((_, i) => ((i * 37 + seed * 11) % 300) - 1000)
})
const label: Volume<Uint8Array> = { shape, geometry: geometryFromAffine(affine), data: new Uint8Array(60).map((_, i) => (i % 9 === 0 ? 1 : i % 13 === 0 ? 2 : 0)) }

const writeSeries = (dir: string, v: Volume, key: string) =>
  Effect.runPromise(writeDicomSeries(dir, encodeDicomSeries(v, { key })))
const writeNifti = (file: string, v: Volume, datatype: "uint8" | "int16") => {
  fs.mkdirSync(path.dirname(file), { recursive: true })
  fs.writeFileSync(file, encodeNifti1(v, datatype))
}
const failure = async (source: DatasetSource): Promise<DatasetError> => {
  const e = await Effect.runPromise(Effect.flip(loadDataset(source)))
  expect(e).toBeInstanceOf(DatasetError)
  return e
}

const nih = path.join(tmp, "nih")
const images = path.join(nih, "Pancreas-CT")
const labels = path.join(nih, "labels")
beforeAll(async () => {
  // Written out of order, next to what the download also holds (a licence file, a stray folder).
  await writeSeries(path.join(images, "PANCREAS_0002", "study-b", "series-b"), image(2), "p2")
  await writeSeries(path.join(images, "PANCREAS_0001", "study-a", "series-a"), image(1), "p1")
  fs.writeFileSync(path.join(images, "LICENSE"), "CC BY 3.0\n")
  fs.mkdirSync(path.join(images, "notes"))
  writeNifti(path.join(labels, "label0001.nii.gz"), label, "uint8")
  writeNifti(path.join(labels, "label0002.nii"), label, "uint8")
})

describe("dataset.source { kind: nih-pancreas }", () => {
  it("pairs each PANCREAS_NNNN directory with labelNNNN.nii.gz (or .nii), sorted by id", async () => {
    const ds = await Effect.runPromise(loadDataset({ kind: "nih-pancreas", images, labels }))
    expect(ds.cases).toEqual([
      { id: "PANCREAS_0001", image: path.join(images, "PANCREAS_0001"), label: path.join(labels, "label0001.nii.gz") },
      { id: "PANCREAS_0002", image: path.join(images, "PANCREAS_0002"), label: path.join(labels, "label0002.nii") }
    ])
  })

  it("reads a case's series and label: the series' voxels and geometry, the label's mask", async () => {
    const ds = await Effect.runPromise(loadDataset({ kind: "nih-pancreas", images, labels }))
    const c = await Effect.runPromise(loadCase(ds.cases[1]!, { foreground: [1] }))
    expect(c.image.shape).toEqual([4, 3, 5])
    expect(Array.from(c.image.data)).toEqual(Array.from(image(2).data))
    c.image.geometry.affine.forEach((x, i) => expect(x).toBeCloseTo(affine[i]!, 9))
    expect(Array.from(c.label.data)).toEqual(Array.from(label.data, (v) => (v === 1 ? 1 : 0)))
  })

  it("refuses a label that does not lie on its series: the same mask stored flipped along z", async () => {
    const flippedDir = path.join(tmp, "flipped")
    await writeSeries(path.join(flippedDir, "images", "PANCREAS_0001", "s"), image(1), "p1")
    // The same voxels in the world, stored from the top slice down: a valid NIfTI, another grid.
    const flipped = new Uint8Array(60)
    for (let z = 0; z < 5; z++) flipped.set(label.data.subarray(z * 12, z * 12 + 12), (4 - z) * 12)
    const flippedAffine = [...affine]
    flippedAffine[10] = -2
    flippedAffine[11] = 30 + 4 * 2
    writeNifti(path.join(flippedDir, "labels", "label0001.nii.gz"), { shape, geometry: geometryFromAffine(flippedAffine), data: flipped }, "uint8")
    const ds = await Effect.runPromise(loadDataset({ kind: "nih-pancreas", images: path.join(flippedDir, "images"), labels: path.join(flippedDir, "labels") }))
    const e = await Effect.runPromise(Effect.flip(loadCase(ds.cases[0]!)))
    expect(e).toBeInstanceOf(DatasetError)
    expect(e).toMatchObject({ file: path.join(flippedDir, "labels", "label0001.nii.gz") })
    expect((e as DatasetError).reason).toContain(`does not lie on its image ${path.join(flippedDir, "images", "PANCREAS_0001")}: affine row 2 column 2 is -2 in the label, 2`)
  })

  it("names a patient without a label, and the label directory", async () => {
    await writeSeries(path.join(images, "PANCREAS_0003", "s", "s"), image(3), "p3")
    try {
      const e = await failure({ kind: "nih-pancreas", images, labels })
      expect(e.file).toBe(labels)
      expect(e.key).toBe("dataset.source.labels")
      expect(e.reason).toBe(`has no label0003.nii.gz for ${path.join(images, "PANCREAS_0003")}`)
      expect(e.hint).toContain("copy NIH Pancreas-CT's label files")
    } finally {
      fs.rmSync(path.join(images, "PANCREAS_0003"), { recursive: true })
    }
  })

  it("names an images directory that holds no patients, or none at all", async () => {
    const e = await failure({ kind: "nih-pancreas", images: labels, labels })
    expect(e).toMatchObject({ file: labels, key: "dataset.source.images", reason: "holds no PANCREAS_NNNN directories" })
    const gone = await failure({ kind: "nih-pancreas", images: path.join(tmp, "nowhere"), labels })
    expect(gone).toMatchObject({ key: "dataset.source.images", reason: "no such directory" })
  })
})

describe("dataset.source { kind: dicom }", () => {
  it("pairs series directories with labels, the id defaulting to the series directory's name", async () => {
    const ds = await Effect.runPromise(
      loadDataset({
        kind: "dicom",
        base: nih,
        pairs: [
          { series: "Pancreas-CT/PANCREAS_0002/study-b/series-b", label: "labels/label0002.nii", id: "second" },
          { series: "Pancreas-CT/PANCREAS_0001/study-a/series-a", label: "labels/label0001.nii.gz" }
        ]
      })
    )
    expect(ds.cases.map((c) => [c.id, path.relative(nih, c.image)])).toEqual([
      ["second", "Pancreas-CT/PANCREAS_0002/study-b/series-b"],
      ["series-a", "Pancreas-CT/PANCREAS_0001/study-a/series-a"]
    ])
    const c = await Effect.runPromise(loadCase(ds.cases[1]!))
    expect(Array.from(c.image.data)).toEqual(Array.from(image(1).data))
  })

  it("refuses a series that is a file, naming the pair's key", async () => {
    const e = await failure({ kind: "dicom", base: nih, pairs: [{ series: "labels/label0001.nii.gz", label: "labels/label0001.nii.gz", id: "x" }] })
    expect(e).toMatchObject({ file: path.join(labels, "label0001.nii.gz"), key: "pairs[0].series" })
    expect(e.reason).toBe(`is listed in ${nih} as a DICOM series directory but is a file`)
  })
})
