/**
 * `report.html` at the root of a run directory (`rstn report RUN_DIR`, and the end of every run
 * whose report node finished): gathered from what the run left — pipeline.json, summary.md,
 * cases.json, the training-progress events in events.jsonl, each test node's round masks
 * (`round-NN.nii.gz`, written for every round) and the dataset's CT and ground truth — and drawn
 * by src/report (overlays, Vega-Lite plots, the page).
 *
 * It is not a node: it reads the run's event log, which no node may read (a node's outputs
 * depend only on its key), and it is only a view of results the report node already fixed. So it
 * is made after the run, by the driver, and made again only when the report node's key changes
 * (the page records the key it was made from).
 */
import { Effect, Either, Option } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { pipelineYaml } from "../dsl/print.ts"
import { decodeNifti } from "../ops/nifti/index.ts"
import type { Vec3 } from "../ops/volume.ts"
import { reportHtml, type CaseView, type PlaneRow, type ReportModel } from "../report/html.ts"
import { centreOf, cropAround, maskBox, overlay, planeAxis, planeSlice, PLANES, planeSpacing } from "../report/overlay.ts"
import { dscPlot, interDscPlot, lossPlot, precisionRecallPlot, type TrainingCurve } from "../report/plots.ts"
import { pngDataUri } from "../report/png.ts"
import { renderSvg } from "../report/render-svg.ts"
import * as ArtifactStore from "./artifact-store.ts"
import { atomicWrite, type WriteError } from "./atomic-write.ts"
import { readCase } from "./case-store.ts"
import { REPORT_ID } from "./compile.ts"
import type { CaseResult } from "./evaluation.ts"
import { eventsFile, parseEventLog } from "./event-log.ts"
import type { RunEvent } from "./events.ts"
import { decodeManifest, type Manifest } from "./manifest.ts"
import { roundMaskFile } from "./nodes/env.ts"
import { convergeThreshold, finalRound } from "./nodes/test-case.ts"
import { type PipelineCase, prepareDataset } from "./pipeline-dataset.ts"
import { readRunRecord, type ResumeError, type RunRecord } from "./run-record.ts"
import { fileProblem } from "./file-problem.ts"

export const REPORT_FILE = "report.html"

/**
 * The version of what report.html shows; with the report node's key it makes the page's stamp,
 * so a run rewrites an existing page made by an older rstn.
 */
export const REPORT_FORMAT = 1

/** Node directories under the run directory (artifact-store.ts keeps them there). */
const NODES_DIR = "nodes"

/** The longer side of an overlay image, in pixels. */
const OVERLAY_SIZE = 200

export class ReportError extends fileProblem("ReportError") {}

const readText = (file: string, what: string): Effect.Effect<string, ReportError> =>
  Effect.try({
    try: () => fs.readFileSync(file, "utf8"),
    catch: () =>
      new ReportError({
        file,
        reason: `${what} is missing`,
        hint: "the run has not finished its report yet: resume it (`rstn resume RUN_DIR`) and the report is written at its end"
      })
  })

const readManifest = (runDir: string, id: string): Manifest | null => {
  const file = path.join(runDir, NODES_DIR, ...id.split("/"), ArtifactStore.MANIFEST)
  if (!fs.existsSync(file)) return null
  return Either.getOrNull(decodeManifest(fs.readFileSync(file, "utf8")))
}

const nodeDir = (runDir: string, m: Manifest): string => path.join(runDir, NODES_DIR, ...m.id.split("/"), ArtifactStore.keyDirName(m.key))

/** The stamp of a run's report: the report node's key and REPORT_FORMAT; null when the report node has not finished. */
export const reportStamp = (runDir: string): string | null => {
  const m = readManifest(runDir, REPORT_ID)
  return m === null ? null : `${m.key}:${REPORT_FORMAT}`
}

/** Whether report.html exists and was made from the run's current report node by this version. */
export const reportIsCurrent = (runDir: string): boolean => {
  const stamp = reportStamp(runDir)
  const file = path.join(runDir, REPORT_FILE)
  if (stamp === null || !fs.existsSync(file)) return false
  const head = fs.readFileSync(file, "utf8").slice(0, 2048)
  return head.includes(`<meta name="rstn-report" content="${stamp}">`)
}

/**
 * Every training node's losses, from the training-progress events of its key (a resumed node's
 * events continue its curve; an older key's, from before a change that retrained it, are left
 * out), in the order the phases first trained.
 */
