/**
 * A test-case node: the coarse-to-fine test of one case, exactly as the pipeline's `test.stages`
 * declare it (test-loop.ts, shared with `rstn predict`), on the coarse nodes' maps and the
 * training nodes' weights. Every round's mask is written on the case's grid, its DSC to
 * the ground truth and to the previous round recorded, and a checkpoint saved after each round so
 * a killed test resumes at the round it reached.
 *
 * The loop runs on to the highest threshold the evaluation reports (so the DSC at t = 0.90 ...
 * 0.99 can all be read off one run); which round is the pipeline's answer for its own t is the
 * evaluation's choice, so editing t re-runs only the evaluation.
 */
import { Clock, Effect, Option } from "effect"
import type { Pipeline, Stage } from "../../dsl/pipeline.ts"
import type { RunEvent } from "../events.ts"
import { encodeNifti1 } from "../../ops/nifti/index.ts"
import { agreement, agreementAt, type Agreement, maskVoxels } from "../../ops/metrics.ts"
import type { Rstn } from "../../ops/nets/rstn.ts"
import type { View } from "../../ops/views.ts"
import { readCase } from "../case-store.ts"
import type { NodeContext, NodeResult } from "../node.ts"
import type { PipelineCase } from "../pipeline-dataset.ts"
import { type PipelineEnv, probabilityFile, roundMaskFile } from "./env.ts"
import { decodeProbability } from "./coarse.ts"
import { NodeFailure } from "./node-failure.ts"
import { hasSaliencyStage, type LoopResume, type LoopRound, readsViewMaps, runTestLoop } from "./test-loop.ts"
import { loadTestModel } from "./test-model.ts"

export interface TestCaseTarget {
  readonly case: PipelineCase
  readonly views: ReadonlyArray<View>
  /** Coarse node per view (when the stages start with `coarse`). */
  readonly coarse: Readonly<Partial<Record<View, string>>>
  /** Training node per fine-weights phase and view. */
  readonly fine: Readonly<Record<string, Readonly<Partial<Record<View, string>>>>>
  /** Stop the loop once the inter-iteration DSC reaches this (max of t and the reported thresholds). */
  readonly stopAt: number
}

/**
 * The version of what a test node records; part of its key, so results an older rstn cached
 * without today's fields are recomputed instead of read back incomplete.
 * 2: precision, recall and voxel counts per round and view.
 */
export const TEST_RECORD_FORMAT = 2

/** A view's own mask of a round, before fusion: its probability volume at the fuse threshold. */
export interface ViewRecord extends Agreement {
  readonly view: View
}

export interface RoundRecord extends Agreement {
  readonly round: number
  /**
   * DSC of this round's mask to the ground truth; with `voxels`, `precision` and `recall` (the
   * Agreement fields) it tells an under-segmenting round from an over-segmenting one.
   */
  readonly dsc: number
  /** Each view before fusion, in the order of `views`. */
  readonly views: ReadonlyArray<ViewRecord>
  /** DSC to the previous round's mask; null for the first round. */
  readonly interDsc: number | null
  readonly ms: number
  /** Samples the fine network ran on, over all views (0 for the coarse round). */
  readonly fineSamples: number
}

/** What a test node saves after each round, and a resumed attempt starts from. */
export interface RoundCheckpoint {
  readonly records: ReadonlyArray<RoundRecord>
  /** The last round's score map. */
  readonly score: Float32Array
  /** The last round's per-view maps, when the test reads them (saliency-transform { map: view }); else empty. */
  readonly views: ReadonlyArray<Float32Array>
  /** The last round's mask. */
  readonly mask: Uint8Array
  /** Every round's written mask file (a resumed attempt writes its outputs again). */
  readonly files: ReadonlyArray<Uint8Array>
}

/**
 * A JSON header (the round records, the byte length of each round's mask file, how many per-view
 * maps follow), padding to 4 bytes, the score map (float32), the per-view maps (float32 each),
 * the mask (uint8), then the mask files.
 */
