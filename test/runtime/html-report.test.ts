import { Effect, Either } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import pngjs from "pngjs"
import { beforeAll, describe, expect, it } from "vitest"
import { loadPipeline } from "../../src/dsl/load.ts"
import { encodeNifti1 } from "../../src/ops/nifti/index.ts"
import { defaultGeometry, type Shape3 } from "../../src/ops/volume.ts"
import { COLOURS } from "../../src/report/overlay.ts"
import { encodeLine, type RunEvent } from "../../src/runtime/events.ts"
import { buildReport, REPORT_FILE, REPORT_FORMAT, reportIsCurrent, trainingCurves, writeReport } from "../../src/runtime/html-report.ts"
import { parseEventLog } from "../../src/runtime/event-log.ts"
import { writeRunRecord } from "../../src/runtime/run-record.ts"

/**
 * A run directory written by hand, as a finished run leaves it: two cases of 12 x 10 x 8 voxels
 * (2 mm slices) with a 4 x 4 x 2 target, three rounds each whose masks grow towards it, a
 * summary, training-progress events of one training node (and of an older key of it, which the
 * report must leave out), and the dataset the CT is read from.
 */
const shape: Shape3 = [12, 10, 8]
const spacing = [1, 1, 2] as const
const idx = (x: number, y: number, z: number) => x + shape[0] * (y + shape[1] * z)

const boxMask = (x0: number, x1: number, y0: number, y1: number, z0: number, z1: number): Uint8Array => {
  const m = new Uint8Array(shape[0] * shape[1] * shape[2])
  for (let z = z0; z < z1; z++) for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) m[idx(x, y, z)] = 1
  return m
}

const nifti = (data: Uint8Array | Int16Array, type: "uint8" | "int16") => encodeNifti1({ shape, geometry: defaultGeometry([...spacing]), data }, type)

const manifest = (id: string, key: string, json: unknown) => ({
  format: 1,
  id,
  key,
  kind: id.split("/")[0],
  label: id,
  config: {},
  deps: [],
  outputs: { json, files: {} },
  finishedAt: 0,
  durationMs: 1
})

const writeManifest = (runDir: string, id: string, key: string, json: unknown) => {
  const dir = path.join(runDir, "nodes", ...id.split("/"))
  fs.mkdirSync(path.join(dir, key.slice(0, 16)), { recursive: true })
  fs.writeFileSync(path.join(dir, "node.json"), JSON.stringify(manifest(id, key, json)))
  return path.join(dir, key.slice(0, 16))
}

const truth = boxMask(4, 8, 3, 7, 3, 5)
const roundMasks = [boxMask(5, 7, 4, 6, 3, 5), boxMask(4, 7, 3, 7, 3, 5), boxMask(4, 8, 3, 7, 3, 5)]
const record = (round: number, dsc: number, interDsc: number | null) => ({ round, dsc, interDsc, voxels: 10, precision: 1, recall: dsc, views: [], ms: 1, fineSamples: 0 })
const caseResult = (caseId: string) => ({
  caseId,
  fold: caseId === "a" ? 0 : 1,
  foreground: 32,
  rounds: [record(0, 0.4, null), record(1, 0.85, 0.6), record(2, 1, 0.9)],
  coarseDsc: 0.4,
  coarseMs: {}
})

const progress = (key: string, phase: string, iteration: number, joint: number): RunEvent => ({
  _tag: "training-progress",
  at: iteration,
  key,
  fold: 0,
  view: "Z",
  phase,
  iteration,
  iterations: 4,
  losses: { coarse: joint + 0.1, fine: joint - 0.1, joint },
  learningRate: 0.001
})

const TRAIN_KEY = "1111111111111111aaaa"
const OLD_TRAIN_KEY = "2222222222222222bbbb"
const REPORT_KEY = "3333333333333333cccc"

