/**
 * The cases a pipeline runs on, known before its graph is built (the graph has nodes per case):
 * the dataset listed (a phantom dataset generated on first use), each case given its test fold
 * (rstn-reference.md "Data": F folds over the cases in sorted order) and a fingerprint of its
 * files, so that replacing a case's data invalidates exactly the work that read it.
 */
import { Effect } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import type { Pipeline } from "../dsl/pipeline.ts"
import { foldOf } from "../ops/folds.ts"
import { caseId, PHANTOM_VERSION } from "../ops/phantom/generate.ts"
import type { WriteError } from "./atomic-write.ts"
import { type DatasetCase, DatasetError, type DatasetSource, loadDataset } from "./dataset.ts"
import { seriesStamp } from "./dicom-series.ts"
import { type PhantomError, writePhantomDataset } from "./phantom-dataset.ts"

export interface PipelineCase extends DatasetCase {
  /** Index in the sorted case list. */
  readonly index: number
  /** The fold whose test set holds this case. */
  readonly fold: number
  /** Changes when the case's files change (size and modification time, or the phantom's recipe). */
  readonly fingerprint: string
}

export interface PipelineDataset {
  readonly root: string
  readonly cases: ReadonlyArray<PipelineCase>
  /** The folds the pipeline runs (`dataset.fold`). */
  readonly runFolds: ReadonlyArray<number>
  /**
   * `networks.pretrained.file`'s size and modification time (null: none named, or missing): part
   * of the training keys, so replacing the weights file retrains instead of reusing finished work.
   */
  readonly weights?: string | null
}

export interface PrepareOptions {
  /** Generate a phantom dataset that does not exist yet (`rstn run`); `rstn plan` writes nothing. */
  readonly generate: boolean
  readonly onProgress?: (message: string) => void
}

/** A file's size and modification time, or null when it cannot be found. */
const stamp = (file: string): Effect.Effect<string | null> =>
  Effect.promise(() =>
    fs.stat(file).then(
      (s) => (s.isFile() ? `${s.size}:${Math.round(s.mtimeMs)}` : null),
      () => null
    )
  )

/** The fingerprint of a case with a missing file: its nodes get new keys, run, and fail naming the file. */
const MISSING = "missing"

const exists = (file: string) =>
  Effect.promise(() =>
    fs.access(file).then(
      () => true,
      () => false
    )
  )

export const prepareDataset = (p: Pipeline, options: PrepareOptions): Effect.Effect<PipelineDataset, DatasetError | PhantomError | WriteError> =>
  Effect.gen(function* () {
    const src = p.dataset.source
    let listed: ReadonlyArray<DatasetCase & { fingerprint?: string }>
    let root: string
    if (src.kind === "phantom") {
      const recipe = (i: number) => `phantom v${PHANTOM_VERSION} seed ${src.seed} ${src.size} #${i}`
      if (options.generate) {
        yield* writePhantomDataset({
          out: src.dir,
          cases: src.cases,
          seed: src.seed,
          size: src.size,
          onCase: (c) => {
            if (c.status === "written") options.onProgress?.(`generated phantom ${c.id} (${c.index + 1}/${src.cases}) in ${src.dir}`)
          }
        })
      }
      root = src.dir
      // The files are a pure function of the recipe, so the recipe is their fingerprint (and a
      // plan can be made before they exist).
      listed = Array.from({ length: src.cases }, (_, i) => ({
        id: caseId(i),
        image: path.join(src.dir, "imagesTr", `${caseId(i)}.nii.gz`),
        label: path.join(src.dir, "labelsTr", `${caseId(i)}.nii.gz`),
        fingerprint: recipe(i)
      }))
      if (options.generate || (yield* exists(path.join(src.dir, "dataset.json")))) {
        const loaded = yield* loadDataset({ kind: "decathlon", root: src.dir })
        if (loaded.cases.length !== src.cases) {
          return yield* new DatasetError({
            file: path.join(src.dir, "dataset.json"),
            reason: `lists ${loaded.cases.length} cases, the pipeline's phantom ${src.cases}`,
            hint: "delete the directory to have it generated again, or point dataset.source.dir elsewhere"
          })
        }
      }
    } else {
      const source: DatasetSource = src.kind === "decathlon" ? { kind: "decathlon", root: src.root } : src
      // A case whose file went missing (deleted between runs, a volume not mounted) stays in the
      // list, so every other case keeps its fold, and fails on its own when a node reads it.
      const loaded = yield* loadDataset(source, { requireFiles: false })
      root = loaded.root
      const isDicom = src.kind === "dicom" || src.kind === "nih-pancreas"
      const stamped = yield* Effect.forEach(loaded.cases, (c) =>
        Effect.map(Effect.all([isDicom ? seriesStamp(c.image) : stamp(c.image), stamp(c.label)]), ([a, b]) => ({ c, a, b }))
      )
      const missing = stamped.filter(({ a, b }) => a === null || b === null)
      // Nothing there at all is a wrong path rather than a damaged case: say so before any work.
      if (missing.length === stamped.length) yield* loadDataset(source)
      for (const { c, a } of missing) {
        options.onProgress?.(`warning: case ${c.id}: ${a === null ? c.image : c.label} is missing; the work that reads it fails (run.on-case-error)`)
      }
      listed = stamped.map(({ c, a, b }) => ({ ...c, fingerprint: a === null || b === null ? MISSING : `${a}/${b}` }))
    }
    const n = listed.length
    const folds = p.dataset.folds
    if (n < folds) {
      return yield* new DatasetError({
        file: root,
        reason: `holds ${n} cases, fewer than the ${folds} folds of dataset.folds`,
        hint: "add cases or lower dataset.folds"
      })
    }
    const cases = listed.map((c, index) => ({ ...c, index, fold: foldOf(n, folds, index), fingerprint: c.fingerprint ?? "" }))
    const runFolds = p.dataset.fold === "all" ? Array.from({ length: folds }, (_, f) => f) : [...p.dataset.fold]
    const pretrained = p.networks.pretrained
    const weights = pretrained === null ? null : yield* stamp(pretrained.file)
    return { root, cases, runFolds, weights }
  })
