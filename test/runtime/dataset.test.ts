import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { encodeNifti1 } from "../../src/ops/nifti/index.ts"
import { defaultGeometry, type Volume } from "../../src/ops/volume.ts"
import { DatasetError, foregroundMask, loadCase, loadDataset, type DatasetSource } from "../../src/runtime/dataset.ts"
import { writePhantomDataset } from "../../src/runtime/phantom-dataset.ts"

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "rstn-dataset-"))
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }))

const write = (file: string, volume: Volume, datatype: "uint8" | "int16" | "float32") => {
  fs.mkdirSync(path.dirname(file), { recursive: true })
  fs.writeFileSync(file, encodeNifti1(volume, datatype))
}
const vol = <D extends Volume["data"]>(shape: [number, number, number], data: D, spacing: [number, number, number] = [1, 1, 2]): Volume<D> => ({
  shape,
  geometry: defaultGeometry(spacing),
  data
})
const failure = async (source: DatasetSource): Promise<DatasetError> => {
  const e = await Effect.runPromise(Effect.flip(loadDataset(source)))
  expect(e).toBeInstanceOf(DatasetError)
  return e
}
const decathlon = (name: string, json: unknown): string => {
  const root = path.join(tmp, name)
  fs.mkdirSync(root, { recursive: true })
  fs.writeFileSync(path.join(root, "dataset.json"), typeof json === "string" ? json : JSON.stringify(json))
  return root
}

const pairsBase = path.join(tmp, "pairs")
beforeAll(() => {
  // Labels 0 background, 1 organ, 2 tumour, as in the Decathlon pancreas task.
  write(path.join(pairsBase, "img", "b.nii.gz"), vol([2, 2, 2], Int16Array.from([-1000, 0, 40, 50, 60, 70, 80, 90])), "int16")
  write(path.join(pairsBase, "lab", "b.nii.gz"), vol([2, 2, 2], Uint8Array.from([0, 1, 2, 1, 0, 0, 2, 0])), "uint8")
  write(path.join(pairsBase, "img", "a.nii"), vol([2, 2, 2], new Int16Array(8)), "int16")
  write(path.join(pairsBase, "lab", "a.nii"), vol([2, 2, 2], Float32Array.from([0, 0.9999, 0, 0, 0, 0, 0, 1])), "float32")
  write(path.join(pairsBase, "lab", "wrong-shape.nii.gz"), vol([2, 2, 3], new Uint8Array(12)), "uint8")
  write(path.join(pairsBase, "lab", "wrong-spacing.nii.gz"), vol([2, 2, 2], new Uint8Array(8), [1, 1, 2.5]), "uint8")
})

