/**
 * `rstn predict` and `rstn export` on a tiny run trained once, in both of its 2 folds: the mask of
 * a test image must be the run's own `predictions/` mask voxel for voxel, from the run directory
 * and from a model file moved to a fresh directory without the run or its data; a fold ensemble's
 * maps are the folds' mean; bad scans fail alone, named; finished cases are skipped unless --force.
 *
 * The tiny pipeline is long-tiny's (fuse at 0.1), so the barely trained networks give non-empty
 * masks and several rounds: an identity of two empty masks would prove nothing.
 */
import { Effect, Either } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { loadPipeline } from "../../../src/dsl/load.ts"
import { decodeNifti, encodeNifti1, geometryFromAffine, type NiftiImage } from "../../../src/ops/nifti/index.ts"
import { axisCodes, reorient, reorientation } from "../../../src/ops/orientation.ts"
import type { Shape3 } from "../../../src/ops/volume.ts"
import { runPipeline } from "../../../src/runtime/run-pipeline.ts"
import { buildNifti } from "../../ops/nifti/build-nifti.ts"
import { runRstn, startRstn, waitFor } from "../pipeline/child-run.ts"
import { longTinyYaml } from "../pipeline/long-tiny.ts"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rstn-predict-"))
const dataDir = path.join(dir, "phantom")
const runDir = path.join(dir, "run")
const file = path.join(dir, "tiny.yaml")
const twoFolds = (y: string): string => {
  if (!y.includes("fold: [0]")) throw new Error("the tiny pipeline no longer runs 'fold: [0]': update predict.test.ts")
  return y.replace("fold: [0]", "fold: [0, 1]")
}
fs.writeFileSync(file, twoFolds(longTinyYaml(dataDir, runDir)))

const read = (f: string): NiftiImage => Either.getOrThrow(decodeNifti(new Uint8Array(fs.readFileSync(f)), { file: f }))
const voxels = (f: string): number[] => Array.from(read(f).volume.data as ArrayLike<number>)
const json = (f: string) => JSON.parse(fs.readFileSync(f, "utf8"))
const fresh = (name: string) => fs.mkdtempSync(path.join(dir, `${name}-`))
const predict = (...args: string[]) => runRstn(["predict", ...args, "--no-tui"])

/** The header fields a mask must share with its scan. */
const grid = (img: NiftiImage) => {
  const g = img.volume.geometry
  return { shape: img.volume.shape, affine: g.affine, qformCode: g.qformCode, sformCode: g.sformCode, quatern: g.quatern, qoffset: g.qoffset, srow: g.srow }
}

/** A test case of `fold`: its id and image. */
const testCase = (fold: number) => {
  const c = (json(path.join(runDir, "cases.json")) as Array<{ caseId: string; fold: number }>).find((x) => x.fold === fold)!
  return { id: c.caseId, image: path.join(dataDir, "imagesTr", `${c.caseId}.nii.gz`), mask: path.join(runDir, "predictions", `${c.caseId}.nii.gz`) }
}

