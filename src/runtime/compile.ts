/**
 * The pipeline compiler: a resolved pipeline and its cases become the graph of nodes the
 * executor runs. One node per unit of work worth caching —
 *
 *   train/fold-F/V/P      training phase P of fold F, view V (continues phase P-1's weights)
 *   coarse/CASE/V         round 0 of a test case in view V
 *   test/CASE             the coarse-to-fine rounds of a test case
 *   evaluate/fold-F       the paper's figures over fold F's test cases
 *   report                the same over every case, and the files published at the run's root
 *
 * Each node's configuration is exactly the part of the pipeline it reads, at its YAML paths
 * (so `rstn plan` names the edited key), plus the cases it reads with their fingerprints; nodes
 * that run `src/ops` code also hash its ENGINE_VERSION, so a change of numerics recomputes them.
 * The test loop's own t is left out of the test nodes (they run on to the highest reported
 * threshold), so editing t re-runs only the evaluation.
 */
import { Either } from "effect"
import { configSubtree } from "../dsl/config-subtree.ts"
import type { PlannedPhase } from "../dsl/training-plan.ts"
import { ENGINE_VERSION } from "../ops/engine-version.ts"
import { asNodeError, asNodeErrorUntyped, type NodeError } from "./execution/node-error.ts"
import type { Stage } from "../dsl/pipeline.ts"
import { trainingPhases } from "../dsl/training-plan.ts"
import type { View } from "../ops/views.ts"
import * as Graph from "./graph.ts"
import type { NodeSpec } from "./node.ts"
import { runCoarse } from "./nodes/coarse.ts"
import type { PipelineEnv } from "./nodes/env.ts"
import { runEvaluateFold, runReport } from "./nodes/evaluate.ts"
import { convergeThreshold, runTestCase, TEST_RECORD_FORMAT } from "./nodes/test-case.ts"
import { runTrain } from "./nodes/train.ts"
import type { PipelineCase } from "./pipeline-dataset.ts"
import type { Pipeline } from "../dsl/pipeline.ts"
import type { PipelineDataset } from "./pipeline-dataset.ts"

export type PipelineNode = NodeSpec<NodeError, never>
export type PipelineGraph = Graph.Graph<NodeError, never>

export const trainId = (fold: number, view: View, phase: string): string => `train/fold-${fold}/${view}/${phase}`
export const coarseId = (caseId: string, view: View): string => `coarse/${caseId}/${view}`
export const testId = (caseId: string): string => `test/${caseId}`
export const evaluateId = (fold: number): string => `evaluate/fold-${fold}`
export const REPORT_ID = "report"

const caseRef = (c: PipelineCase) => ({ id: c.id, fingerprint: c.fingerprint })

/**
 * Estimated work of each kind of node, in training iterations, for the order in which several
 * workers start ready nodes (execution/priority.ts). Measured on the demo (wasm, one thread): an
 * iteration ~0.2-0.3 s, a coarse node ~0.6 s, a test node ~3 s. Only the ranking matters: the
 * longest remaining training chain starts first.
 */
const COST = { coarse: 3, test: 12, evaluation: 1 } as const
/** An epoch's iterations are unknown until the slices are counted: guessed per training case. */
const ITERATIONS_PER_CASE_EPOCH = 16

const trainingCost = (phase: PlannedPhase, trainCases: number): number =>
  phase.length.unit === "iterations" ? phase.length.count : phase.length.count * trainCases * ITERATIONS_PER_CASE_EPOCH

/** Reading a case: the data settings every node that loads one hashes. */
const CASE_PATHS = ["dataset.window", "dataset.foreground", "slice-thickness", "run.max-voxels"]

/** Phase names the `coarse` and `fine` stages use, anywhere in the stages. */
const stageWeights = (stages: ReadonlyArray<Stage>, kind: "coarse" | "fine"): string[] => {
  const out = new Set<string>()
  const visit = (ss: ReadonlyArray<{ readonly kind: string }>) => {
    for (const s of ss as ReadonlyArray<Stage>) {
      if (s.kind === kind) out.add((s as { weights: string }).weights)
      if (s.kind === "converge-until") visit(s.body)
    }
  }
  visit(stages)
  return [...out]
}

/** The test stages as the test nodes hash them: without the loop's t (see the module comment). */
const stagesWithoutT = (p: Pipeline): unknown => {
  const tree = configSubtree(p, ["test.stages"]) as { test: { stages: Record<string, unknown> } }
  for (const s of Object.values(tree.test.stages)) {
    const loop = (s as Record<string, Record<string, unknown>>)["converge-until"]
    if (loop && typeof loop === "object") delete loop.threshold
  }
  return tree
}

/** The loop runs on to the highest threshold anyone asked for. */
export const stopThreshold = (p: Pipeline): number =>
  Math.max(convergeThreshold(p.test.stages) ?? 0, ...p.evaluation.thresholds)