export const encodeRoundCheckpoint = (c: RoundCheckpoint): Uint8Array => {
  const header = new TextEncoder().encode(JSON.stringify({ records: c.records, files: c.files.map((f) => f.length), views: c.views.length }))
  const n = c.mask.length
  for (const map of [c.score, ...c.views]) if (map.length !== n) throw new RangeError(`round checkpoint: a map holds ${map.length} values for ${n} voxels`)
  const headerBytes = 4 + header.length
  const pad = (4 - (headerBytes % 4)) % 4
  const filesBytes = c.files.reduce((a, f) => a + f.length, 0)
  const out = new Uint8Array(headerBytes + pad + n * 4 * (1 + c.views.length) + n + filesBytes)
  new DataView(out.buffer).setUint32(0, header.length, true)
  out.set(header, 4)
  let at = headerBytes + pad
  for (const map of [c.score, ...c.views]) {
    out.set(new Uint8Array(map.buffer, map.byteOffset, n * 4), at)
    at += n * 4
  }
  out.set(c.mask, at)
  at += n
  for (const f of c.files) {
    out.set(f, at)
    at += f.length
  }
  return out
}

interface CheckpointHeader {
  readonly records: RoundRecord[]
  readonly files: number[]
  /** Per-view maps stored after the score map. */
  readonly views: number
  /** Where the score map starts. */
  readonly dataAt: number
}

/** The header of a round checkpoint (its round records), or null when it is damaged or not one of ours. */
export const decodeCheckpointHeader = (bytes: Uint8Array): CheckpointHeader | null => {
  if (bytes.length < 4) return null
  const len = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true)
  const headerBytes = 4 + len
  if (headerBytes > bytes.length) return null
  let header: { records: RoundRecord[]; files: number[]; views?: number }
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(4, headerBytes)))
  } catch {
    return null
  }
  if (
    !Array.isArray(header?.records) ||
    !Array.isArray(header.files) ||
    header.files.length !== header.records.length ||
    !header.files.every((f) => Number.isInteger(f) && f >= 0) ||
    !header.records.every((r, i) => r?.round === i) ||
    !(header.views === undefined || (Number.isInteger(header.views) && header.views >= 0))
  ) {
    return null
  }
  return { records: header.records, files: header.files, views: header.views ?? 0, dataAt: headerBytes + ((4 - (headerBytes % 4)) % 4) }
}

/** A round checkpoint of a case of `n` voxels, or null when it is damaged or not one of ours (the rounds then start over). */
export const decodeRoundCheckpoint = (bytes: Uint8Array, n: number): RoundCheckpoint | null => {
  const header = decodeCheckpointHeader(bytes)
  if (header === null) return null
  let at = header.dataAt
  if (bytes.length !== at + n * 4 * (1 + header.views) + n + header.files.reduce((a, b) => a + b, 0)) return null
  const score = new Float32Array(bytes.slice(at, (at += n * 4)).buffer)
  const views = Array.from({ length: header.views }, () => new Float32Array(bytes.slice(at, (at += n * 4)).buffer))
  const mask = bytes.slice(at, (at += n))
  const files = header.files.map((len) => bytes.slice(at, (at += len)))
  return { records: header.records, score, views, mask, files }
}