export const trainingCurves = (runDir: string, events: ReadonlyArray<RunEvent>): TrainingCurve[] => {
  const trainDir = path.join(runDir, NODES_DIR, "train")
  const keys = new Set<string>()
  if (fs.existsSync(trainDir)) {
    for (const f of fs.readdirSync(trainDir, { recursive: true, encoding: "utf8" })) {
      if (path.basename(f) !== ArtifactStore.MANIFEST) continue
      const m = readManifest(runDir, `train/${path.dirname(f).split(path.sep).join("/")}`)
      if (m !== null) keys.add(m.key)
    }
  }
  const curves = new Map<string, { fold: number; view: string; phase: string; points: Map<number, TrainingCurve["points"][number]> }>()
  for (const e of events) {
    if (e._tag !== "training-progress" || !keys.has(e.key)) continue
    const curve = curves.get(e.key) ?? { fold: e.fold, view: e.view, phase: e.phase, points: new Map() }
    curves.set(e.key, curve)
    curve.points.set(e.iteration, { iteration: e.iteration, joint: e.losses.joint, coarse: e.losses.coarse, fine: e.losses.fine })
  }
  return [...curves.values()].map((c) => ({ ...c, points: [...c.points.values()].sort((a, b) => a.iteration - b.iteration) }))
}

const sameRounds = (a: CaseResult, b: CaseResult): boolean =>
  a.rounds.length === b.rounds.length && a.rounds.every((r, i) => r.dsc === b.rounds[i]!.dsc || (Number.isNaN(r.dsc) && Number.isNaN(b.rounds[i]!.dsc)))

/** The overlays of a case: for each plane, the slice through the centre, each round's mask over the ground truth. */
const caseOverlays = (record: RunRecord, runDir: string, result: CaseResult, cases: ReadonlyMap<string, PipelineCase>) =>
  Effect.gen(function* () {
    const p = record.pipeline
    const manifest = readManifest(runDir, `test/${result.caseId}`)
    if (manifest === null) return { centre: null, planes: null, note: `no finished test node for ${result.caseId} (nodes/test/${result.caseId}/node.json)` }
    if (!sameRounds(manifest.outputs.json as unknown as CaseResult, result)) {
      return { centre: null, planes: null, note: `nodes/test/${result.caseId} holds other rounds than cases.json (the case ran again after the report): run the pipeline to the end` }
    }
    const c = cases.get(result.caseId)
    if (c === undefined) return { centre: null, planes: null, note: `${result.caseId} is not in the pipeline's dataset any more` }
    const volumes = yield* Effect.either(readCase(c, p))
    if (Either.isLeft(volumes)) return { centre: null, planes: null, note: `the case's CT cannot be read: ${volumes.left.message}` }
    const { grid, windowed, label } = volumes.right
    const masks: Uint8Array[] = []
    for (const r of result.rounds) {
      const file = path.join(nodeDir(runDir, manifest), roundMaskFile(r.round))
      const bytes = fs.existsSync(file) ? new Uint8Array(fs.readFileSync(file)) : null
      const decoded = bytes === null ? null : decodeNifti(bytes, { file })
      if (decoded === null || Either.isLeft(decoded)) return { centre: null, planes: null, note: `round ${r.round}'s mask ${file} ${decoded === null ? "is missing" : "cannot be read"}` }
      const data = decoded.right.volume.data
      if (data.length !== label.length) return { centre: null, planes: null, note: `round ${r.round}'s mask ${file} has another shape than the case's CT` }
      masks.push(data instanceof Uint8Array ? data : Uint8Array.from(data as ArrayLike<number>))
    }
    const fin = finalRound(result.rounds, convergeThreshold(p.test.stages))
    const shape = grid.shape
    const centre: Vec3 = centreOf(shape, label) ?? centreOf(shape, masks[fin]!) ?? [shape[0] >> 1, shape[1] >> 1, shape[2] >> 1]
    const planes: PlaneRow[] = PLANES.map((plane) => {
      const at = centre[planeAxis(plane)]
      const ct = planeSlice(shape, windowed, plane, at)
      const truth = planeSlice(shape, label, plane, at)
      const predicted = masks.map((m) => planeSlice(shape, m, plane, at))
      const crop = cropAround(maskBox([truth, ...predicted]), ct.width, ct.height)
      const spacing = planeSpacing(grid.geometry.spacing, plane)
      return {
        plane,
        slice: at,
        cells: predicted.map((pred, i) => {
          const image = overlay({ ct, truth, predicted: pred, spacing, crop, size: OVERLAY_SIZE })
          return { round: result.rounds[i]!.round, src: pngDataUri(image), width: image.width, height: image.height }
        })
      }
    })
    return { centre, planes, note: undefined }
  })