describe("loadDataset (Decathlon layout)", () => {
  it("lists the cases of a phantom dataset sorted by id with absolute paths inside the root", async () => {
    const root = path.join(tmp, "phantom")
    await Effect.runPromise(writePhantomDataset({ out: root, cases: 3, seed: 1, size: "small" }))
    // Shuffle the listing: the dataset order must not depend on it.
    const listing = JSON.parse(fs.readFileSync(path.join(root, "dataset.json"), "utf8"))
    listing.training.reverse()
    fs.writeFileSync(path.join(root, "dataset.json"), JSON.stringify(listing))
    const ds = await Effect.runPromise(loadDataset({ kind: "decathlon", root }))
    expect(ds.root).toBe(root)
    expect(ds.cases.map((c) => c.id)).toEqual(["case_000", "case_001", "case_002"])
    expect(ds.cases[1]!.image).toBe(path.join(root, "imagesTr", "case_001.nii.gz"))
    const loaded = await Effect.runPromise(loadCase(ds.cases[1]!))
    expect(loaded.image.shape).toEqual([96, 96, 48])
    expect(loaded.label.data.some((v) => v === 1)).toBe(true)
    expect(loaded.label.data.every((v) => v === 0 || v === 1)).toBe(true)
  })

  it("names a missing or malformed dataset.json, and the exact key at fault", async () => {
    const missing = await failure({ kind: "decathlon", root: path.join(tmp, "nowhere") })
    expect(missing.file).toBe(path.join(tmp, "nowhere", "dataset.json"))
    expect(missing.reason).toBe("no such file")
    expect(missing.hint).toContain("rstn phantom")

    const bad = await failure({ kind: "decathlon", root: decathlon("badjson", '{ "training": [ }') })
    expect(bad.reason).toMatch(/not valid JSON/)

    const noTraining = await failure({ kind: "decathlon", root: decathlon("notraining", { name: "x" }) })
    expect(noTraining.key).toBe("training")

    const noLabel = await failure({
      kind: "decathlon",
      root: decathlon("nolabel", { training: [{ image: "./a.nii.gz", label: "./b.nii.gz" }, { image: "./c.nii.gz" }] })
    })
    expect(noLabel.key).toBe("training[1].label")
    expect(noLabel.message).toContain("(training[1].label): is missing")
  })

  it("refuses paths that leave the dataset root, relative or absolute", async () => {
    const escape = await failure({
      kind: "decathlon",
      root: decathlon("escape", { training: [{ image: "../../etc/passwd", label: "./x.nii.gz" }] })
    })
    expect(escape.key).toBe("training[0].image")
    expect(escape.reason).toContain("'../../etc/passwd' leaves the dataset root")

    const absolute = await failure({ kind: "pairs", base: pairsBase, pairs: [{ image: "/etc/passwd", label: "lab/b.nii.gz" }] })
    expect(absolute.key).toBe("pairs[0].image")
    // An absolute path inside the root is fine.
    const ok = await Effect.runPromise(
      loadDataset({ kind: "pairs", base: pairsBase, pairs: [{ image: path.join(pairsBase, "img", "b.nii.gz"), label: "lab/b.nii.gz" }] })
    )
    expect(ok.cases[0]!.id).toBe("b")
  })

  it("names the first missing file and counts the others", async () => {
    const e = await failure({
      kind: "pairs",
      base: pairsBase,
      pairs: [
        { image: "img/b.nii.gz", label: "lab/missing.nii.gz" },
        { image: "img/gone.nii.gz", label: "lab/gone.nii.gz", id: "gone" }
      ]
    })
    expect(e.file).toBe(path.join(pairsBase, "lab", "missing.nii.gz"))
    expect(e.key).toBe("pairs[0].label")
    expect(e.reason).toContain("and 2 more")
  })

  it("refuses duplicate and unsafe case ids", async () => {
    const dup = await failure({
      kind: "pairs",
      base: pairsBase,
      pairs: [
        { image: "img/b.nii.gz", label: "lab/b.nii.gz" },
        { image: "img/a.nii", label: "lab/a.nii", id: "b" }
      ]
    })
    expect(dup.reason).toContain("also the id of pairs[0]")
    const unsafe = await failure({ kind: "pairs", base: pairsBase, pairs: [{ image: "img/b.nii.gz", label: "lab/b.nii.gz", id: "../x" }] })
    expect(unsafe.reason).toContain("may only hold")
  })
})

describe("loadCase", () => {
  const pair = (label: string) => ({ id: "b", image: path.join(pairsBase, "img", "b.nii.gz"), label: path.join(pairsBase, "lab", label) })

  it("turns the label into the target mask: every non-zero label by default, or the chosen values", async () => {
    const all = await Effect.runPromise(loadCase(pair("b.nii.gz")))
    expect(Array.from(all.label.data)).toEqual([0, 1, 1, 1, 0, 0, 1, 0])
    expect(Array.from(all.image.data)).toEqual([-1000, 0, 40, 50, 60, 70, 80, 90])
    const organOnly = await Effect.runPromise(loadCase(pair("b.nii.gz"), { foreground: [1] }))
    expect(Array.from(organOnly.label.data)).toEqual([0, 1, 0, 1, 0, 0, 0, 0])
    // Float labels are rounded before matching.
    const floats = await Effect.runPromise(loadCase({ id: "a", image: path.join(pairsBase, "img", "a.nii"), label: path.join(pairsBase, "lab", "a.nii") }))
    expect(Array.from(floats.label.data)).toEqual([0, 1, 0, 0, 0, 0, 0, 1])
  })

  it("refuses a label of another shape or geometry, naming both files", async () => {
    const shape = await Effect.runPromise(Effect.flip(loadCase(pair("wrong-shape.nii.gz"))))
    expect(shape._tag).toBe("DatasetError")
    expect(shape.message).toContain("is 2x2x3 voxels but its image")
    expect(shape.message).toContain(path.join(pairsBase, "img", "b.nii.gz"))
    const spacing = await Effect.runPromise(Effect.flip(loadCase(pair("wrong-spacing.nii.gz"))))
    expect(spacing.message).toContain("spacing[2] is 2.5 in the label, 2 in the image")
  })

  it("passes NIfTI errors through typed", async () => {
    const corrupt = path.join(pairsBase, "lab", "corrupt.nii.gz")
    fs.writeFileSync(corrupt, new Uint8Array([0x1f, 0x8b, 8, 0, 1, 2, 3]))
    const e = await Effect.runPromise(Effect.flip(loadCase(pair("corrupt.nii.gz"))))
    expect(e._tag).toBe("NiftiError")
  })
})

describe("foregroundMask", () => {
  it("matches values beyond the byte range too", () => {
    const v = vol([4, 1, 1], Int16Array.from([0, 300, -2, 1]))
    expect(Array.from(foregroundMask(v, [300, -2]))).toEqual([0, 1, 1, 0])
    expect(Array.from(foregroundMask(v))).toEqual([0, 1, 1, 1])
  })
})