describe("rstn predict and rstn export on a tiny 2-fold run", () => {
  beforeAll(async () => {
    const { pipeline } = await Effect.runPromise(loadPipeline(file, []))
    const code = await Effect.runPromise(runPipeline({ file, overrides: [], pipeline, out: () => {} }))
    expect(code).toBe(0)
  }, 300_000)
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

  it("writes the run's own predictions/ mask voxel for voxel, on the scan's grid, with a JSON of rounds and times", async () => {
    const c = testCase(0)
    const out = fresh("out")
    const r = await predict(runDir, "-i", c.image, "-o", out, "--fold", "0")
    expect(r.code, r.output).toBe(0)
    const mask = path.join(out, `${c.id}.nii.gz`)
    const expected = voxels(c.mask)
    expect(expected.reduce((a, b) => a + b, 0), "the run's mask is not empty").toBeGreaterThan(0)
    expect(voxels(mask)).toEqual(expected)
    const written = read(mask)
    expect(written.header.datatype).toBe("uint8")
    expect(grid(written)).toEqual(grid(read(c.image)))

    const record = json(path.join(out, `${c.id}.json`))
    const runCase = (json(path.join(runDir, "cases.json")) as Array<{ caseId: string; rounds: Array<{ round: number; interDsc: number | null }> }>).find(
      (x) => x.caseId === c.id
    )!
    expect(record).toMatchObject({ format: "rstn-prediction", case: c.id, folds: [0], views: ["Z"], t: 0.99, maxRounds: 6 })
    expect(record.rounds.map((x: { interDsc: number | null }) => x.interDsc)).toEqual(runCase.rounds.map((x) => x.interDsc))
    expect(record.roundsRun).toBe(record.rounds.length - 1)
    expect(record.reached).toBe(record.rounds.at(-1).interDsc >= 0.99)
    expect(record.timing.coarseMs.Z).toBeGreaterThan(0)
    expect(record.rounds.slice(1).every((x: { ms: number; fineSamples: number }) => x.ms > 0 && x.fineSamples > 0)).toBe(true)
  }, 120_000)

  it("does the same from a model file in a fresh directory, without the run directory or the training data", async () => {
    const c = testCase(1)
    const expected = voxels(c.mask)
    const away = fresh("away")
    const model = path.join(away, "model.rstn")
    const exported = await runRstn(["export", runDir, "-o", model])
    expect(exported.code, exported.output).toBe(0)
    expect(exported.output).toMatch(/model\.rstn: \d+ bytes, folds 0, 1, views Z, 4 sets of weights/)
    const scan = path.join(away, "scan.nii.gz")
    fs.copyFileSync(c.image, scan)
    // Neither the run nor the data it trained on is where it was.
    const hidden = path.join(os.tmpdir(), `rstn-hidden-${process.pid}`)
    fs.mkdirSync(hidden)
    fs.renameSync(runDir, path.join(hidden, "run"))
    fs.renameSync(dataDir, path.join(hidden, "phantom"))
    try {
      const r = await predict(model, "-i", scan, "-o", path.join(away, "out"), "--fold", "1")
      expect(r.code, r.output).toBe(0)
      expect(voxels(path.join(away, "out", "scan.nii.gz"))).toEqual(expected)

      const inspected = await runRstn(["inspect", model])
      expect(inspected.code, inspected.output).toBe(0)
      expect(JSON.parse(inspected.output)).toMatchObject({ kind: "rstn-model", pipeline: "tiny", folds: [0, 1], views: ["Z"], window: [-100, 240], t: 0.99, checksums: "ok" })

      // One flipped byte in the last weights, and a file of another kind.
      const damaged = path.join(away, "damaged.rstn")
      const bytes = fs.readFileSync(model)
      bytes[bytes.length - 10] ^= 0xff
      fs.writeFileSync(damaged, bytes)
      for (const bad of [damaged, scan]) {
        const b = await predict(bad, "-i", scan, "-o", path.join(away, "never"))
        expect(b.code).toBe(1)
        expect(fs.existsSync(path.join(away, "never"))).toBe(false)
        expect(b.output).toContain(bad === damaged ? "do not match their SHA-256 checksum" : "not an rstn model file")
      }
    } finally {
      fs.renameSync(path.join(hidden, "run"), runDir)
      fs.renameSync(path.join(hidden, "phantom"), dataDir)
      fs.rmdirSync(hidden)
    }
  }, 120_000)

  it("averages the folds' maps view by view before the threshold (--folds all)", async () => {
    const c = testCase(0)
    const coarseOnly = ["--set", "test.stages=[coarse, {fuse: {threshold: 0.1, components: all}}]", "--save-probabilities"]
    const out = (name: string) => path.join(dir, name)
    for (const [name, folds] of [
      ["fold0", ["--fold", "0"]],
      ["fold1", ["--fold", "1"]],
      ["both", ["--folds", "all"]]
    ] as const) {
      const r = await predict(runDir, "-i", c.image, "-o", out(name), ...folds, ...coarseOnly)
      expect(r.code, r.output).toBe(0)
    }
    const probability = (name: string) => read(path.join(out(name), `${c.id}.probability.nii.gz`)).volume.data as Float32Array
    const [p0, p1, both] = [probability("fold0"), probability("fold1"), probability("both")]
    expect(Array.from(p0)).not.toEqual(Array.from(p1))
    expect(Array.from(both)).toEqual(Array.from(p0, (a, i) => Math.fround(Math.fround(a + p1[i]!) / 2)))
    expect(voxels(path.join(out("both"), `${c.id}.nii.gz`))).toEqual(Array.from(both, (p) => (p >= 0.1 ? 1 : 0)))
    expect(json(path.join(out("both"), `${c.id}.json`)).folds).toEqual([0, 1])

    // The whole test as an ensemble (the default): every round averages both folds' fine maps.
    const r = await predict(runDir, "-i", c.image, "-o", out("ensemble"))
    expect(r.code, r.output).toBe(0)
    expect(r.output).toContain("folds 0, 1")
    const record = json(path.join(out("ensemble"), `${c.id}.json`))
    expect(record.folds).toEqual([0, 1])
    expect(record.rounds.length).toBeGreaterThan(1)
    expect(voxels(path.join(out("ensemble"), `${c.id}.nii.gz`)).reduce((a, b) => a + b, 0)).toBeGreaterThan(0)
  }, 180_000)

  it("reorients a scan stored in another axis order and writes its mask back on the scan's own grid", async () => {
    const c = testCase(0)
    const img = read(c.image)
    const shape = img.volume.shape
    const a = img.volume.geometry.affine
    // Voxel axes (y, x, z) with x reversed: output axis j is input axis perm[j].
    const perm = [1, 0, 2] as const
    const flip = [false, true, false] as const
    const turnedShape: Shape3 = [shape[1], shape[0], shape[2]]
    const affine = [...a]
    for (let j = 0; j < 3; j++) {
      for (let row = 0; row < 3; row++) {
        const column = a[row * 4 + perm[j]]!
        affine[row * 4 + j] = flip[j] ? -column : column
        if (flip[j]) affine[row * 4 + 3]! += column * (turnedShape[j]! - 1)
      }
    }
    const r = reorientation(axisCodes(a) as string, axisCodes(affine) as string)!
    expect(r).not.toBeNull()
    const turned = path.join(dir, "turned.nii.gz")
    fs.writeFileSync(turned, encodeNifti1({ shape: turnedShape, geometry: geometryFromAffine(affine, { qformCode: 1, sformCode: 1 }), data: reorient(shape, img.volume.data, r) }, "float32"))

    const out = path.join(dir, "turned-out")
    const p = await predict(runDir, "-i", c.image, turned, "-o", out, "--fold", "0")
    expect(p.code, p.output).toBe(0)
    expect(p.output).toMatch(/turned: .*reoriented from /)
    const mask = read(path.join(out, "turned.nii.gz"))
    expect(grid(mask)).toEqual(grid(read(turned)))
    const original = read(path.join(out, `${c.id}.nii.gz`)).volume.data as Uint8Array
    expect(Array.from(mask.volume.data as Uint8Array)).toEqual(Array.from(reorient(shape, original, r)))
    expect(json(path.join(out, "turned.json")).orientation.reoriented).toBe(true)
  }, 120_000)

  it("names each bad input (4D, not NIfTI, oblique, an empty directory) and predicts the others; resumes, and --force predicts again", async () => {
    const c = testCase(0)
    const bad = fresh("bad")
    const series = path.join(bad, "series.nii")
    fs.writeFileSync(series, buildNifti({ dims: [2, 2, 2, 3] }))
    const text = path.join(bad, "notes.nii.gz")
    fs.writeFileSync(text, "not an image\n")
    const oblique = path.join(bad, "oblique.nii.gz")
    const s = Math.SQRT1_2
    fs.writeFileSync(oblique, encodeNifti1({ shape: [4, 4, 4], geometry: geometryFromAffine([s, -s, 0, 0, s, s, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1], { qformCode: 1, sformCode: 1 }), data: new Int16Array(64) }, "int16"))
    const empty = path.join(bad, "empty")
    fs.mkdirSync(empty)
    const out = path.join(bad, "out")
    const args = ["-i", series, text, c.image, oblique, empty, "-o", out, "--fold", "0"]

    const first = await predict(runDir, ...args)
    expect(first.code, first.output).toBe(1)
    const failed = first.output.split("\n").filter((l) => l.includes("failed:"))
    expect(failed).toHaveLength(4)
    expect(failed.find((l) => l.includes(series))).toMatch(/4D|volumes/)
    expect(failed.find((l) => l.includes(text))).toBeDefined()
    expect(failed.find((l) => l.includes(oblique))).toContain("oblique")
    expect(failed.find((l) => l.includes(empty))).toContain("without any .nii or .nii.gz file")
    expect(first.output).toContain("1 predicted, 0 skipped, 4 failed")
    const mask = path.join(out, `${c.id}.nii.gz`)
    expect(voxels(mask)).toEqual(voxels(c.mask))
    expect(fs.readdirSync(out).sort()).toEqual([`${c.id}.json`, `${c.id}.nii.gz`])

    const before = fs.statSync(mask).mtimeMs
    const again = await predict(runDir, "-i", c.image, "-o", out, "--fold", "0")
    expect(again.code, again.output).toBe(0)
    expect(again.output).toContain(`${c.id}: ${mask} exists, skipped`)
    expect(again.output).toContain("0 predicted, 1 skipped, 0 failed")
    expect(fs.statSync(mask).mtimeMs).toBe(before)

    // A case whose JSON is missing did not finish: it is predicted again.
    fs.rmSync(path.join(out, `${c.id}.json`))
    const unfinished = await predict(runDir, "-i", c.image, "-o", out, "--fold", "0")
    expect(unfinished.output).toContain("1 predicted, 0 skipped, 0 failed")

    const forced = await predict(runDir, "-i", c.image, "-o", out, "--fold", "0", "--force")
    expect(forced.code, forced.output).toBe(0)
    expect(forced.output).toContain("1 predicted, 0 skipped, 0 failed")
    expect(voxels(mask)).toEqual(voxels(c.mask))
  }, 180_000)

  it("stops on Ctrl-C with exit 130 and no partial file, and the same command continues", async () => {
    const scans = fresh("scans")
    for (const fold of [0, 1]) fs.copyFileSync(testCase(fold).image, path.join(scans, `${testCase(fold).id}.nii.gz`))
    const out = path.join(scans, "out")
    const args = ["predict", runDir, "-i", scans, "-o", out, "--no-tui"]
    const child = startRstn(args)
    // In the middle of the second case's rounds: the first one is finished.
    await waitFor("the second case's first round", () => (/\n {2}\S+: round 1 .*\n(.|\n)*\n {2}\S+: round 1 /.test(child.output()) ? true : undefined), { child })
    child.process.kill("SIGINT")
    const { code } = await child.exited
    expect(code, child.output()).toBe(130)
    expect(child.output()).toMatch(/predict: interrupted after 1 predicted, .*; the same command continues/)
    const first = [testCase(0).id, testCase(1).id].sort()[0]!
    expect(fs.readdirSync(out).sort()).toEqual([`${first}.json`, `${first}.nii.gz`])

    const again = await runRstn(args)
    expect(again.code, again.output).toBe(0)
    expect(again.output).toContain("1 predicted, 1 skipped, 0 failed")
    expect(fs.readdirSync(out)).toHaveLength(4)
  }, 120_000)

  it("refuses an oracle test, an untrained fold and a --set of a training key before reading any scan", async () => {
    const c = testCase(0)
    const out = path.join(dir, "refused")
    const cases = [
      [["--set", "test.stages[2].converge-until.body[1].crop.by=oracle-box", "--set", "evaluation.oracle=weak"], "an oracle test needs labels"],
      [["--fold", "2"], "fold 2 is not trained here (trained: 0, 1)"],
      [["--set", "training.batch-size=4"], "training cannot change at prediction"]
    ] as const
    for (const [flags, message] of cases) {
      const r = await predict(runDir, "-i", c.image, "-o", out, ...flags)
      expect(r.code, r.output).toBe(1)
      expect(r.output).toContain(message)
    }
    expect(fs.existsSync(out)).toBe(false)
  }, 120_000)
})