const makeRun = async (): Promise<string> => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rstn-report-"))
  const data = path.join(dir, "data")
  fs.mkdirSync(data)
  const ct = Int16Array.from({ length: truth.length }, (_, i) => (truth[i] ? 80 : (i * 7) % 50))
  for (const id of ["a", "b"]) {
    fs.writeFileSync(path.join(data, `${id}-ct.nii.gz`), nifti(ct, "int16"))
    fs.writeFileSync(path.join(data, `${id}-label.nii.gz`), nifti(truth, "uint8"))
  }
  const file = path.join(dir, "fixture.yaml")
  const runDir = path.join(dir, "run")
  fs.writeFileSync(
    file,
    [
      "name: fixture",
      "dataset:",
      "  source: { kind: pairs, pairs: [{ id: a, image: data/a-ct.nii.gz, label: data/a-label.nii.gz }, { id: b, image: data/b-ct.nii.gz, label: data/b-label.nii.gz }] }",
      "  window: [0, 100]",
      "  folds: 2",
      "  fold: all",
      `run: { dir: ${JSON.stringify(runDir)} }`,
      ""
    ].join("\n")
  )
  const { pipeline } = await Effect.runPromise(loadPipeline(file, []))
  await Effect.runPromise(writeRunRecord(runDir, { file, overrides: ["seed=5"], pipeline }))
  const cases = [caseResult("a"), caseResult("b")]
  fs.writeFileSync(path.join(runDir, "cases.json"), JSON.stringify(cases))
  fs.writeFileSync(path.join(runDir, "summary.md"), "# fixture: coarse-to-fine test\n\n| | DSC % |\n| --- | --- |\n| final | 100.00 |\n")
  for (const c of cases) {
    const out = writeManifest(runDir, `test/${c.caseId}`, `${c.caseId.repeat(16)}ffff`, { ...c, resumedAfterRound: null })
    // case b lost its round-1 mask: its overlays are left out with a note, case a's are drawn
    roundMasks.forEach((m, r) => (c.caseId === "b" && r === 1 ? undefined : fs.writeFileSync(path.join(out, `round-0${r}.nii.gz`), nifti(m, "uint8"))))
  }
  writeManifest(runDir, "train/fold-0/Z/S", TRAIN_KEY, { fold: 0, view: "Z", phase: "S" })
  writeManifest(runDir, "report", REPORT_KEY, {})
  const events: RunEvent[] = [
    progress(OLD_TRAIN_KEY, "S", 1, 0.99),
    progress(TRAIN_KEY, "S", 1, 0.9),
    progress(TRAIN_KEY, "S", 2, 0.8),
    // a resumed run repeats iteration 2 from its checkpoint
    progress(TRAIN_KEY, "S", 2, 0.7),
    progress(TRAIN_KEY, "S", 4, 0.5)
  ]
  fs.writeFileSync(path.join(runDir, "events.jsonl"), events.map((e) => `${encodeLine(e)}\n`).join(""))
  return runDir
}

const images = (html: string): string[] => [...html.matchAll(/<img src="(data:image\/png;base64,[^"]+)" width="(\d+)" height="(\d+)"/g)].map((m) => m[1]!)