/** What happened to the run, from its last run-started / run-finished. */
const runFacts = (record: RunRecord, events: ReadonlyArray<RunEvent>): string[] => {
  const started = events.findLast((e) => e._tag === "run-started")
  const finished = events.findLast((e) => e._tag === "run-finished")
  return [
    `pipeline file ${record.file}${record.overrides.length > 0 ? ` ${record.overrides.map((o) => `--set ${o}`).join(" ")}` : ""}`,
    ...(started?._tag === "run-started" ? [`backend ${started.backend}${started.executor ? `, executor ${started.executor}` : ""}`] : []),
    ...(finished?._tag === "run-finished" ? [`last run ${finished.status} at ${new Date(finished.at).toISOString()}`] : [])
  ]
}

/** The page of a run directory, without writing it. */
export const buildReport = (runDir: string): Effect.Effect<string, ReportError | ResumeError> =>
  Effect.gen(function* () {
    const record = yield* readRunRecord(runDir)
    const p = record.pipeline
    const summaryMd = yield* readText(path.join(runDir, "summary.md"), "summary.md")
    const casesFile = path.join(runDir, "cases.json")
    const cases = yield* Effect.try({
      try: () => JSON.parse(fs.readFileSync(casesFile, "utf8")) as CaseResult[],
      catch: () =>
        new ReportError({ file: casesFile, reason: "is missing or not JSON", hint: "the run has not finished its report yet: resume it (`rstn resume RUN_DIR`)" })
    })
    const stamp = reportStamp(runDir) ?? `none:${REPORT_FORMAT}`
    const events = fs.existsSync(eventsFile(runDir)) ? parseEventLog(fs.readFileSync(eventsFile(runDir), "utf8")).events : []
    const notes: string[] = []

    const dataset = yield* Effect.either(prepareDataset(p, { generate: false }))
    if (Either.isLeft(dataset)) notes.push(`no overlays: the dataset cannot be listed (${dataset.left.message})`)
    const byId = new Map(Either.isRight(dataset) ? dataset.right.cases.map((c) => [c.id, c] as const) : [])
    const t = convergeThreshold(p.test.stages)
    const views: CaseView[] = []
    for (const result of cases) {
      const o = Either.isRight(dataset)
        ? yield* caseOverlays(record, runDir, result, byId)
        : { centre: null, planes: null, note: undefined as string | undefined }
      views.push({
        caseId: result.caseId,
        fold: result.fold,
        finalRound: finalRound(result.rounds, t),
        rounds: result.rounds,
        centre: o.centre,
        planes: o.planes,
        ...(o.note === undefined ? {} : { note: o.note })
      })
    }

    const { marked } = yield* Effect.promise(() => import("marked"))
    const summaryHtml = marked.parse(summaryMd, { async: false, gfm: true })
    const specs = [
      { id: "dsc", title: "DSC per round", spec: dscPlot(cases) },
      { id: "inter-dsc", title: "Inter-iteration DSC per round", spec: interDscPlot(cases, t) },
      { id: "precision-recall", title: "Precision and recall per round", spec: precisionRecallPlot(cases) },
      { id: "loss", title: "Training loss per phase and view", spec: lossPlot(trainingCurves(runDir, events)) }
    ]
    for (const s of specs) if (s.spec === null) notes.push(`no data for the plot "${s.title}"`)
    const plots = yield* Effect.forEach(
      specs.flatMap((s) => (s.spec === null ? [] : [{ ...s, spec: s.spec }])),
      (s) => Effect.map(Effect.promise(() => renderSvg(s.spec)), (svg) => ({ id: s.id, title: s.title, svg }))
    )
    const yaml = pipelineYaml({ pipeline: p, file: record.file, files: [record.file], overrides: record.overrides, origin: () => undefined })
    const model: ReportModel = {
      pipeline: p.name,
      runDir,
      facts: runFacts(record, events),
      summaryHtml,
      plots,
      cases: views,
      pipelineYaml: yaml,
      notes,
      stamp
    }
    return reportHtml(model)
  })

/** Writes `RUN_DIR/report.html` (atomically) and returns its path. */
export const writeReport = (runDir: string): Effect.Effect<string, ReportError | ResumeError | WriteError> =>
  Effect.gen(function* () {
    const html = yield* buildReport(runDir)
    const file = path.join(runDir, REPORT_FILE)
    yield* atomicWrite(file, html)
    return file
  })

/** At the end of a run: the report, unless the one there is already current. */
export const ensureReport = (runDir: string): Effect.Effect<Option.Option<string>, ReportError | ResumeError | WriteError> =>
  reportIsCurrent(runDir) ? Effect.succeed(Option.none()) : Effect.map(writeReport(runDir), Option.some)
