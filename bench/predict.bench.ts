/**
 * `rstn predict`'s time per case, and where it goes: reading the scan, each view's coarse pass,
 * each round of the converge loop, writing the mask. The model is a model file (the portable
 * path), exported from a run this bench trains first: the tests' long-tiny pipeline at three
 * views (its fuse stages at 0.1, so the barely trained networks give masks and the loop runs
 * rounds). The first case also loads the networks; the later ones show the steady state.
 *
 * RSTN_BENCH_PREDICT_MODEL=<run dir or model file> and RSTN_BENCH_PREDICT_IMAGES=<dir> time a
 * real model on real scans instead (nothing is trained then). Prints one JSON object.
 */
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { loadPipeline } from "../src/dsl/load.ts"
import { exportModel } from "../src/runtime/predict/export.ts"
import { predict, type PredictionRecord, recordFile } from "../src/runtime/predict/predict.ts"
import { openTrainedModel } from "../src/runtime/predict/trained-model.ts"
import { runPipeline } from "../src/runtime/run-pipeline.ts"
import { longTinyYaml } from "../test/runtime/pipeline/long-tiny.ts"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rstn-predict-bench-"))

/** The tests' long-tiny pipeline (fuse at 0.1, up to 6 rounds) at three views, stopping at t = 0.95. */
const yaml = (data: string, run: string): string => {
  const y = longTinyYaml(data, run)
  if (!y.includes("views: [Z]") || !y.includes("threshold: 0.99")) throw new Error("the long-tiny pipeline changed: update bench/predict.bench.ts")
  return y.replace("views: [Z]", "views: [X, Y, Z]").replace("threshold: 0.99", "threshold: 0.95")
}

const ms = (t: number) => Math.round(performance.now() - t)
const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length === 0 ? Number.NaN : s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

try {
  let modelPath = process.env.RSTN_BENCH_PREDICT_MODEL
  let images = process.env.RSTN_BENCH_PREDICT_IMAGES
  let trainMs: number | null = null
  let exportMs: number | null = null
  if (modelPath === undefined || images === undefined) {
    const file = path.join(dir, "bench.yaml")
    const runDir = path.join(dir, "run")
    fs.writeFileSync(file, yaml(path.join(dir, "phantom"), runDir))
    let t = performance.now()
    const { pipeline } = await Effect.runPromise(loadPipeline(file, []))
    const code = await Effect.runPromise(runPipeline({ file, overrides: [], pipeline, out: () => {} }))
    if (code !== 0) throw new Error(`training the bench's model failed (exit ${code}): see ${runDir}`)
    trainMs = ms(t)
    modelPath = path.join(dir, "model.rstn")
    t = performance.now()
    await Effect.runPromise(exportModel(runDir, modelPath, "bench"))
    exportMs = ms(t)
    images = path.join(dir, "phantom", "imagesTr")
  }
  const out = path.join(dir, "out")
  let t = performance.now()
  const model = await Effect.runPromise(openTrainedModel(modelPath))
  const openMs = ms(t)
  t = performance.now()
  const code = await Effect.runPromise(
    predict({ model, inputs: [images], outDir: out, overrides: [], force: true, saveProbabilities: false, onEvent: () => {} })
  )
  const wallMs = ms(t)
  if (code !== 0) throw new Error(`prediction failed for some case (exit ${code})`)
  const records = fs
    .readdirSync(out)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => JSON.parse(fs.readFileSync(recordFile(out, f.replace(/\.json$/, "")), "utf8")) as PredictionRecord)
  const cases = records.map((r) => ({
    case: r.case,
    shape: r.shape,
    totalMs: r.timing.totalMs,
    readMs: r.timing.readMs,
    coarseMs: r.timing.coarseMs,
    roundMs: r.rounds.slice(1).map((x) => x.ms),
    writeMs: r.timing.writeMs,
    rounds: r.roundsRun,
    reached: r.reached
  }))
  const steady = cases.slice(1)
  process.stdout.write(
    `${JSON.stringify({
      model: process.env.RSTN_BENCH_PREDICT_MODEL === undefined ? "tiny (3 views, width 1/16, trained here)" : modelPath,
      folds: model.folds,
      views: model.pipeline.views,
      trainMs,
      exportMs,
      modelFileBytes: model.kind === "model-file" ? fs.statSync(modelPath).size : null,
      openMs,
      wallMs,
      cases,
      // The first case also loads every network; the median is over the others.
      medianCaseMs: median(steady.map((c) => c.totalMs)),
      medianCoarseMsPerView: median(steady.flatMap((c) => Object.values(c.coarseMs))),
      medianRoundMs: median(steady.flatMap((c) => c.roundMs)),
      rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20)
    })}\n`
  )
} finally {
  fs.rmSync(dir, { recursive: true, force: true })
}
