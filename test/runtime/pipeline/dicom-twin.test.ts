/**
 * The done-when of DICOM input: the tiny pipeline run on phantoms written as DICOM series (NIH
 * Pancreas-CT's layout, `rstn phantom --format dicom`) gives the same Dice, case by case and
 * round by round, as on the same phantoms written as NIfTI. The long tiny pipeline (its fuse
 * stages binarise at 0.1) is used because the plain one predicts empty masks, and two empty
 * masks are equal whatever the input was.
 */
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { loadPipeline } from "../../../src/dsl/load.ts"
import { readNiftiFile } from "../../../src/runtime/nifti-file.ts"
import { writePhantomDataset } from "../../../src/runtime/phantom-dataset.ts"
import { runPipeline } from "../../../src/runtime/run-pipeline.ts"
import { longTiny } from "./long-tiny.ts"

const data = fs.mkdtempSync(path.join(os.tmpdir(), "rstn-dicom-twin-"))

const run = async (file: string) => {
  const { pipeline } = await Effect.runPromise(loadPipeline(file, []))
  return Effect.runPromise(runPipeline({ file, overrides: [], pipeline, out: () => {} }))
}

interface CaseResult {
  readonly caseId: string
  readonly rounds: ReadonlyArray<{ readonly dsc: number; readonly voxels: number }>
}
const casesOf = (runDir: string): CaseResult[] => JSON.parse(fs.readFileSync(path.join(runDir, "cases.json"), "utf8")) as CaseResult[]

describe("a DICOM phantom series through the tiny pipeline", () => {
  let nifti: ReturnType<typeof longTiny>
  let dicom: ReturnType<typeof longTiny>
  beforeAll(async () => {
    // The tiny pipeline's phantoms (4 small cases, seed 11), once as NIfTI and once as DICOM.
    nifti = longTiny(path.join(data, "nifti"))
    await Effect.runPromise(writePhantomDataset({ out: path.join(data, "dicom"), cases: 4, seed: 11, size: "small", format: "dicom" }))
    dicom = longTiny(path.join(data, "unused"))
    const yaml = fs.readFileSync(dicom.file, "utf8")
    const source = `source: { kind: nih-pancreas, images: ${JSON.stringify(path.join(data, "dicom", "images"))}, labels: ${JSON.stringify(path.join(data, "dicom", "labels"))} }`
    fs.writeFileSync(dicom.file, yaml.replace(/source: \{ kind: phantom.*\}/, source))
    expect(fs.readFileSync(dicom.file, "utf8")).toContain("kind: nih-pancreas")
    expect(await run(nifti.file)).toBe(0)
    expect(await run(dicom.file)).toBe(0)
  }, 400_000)
  afterAll(() => {
    for (const dir of [data, nifti?.dir, dicom?.dir]) if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true })
  })

  it("tests the same cases with the same DSC in every round", () => {
    const a = casesOf(nifti.runDir)
    const b = casesOf(dicom.runDir)
    expect(b.map((c) => c.caseId)).toEqual(["PANCREAS_0001", "PANCREAS_0002"])
    expect(a.map((c) => c.caseId)).toEqual(["case_000", "case_001"])
    expect(b.map((c) => c.rounds.map((r) => [r.dsc, r.voxels]))).toEqual(a.map((c) => c.rounds.map((r) => [r.dsc, r.voxels])))
    const summary = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, "summary.json"), "utf8"))
    expect(summary(dicom.runDir).final).toEqual(summary(nifti.runDir).final)
    // Something was learnt, so the equality is not that of two empty masks.
    expect(a.some((c) => c.rounds.some((r) => r.voxels > 0))).toBe(true)
  })

  it("writes the same masks, on the series' grid", async () => {
    for (const [id, twin] of [
      ["PANCREAS_0001", "case_000"],
      ["PANCREAS_0002", "case_001"]
    ] as const) {
      const a = await Effect.runPromise(readNiftiFile(path.join(nifti.runDir, "predictions", `${twin}.nii.gz`)))
      const b = await Effect.runPromise(readNiftiFile(path.join(dicom.runDir, "predictions", `${id}.nii.gz`)))
      expect(Array.from(b.volume.data)).toEqual(Array.from(a.volume.data))
      // The series' affine (from its decimal strings) is the twin's up to float32 rounding.
      b.volume.geometry.affine.forEach((x, i) => expect(Math.abs(x - a.volume.geometry.affine[i]!)).toBeLessThan(1e-4))
    }
  })
})