describe("report.html of a run directory", () => {
  let runDir: string
  let html: string

  beforeAll(async () => {
    runDir = await makeRun()
    html = await Effect.runPromise(buildReport(runDir))
  })

  it("draws every round of a case on the three planes through the ground truth's centre", () => {
    const a = html.slice(html.indexOf(`id="case-a"`), html.indexOf(`id="case-b"`))
    // 3 rounds x 3 planes
    expect(images(a)).toHaveLength(9)
    expect(a).toContain("centre voxel (6, 5, 4)")
    for (const [plane, slice] of [["axial", 4], ["coronal", 5], ["sagittal", 6]] as const) expect(a).toContain(`${plane}<div class="cap">slice ${slice}</div>`)
    expect(a).toContain("coarse (round 0)")
    expect(a).toContain("round 2 · final")
    // round 2's mask is the ground truth: its contour is all yellow; round 0's lies inside it, so green and red
    const decode = (uri: string) => pngjs.PNG.sync.read(Buffer.from(uri.split(",")[1]!, "base64"))
    const count = (png: pngjs.PNG, rgb: readonly number[]) => {
      let n = 0
      for (let i = 0; i < png.width * png.height; i++) if (png.data[i * 4] === rgb[0] && png.data[i * 4 + 1] === rgb[1] && png.data[i * 4 + 2] === rgb[2]) n++
      return n
    }
    const [coarse, , last] = images(a)
    expect(count(decode(last!), COLOURS.both)).toBeGreaterThan(0)
    expect(count(decode(last!), COLOURS.truth) + count(decode(last!), COLOURS.predicted)).toBe(0)
    expect(count(decode(coarse!), COLOURS.truth)).toBeGreaterThan(0)
    expect(count(decode(coarse!), COLOURS.predicted)).toBeGreaterThan(0)
  })

  it("leaves out the overlays of a case whose mask is gone, saying which file, and keeps its figures", () => {
    const b = html.slice(html.indexOf(`id="case-b"`), html.indexOf(`id="pipeline"`))
    expect(images(b)).toHaveLength(0)
    expect(b).toMatch(/round 1&#39;s mask \S+round-01\.nii\.gz is missing/)
    expect(b).toContain("<td>85.00</td>")
  })

  it("plots DSC, inter-iteration DSC, precision and recall per round and the training loss, as inline SVG", () => {
    for (const id of ["dsc", "inter-dsc", "precision-recall", "loss"]) expect(html).toMatch(new RegExp(`<figure id="plot-${id}"[^>]*><svg`))
    const dsc = html.slice(html.indexOf(`id="plot-dsc"`), html.indexOf(`id="plot-inter-dsc"`))
    expect(dsc).toContain("mean over cases")
    expect(dsc).toContain(">a<")
    expect(html.slice(html.indexOf(`id="plot-inter-dsc"`))).toContain("DSC(previous round, round)")
  })

  it("takes each training node's losses from its own key's events, one point per iteration", () => {
    const events = parseEventLog(fs.readFileSync(path.join(runDir, "events.jsonl"), "utf8")).events
    expect(trainingCurves(runDir, events)).toEqual([
      {
        fold: 0,
        view: "Z",
        phase: "S",
        points: [
          { iteration: 1, joint: 0.9, coarse: 0.9 + 0.1, fine: 0.9 - 0.1 },
          { iteration: 2, joint: 0.7, coarse: 0.7 + 0.1, fine: 0.7 - 0.1 },
          { iteration: 4, joint: 0.5, coarse: 0.5 + 0.1, fine: 0.5 - 0.1 }
        ]
      }
    ])
  })

  it("holds summary.md's tables, the resolved pipeline and the run's facts", () => {
    expect(html).toMatch(/<table>\s*<thead>\s*<tr>\s*<th><\/th>\s*<th>DSC %<\/th>/)
    const yaml = html.slice(html.indexOf(`id="pipeline"`))
    expect(yaml).toContain("name: fixture")
    expect(yaml).toContain("window: [ 0, 100 ]")
    expect(html).toContain("--set seed=5")
    expect(html).not.toMatch(/<script|src="(?!data:)/)
  })

  it("is written atomically, records the report node it was made from, and is stale once that changes", async () => {
    const file = await Effect.runPromise(writeReport(runDir))
    expect(file).toBe(path.join(runDir, REPORT_FILE))
    expect(fs.readFileSync(file, "utf8")).toBe(html)
    expect(html).toContain(`<meta name="rstn-report" content="${REPORT_KEY}:${REPORT_FORMAT}">`)
    expect(reportIsCurrent(runDir)).toBe(true)
    writeManifest(runDir, "report", "4444444444444444dddd", {})
    expect(reportIsCurrent(runDir)).toBe(false)
  })

  it("fails naming the file and how to get it when the run has no results yet", async () => {
    const empty = await makeRun()
    fs.rmSync(path.join(empty, "cases.json"))
    const e = await Effect.runPromise(Effect.flip(buildReport(empty)))
    expect(e._tag).toBe("ReportError")
    expect(e).toMatchObject({ file: path.join(empty, "cases.json"), hint: expect.stringContaining("rstn resume") })
    const notRun = await Effect.runPromise(Effect.either(buildReport(path.join(empty, "nowhere"))))
    expect(Either.isLeft(notRun) && notRun.left._tag).toBe("ResumeError")
  })
})