export const compilePipeline = (pipeline: Pipeline, dataset: PipelineDataset): Either.Either<PipelineGraph, Graph.GraphError> => {
  const p = pipeline
  const phases = trainingPhases(p)
  const env: PipelineEnv = { pipeline: p, dataset, phases }
  const nodes: PipelineNode[] = []
  const views = p.views as ReadonlyArray<View>
  const trainingPaths = [
    "seed",
    ...CASE_PATHS,
    "networks",
    "saliency",
    "crop",
    "training.mode",
    "training.loss",
    "training.optimizer",
    "training.schedule",
    "training.batch-size",
    "training.slice-threshold"
  ]

  for (const fold of dataset.runFolds) {
    const trainCases = dataset.cases.filter((c) => c.fold !== fold).map(caseRef)
    for (const view of views) {
      phases.forEach((phase, i) => {
        const own = phase.name === "noisy" ? "training.noisy-fine-tune" : `training.phases[${i}]`
        const previous = i === 0 ? null : trainId(fold, view, phases[i - 1]!.name)
        nodes.push({
          id: trainId(fold, view, phase.name),
          kind: "train",
          group: "training",
          label: `train fold ${fold} view ${view} phase ${phase.name}`,
          deps: previous === null ? [] : [previous],
          config: {
            ...(configSubtree(p, [...trainingPaths, own]) as object),
            fold,
            view,
            cases: trainCases,
            ...(dataset.weights != null ? { weights: dataset.weights } : {})
          },
          engine: ENGINE_VERSION,
          cost: trainingCost(phase, trainCases.length),
          run: (ctx) => asNodeError(runTrain(ctx, env, { fold, view, phase, previous }))
        })
      })
    }
  }

  const coarsePhase = p.test.stages[0]?.kind === "coarse" ? p.test.stages[0].weights : null
  const finePhases = stageWeights(p.test.stages, "fine")
  const testCases = dataset.cases.filter((c) => dataset.runFolds.includes(c.fold))
  const caseShared = configSubtree(p, CASE_PATHS) as object
  // test.stages (without t) and the other keys live under different top-level keys: a shallow merge is exact.
  const testShared = { ...(configSubtree(p, [...CASE_PATHS, "crop.threshold"]) as object), ...(stagesWithoutT(p) as object) }
  const stopAt = stopThreshold(p)
  for (const c of testCases) {
    const coarse: Partial<Record<View, string>> = {}
    if (coarsePhase !== null) {
      for (const view of views) {
        const id = coarseId(c.id, view)
        coarse[view] = id
        nodes.push({
          id,
          kind: "coarse",
          group: "coarse",
          label: `coarse ${c.id} view ${view}`,
          deps: [trainId(c.fold, view, coarsePhase)],
          config: { ...caseShared, case: caseRef(c), view },
          engine: ENGINE_VERSION,
          cost: COST.coarse,
          run: (ctx) => asNodeError(runCoarse(ctx, env, { case: c, view, weights: trainId(c.fold, view, coarsePhase) }))
        })
      }
    }
    const fine = Object.fromEntries(finePhases.map((ph) => [ph, Object.fromEntries(views.map((v) => [v, trainId(c.fold, v, ph)]))]))
    nodes.push({
      id: testId(c.id),
      kind: "test",
      group: "rounds",
      label: `test ${c.id}`,
      deps: [...Object.values(coarse), ...finePhases.flatMap((ph) => views.map((v) => trainId(c.fold, v, ph)))],
      config: { ...testShared, case: caseRef(c), fold: c.fold, views, stopAt, thresholds: p.evaluation.thresholds, format: TEST_RECORD_FORMAT },
      engine: ENGINE_VERSION,
      cost: COST.test,
      // test-case.ts declares its failures as unknown: sorted all the same, unknown ones as defects.
      run: (ctx) => asNodeErrorUntyped(runTestCase(ctx, env, { case: c, views, coarse, fine, stopAt }))
    })
  }

  const evaluationConfig = configSubtree(p, ["name", "test.stages", "evaluation"]) as object
  const casesOf = (cs: ReadonlyArray<PipelineCase>) => Object.fromEntries(cs.map((c) => [testId(c.id), c.id]))
  for (const fold of dataset.runFolds) {
    const cs = testCases.filter((c) => c.fold === fold)
    nodes.push({
      id: evaluateId(fold),
      kind: "evaluate",
      group: "evaluation",
      label: `evaluate fold ${fold}`,
      deps: cs.map((c) => testId(c.id)),
      config: { ...evaluationConfig, fold },
      partialInputs: true,
      cost: COST.evaluation,
      run: (ctx) => asNodeError(runEvaluateFold(ctx, env, { fold, cases: casesOf(cs) }))
    })
  }
  nodes.push({
    id: REPORT_ID,
    kind: "report",
    group: "evaluation",
    label: "report",
    deps: [...dataset.runFolds.map(evaluateId), ...testCases.map((c) => testId(c.id))],
    config: evaluationConfig,
    partialInputs: true,
    cost: COST.evaluation,
    run: (ctx) => asNodeError(runReport(ctx, env, { fold: null, cases: casesOf(testCases) }))
  })
  return Graph.make(nodes)
}