export const runTestCase = (ctx: NodeContext, env: PipelineEnv, t: TestCaseTarget): Effect.Effect<NodeResult, unknown> =>
  Effect.scoped(
    Effect.gen(function* () {
      const p = env.pipeline
      const c = yield* readCase(t.case, p)
      const n = c.label.length
      const withSaliency = hasSaliencyStage(p.test.stages)
      const withViewMaps = readsViewMaps(p.test.stages)
      const models = new Map<string, Rstn>()
      const modelFor = (phase: string, view: View) =>
        Effect.gen(function* () {
          const key = `${phase}/${view}`
          const hit = models.get(key)
          if (hit) return [hit]
          const id = t.fine[phase]?.[view]
          if (id === undefined) return yield* Effect.dieMessage(`no training node for phase ${phase} view ${view}`)
          const m = yield* loadTestModel(env, { fine: ctx.input(id), withSaliency })
          models.set(key, m)
          return [m]
        })

      /** The last round a resumed attempt took from its checkpoint instead of computing it. */
      let resumedAfterRound: number | null = null
      const records: RoundRecord[] = []
      const now = Clock.currentTimeMillis
      const written: Uint8Array[] = []

      const onRound = (r: LoopRound) =>
        Effect.gen(function* () {
          records.push({
            round: r.round,
            ...agreement(c.label, r.mask),
            views: r.views.map((v, i) => ({ view: t.views[i]!, ...agreementAt(c.label, v, r.threshold) })),
            interDsc: r.interDsc,
            ms: r.ms,
            fineSamples: r.fineSamples
          })
          const file = encodeNifti1({ ...c.grid, data: r.mask }, "uint8", { description: `rstn ${t.case.id} round ${r.round}` })
          written[r.round] = file
          yield* ctx.writeFile(roundMaskFile(r.round), file)
          yield* ctx.publish(roundEvent(yield* now, t.case, records, r.round, p.evaluation.thresholds))
        })

      const resume = (first: number) =>
        Effect.gen(function* () {
          const saved = yield* ctx.loadCheckpoint
          if (Option.isNone(saved)) return null
          const restored = decodeRoundCheckpoint(saved.value, n)
          // A checkpoint holds the rounds up to one inside this loop; the rounds before the
          // loop were just recomputed, identically (inference is deterministic).
          if (!(restored && restored.records.length > first && (!withViewMaps || restored.views.length === t.views.length))) {
            yield* ctx.publish({
              _tag: "warning",
              at: yield* now,
              key: ctx.key,
              caseId: t.case.id,
              message: `${ctx.label}: its round checkpoint cannot be used (damaged or from another version); the rounds start over`
            })
            return null
          }
          records.splice(0, records.length, ...restored.records)
          for (const [round, file] of restored.files.entries()) {
            written[round] = file
            yield* ctx.writeFile(roundMaskFile(round), file)
          }
          resumedAfterRound = records.length - 1
          const at = yield* now
          yield* ctx.publish({ _tag: "log", at, message: `${ctx.label}: resumed after round ${resumedAfterRound} from its checkpoint` })
          // Announce the restored rounds again, so every view of this run shows them.
          for (let round = first; round < records.length; round++) {
            yield* ctx.publish(roundEvent(at, t.case, records, round, p.evaluation.thresholds))
          }
          const resumed: LoopResume = {
            rounds: records.length,
            lastInterDsc: records.at(-1)!.interDsc,
            score: restored.score,
            viewScores: withViewMaps ? [...restored.views] : null,
            mask: restored.mask
          }
          return resumed
        })

      yield* runTestLoop({
        stages: p.test.stages,
        views: t.views,
        shape: c.grid.shape,
        image: c.windowed,
        label: c.label,
        cropThreshold: p.crop.threshold,
        cropMargin: p.crop.margin,
        thickness: p.sliceThickness,
        stopAt: t.stopAt,
        coarse: Effect.forEach(t.views, (view) =>
          Effect.map(ctx.input(t.coarse[view]!).readFile(probabilityFile), (bytes) => decodeProbability(bytes))
        ),
        fineModels: modelFor,
        onRound,
        resume,
        afterLoopRound: (state) =>
          ctx.saveCheckpoint(
            encodeRoundCheckpoint({ records, score: state.score, views: withViewMaps ? (state.viewScores ?? []) : [], mask: state.mask, files: written })
          ),
        safePoint: ctx.safePoint()
      })
      if (records.length === 0) {
        return yield* new NodeFailure({ message: "the test stages produced no mask", hint: "end test.stages with a fuse stage" })
      }
      const rounds = records
      const coarseDsc = p.test.stages[0]?.kind === "coarse" ? rounds[0]!.dsc : null
      const result: TestCaseResult = {
        caseId: t.case.id,
        fold: t.case.fold,
        foreground: maskVoxels(c.label),
        rounds: rounds.map((r) => ({ ...r })),
        coarseDsc,
        coarseMs: Object.fromEntries(t.views.flatMap((v) => (t.coarse[v] ? [[v, (ctx.input(t.coarse[v]!).json.ms as number) ?? null]] : [])))
      }
      yield* ctx.publish(caseEvent(yield* now, result, p))
      const node: TestNodeResult = { ...result, resumedAfterRound }
      return node as unknown as NodeResult
    })
  )

/** What a test-case node returns (its manifest's JSON). */
export interface TestCaseResult {
  readonly caseId: string
  readonly fold: number
  /** Target voxels in the ground truth. */
  readonly foreground: number
  readonly rounds: ReadonlyArray<RoundRecord>
  /** Round 0's DSC when the test starts with the coarse stage. */
  readonly coarseDsc: number | null
  /** Coarse inference time per view. */
  readonly coarseMs: Readonly<Record<string, number | null>>
}

/**
 * What the node records in its manifest: the case's result, and how this attempt got it (the
 * evaluation reads only the result, so a resumed test reports exactly what an uninterrupted one does).
 */
export interface TestNodeResult extends TestCaseResult {
  /** The last round restored from the round checkpoint (null: every round was computed by this attempt). */
  readonly resumedAfterRound: number | null
}

/** The case's result from a test node's manifest JSON, without the attempt's own fields. */
export const caseResultOf = (json: unknown): TestCaseResult => {
  const { resumedAfterRound: _, ...result } = json as TestNodeResult
  return result
}

/** round-finished for round `round` of `records`, with the thresholds first met there. */
export const roundEvent = (
  at: number,
  c: { readonly id: string; readonly fold: number },
  records: ReadonlyArray<RoundRecord>,
  round: number,
  thresholds: ReadonlyArray<number>
): RunEvent => {
  const r = records[round]!
  return {
    _tag: "round-finished",
    at,
    caseId: c.id,
    fold: c.fold,
    round,
    dsc: r.dsc,
    interDsc: r.interDsc,
    reached: thresholds.filter((th) => firstReached(records, th) === round),
    durationMs: r.ms
  }
}

export const caseEvent = (at: number, result: TestCaseResult, p: Pipeline): RunEvent => ({
  _tag: "case-finished",
  at,
  caseId: result.caseId,
  fold: result.fold,
  rounds: result.rounds.length - 1,
  coarseDsc: result.coarseDsc,
  finalDsc: result.rounds[finalRound(result.rounds, convergeThreshold(p.test.stages))]!.dsc,
  reachedAt: p.evaluation.thresholds.map((th) => ({ t: th, round: firstReached(result.rounds, th) }))
})

/** The events a finished test case announced, for a run that finds it in cache. */
export const replayCase = (at: number, result: TestCaseResult, p: Pipeline): ReadonlyArray<RunEvent> => [
  ...result.rounds.map((_, round) => roundEvent(at, { id: result.caseId, fold: result.fold }, result.rounds, round, p.evaluation.thresholds)),
  caseEvent(at, result, p)
]

/** The t of the pipeline's converge-until stage, if it has one. */
export const convergeThreshold = (stages: ReadonlyArray<Stage>): number | null => {
  const c = stages.find((s) => s.kind === "converge-until")
  return c?.kind === "converge-until" ? c.threshold : null
}

/** The first round r >= 1 whose inter-iteration DSC reaches t, or null. */
export const firstReached = (rounds: ReadonlyArray<RoundRecord>, t: number): number | null =>
  rounds.find((r) => r.round >= 1 && r.interDsc !== null && r.interDsc >= t)?.round ?? null

/** The round whose mask is the answer for threshold t: where t was first met, else the last round. */
export const finalRound = (rounds: ReadonlyArray<RoundRecord>, t: number | null): number =>
  (t === null ? null : firstReached(rounds, t)) ?? rounds.length - 1

