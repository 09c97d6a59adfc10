/**
 * Writing a synthetic dataset in the Medical Segmentation Decathlon layout: `dataset.json`,
 * `imagesTr/case_NNN.nii.gz` (int16 HU) and `labelsTr/case_NNN.nii.gz` (uint8, 1 = target);
 * or, with format "dicom", in NIH Pancreas-CT's layout: `images/PANCREAS_NNNN/<study>/<series>/`
 * with one CT DICOM file per slice and `labels/labelNNNN.nii.gz`, numbered from 1. Case i is the
 * same patient, voxel for voxel, in both formats (its NIfTI twin).
 *
 * Every file is written atomically, and a marker records the generator version, seed and size
 * before any case is written, so a rerun with the same arguments keeps the cases already on
 * disk (a dataset interrupted half-way is completed, not restarted) and gives the same bytes.
 * `dataset.json` is written last: its presence means the dataset is complete.
 */
import { Effect } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { caseId, generatePhantom, PHANTOM_VERSION } from "../ops/phantom/generate.ts"
import type { PhantomSize } from "../ops/phantom/grid.ts"
import { atomicWrite, type WriteError } from "./atomic-write.ts"
import { encodeDicomSeries } from "../ops/dicom/index.ts"
import { isDirectory, writeDicomSeries } from "./dicom-series.ts"
import { writeNiftiFile } from "./nifti-file.ts"
import { fileProblem } from "./file-problem.ts"

export class PhantomError extends fileProblem("PhantomError") {}

/** The marker file, hidden so that dataset tools listing the directory ignore it. */
export const PHANTOM_MARKER = ".rstn-phantom.json"

export interface PhantomDatasetOptions {
  readonly out: string
  readonly cases: number
  readonly seed: number
  readonly size: PhantomSize
  /** "nifti" (default): the Decathlon layout; "dicom": NIH Pancreas-CT's layout. */
  readonly format?: PhantomFormat
  /** Called after each case, with whether it was generated or kept from an earlier run. */
  readonly onCase?: (progress: { readonly index: number; readonly id: string; readonly status: "written" | "kept" }) => void
}

export type PhantomFormat = "nifti" | "dicom"
export const PHANTOM_FORMATS: ReadonlyArray<PhantomFormat> = ["nifti", "dicom"]

/** NIH Pancreas-CT's names for case `index` (numbered from 1): its patient directory and label file. */
export const nihNames = (index: number) => {
  const n = String(index + 1).padStart(4, "0")
  return { patient: `PANCREAS_${n}`, label: `label${n}.nii.gz` }
}
/** Where a DICOM phantom keeps a patient's one series, below its patient directory. */
const NIH_SERIES_PATH = ["phantom-study", "ct-series"]

export interface PhantomDatasetSummary {
  /** What lists the cases: dataset.json, or the images directory of the DICOM layout. */
  readonly listing: string
  readonly written: number
  readonly kept: number
}

interface Marker {
  readonly generator: "rstn phantom"
  readonly version: number
  readonly seed: number
  readonly size: PhantomSize
  /** Absent in markers written before DICOM phantoms: "nifti". */
  readonly format?: PhantomFormat
}

const exists = (file: string): Effect.Effect<boolean> =>
  Effect.promise(() =>
    fs.stat(file).then(
      (s) => s.isFile(),
      () => false
    )
  )

const readMarker = (file: string): Effect.Effect<Marker | undefined> =>
  Effect.promise(() =>
    fs.readFile(file, "utf8").then(
      (t) => {
        try {
          const m = JSON.parse(t) as Partial<Marker>
          return m.generator === "rstn phantom" ? (m as Marker) : undefined
        } catch {
          return undefined
        }
      },
      () => undefined
    )
  )

/** The directory must be new, empty, or an earlier phantom dataset: never someone's data. */
const checkOut = (out: string): Effect.Effect<Marker | undefined, PhantomError> =>
  Effect.gen(function* () {
    const entries = yield* Effect.tryPromise({
      try: () => fs.readdir(out),
      catch: (e) => e as NodeJS.ErrnoException
    }).pipe(
      Effect.catchAll((e) =>
        e.code === "ENOENT"
          ? Effect.succeed([] as string[])
          : Effect.fail(
              new PhantomError({
                file: out,
                reason: e.code === "ENOTDIR" ? "is a file, not a directory" : `cannot be read (${e.code ?? e.message})`,
                hint: "name a new or empty directory for the dataset"
              })
            )
      )
    )
    if (entries.length === 0) return undefined
    const marker = yield* readMarker(path.join(out, PHANTOM_MARKER))
    if (marker === undefined) {
      return yield* Effect.fail(
        new PhantomError({
          file: out,
          reason: "is not empty and was not written by rstn phantom",
          hint: "name a new or empty directory; rstn phantom never overwrites other data"
        })
      )
    }
    return marker
  })

/**
 * Cases beyond `cases` left by an earlier, larger run in this (verified) phantom directory, so
 * the directory holds exactly what the arguments describe whatever ran before.
 */
const removeStaleCases = (out: string, cases: number): Effect.Effect<void, PhantomError> =>
  Effect.forEach(["imagesTr", "labelsTr", "images", "labels"], (sub) =>
    Effect.tryPromise({
      try: async () => {
        const dir = path.join(out, sub)
        const names = await fs.readdir(dir).catch(() => [] as string[])
        for (const name of names) {
          const m = /^case_(\d+)\.nii\.gz$/.exec(name)
          if (m !== null && Number(m[1]) >= cases) await fs.rm(path.join(dir, name), { force: true })
          // NIH numbering starts at 1.
          const nih = /^(?:PANCREAS_|label)(\d+)(?:\.nii\.gz)?$/.exec(name)
          if (nih !== null && Number(nih[1]) > cases) await fs.rm(path.join(dir, name), { recursive: true, force: true })
        }
      },
      catch: (e) =>
        new PhantomError({
          file: path.join(out, sub),
          reason: `cannot remove cases left by an earlier run (${(e as NodeJS.ErrnoException).code ?? String(e)})`,
          hint: "check the directory's permissions"
        })
    })
  ).pipe(Effect.asVoid)

const datasetJson = (options: PhantomDatasetOptions): string => {
  const ids = Array.from({ length: options.cases }, (_, i) => caseId(i))
  const json = {
    name: "rstn-phantom",
    description: `Synthetic abdominal CT with a pancreas-like target (rstn phantom v${PHANTOM_VERSION}, size ${options.size}, seed ${options.seed})`,
    reference: "generated by `rstn phantom`",
    licence: "CC0",
    release: `${PHANTOM_VERSION}`,
    tensorImageSize: "3D",
    modality: { "0": "CT" },
    labels: { "0": "background", "1": "pancreas" },
    numTraining: options.cases,
    numTest: 0,
    training: ids.map((id) => ({ image: `./imagesTr/${id}.nii.gz`, label: `./labelsTr/${id}.nii.gz` })),
    test: [] as string[]
  }
  return JSON.stringify(json, null, 2) + "\n"
}

const checkOptions = (o: PhantomDatasetOptions): PhantomError | undefined => {
  if (!Number.isInteger(o.cases) || o.cases < 1 || o.cases > 999) {
    return new PhantomError({ file: o.out, reason: `--cases must be an integer from 1 to 999, got ${o.cases}`, hint: "e.g. --cases 20" })
  }
  if (!Number.isInteger(o.seed) || o.seed < 0 || o.seed > 0xffffffff) {
    return new PhantomError({ file: o.out, reason: `--seed must be an integer from 0 to 4294967295, got ${o.seed}`, hint: "e.g. --seed 0" })
  }
  return undefined
}

export const writePhantomDataset = (options: PhantomDatasetOptions): Effect.Effect<PhantomDatasetSummary, PhantomError | WriteError> =>
  Effect.gen(function* () {
    const bad = checkOptions(options)
    if (bad !== undefined) return yield* Effect.fail(bad)
    const out = path.resolve(options.out)
    const previous = yield* checkOut(out)
    const format = options.format ?? "nifti"
    const marker: Marker = { generator: "rstn phantom", version: PHANTOM_VERSION, seed: options.seed, size: options.size, format }
    const reuse =
      previous !== undefined &&
      previous.version === marker.version &&
      previous.seed === marker.seed &&
      previous.size === marker.size &&
      (previous.format ?? "nifti") === format
    yield* atomicWrite(path.join(out, PHANTOM_MARKER), JSON.stringify(marker) + "\n")
    // A phantom dataset holds one layout: switching format drops the other one's files.
    if (previous !== undefined && (previous.format ?? "nifti") !== format) {
      const other = format === "dicom" ? ["imagesTr", "labelsTr", "dataset.json"] : ["images", "labels"]
      yield* Effect.forEach(other, (name) =>
        Effect.tryPromise({
          try: () => fs.rm(path.join(out, name), { recursive: true, force: true }),
          catch: (e) =>
            new PhantomError({
              file: path.join(out, name),
              reason: `cannot remove the ${previous.format ?? "nifti"} layout an earlier run wrote (${(e as NodeJS.ErrnoException).code ?? String(e)})`,
              hint: "check the directory's permissions, or write the dataset to a new directory"
            })
        })
      )
    }
    // Full-size images are large and noisy: a fast gzip level saves most of the time for ~10% more bytes.
    const level = options.size === "full" ? 1 : 6
    let written = 0
    let kept = 0
    for (let index = 0; index < options.cases; index++) {
      const id = caseId(index)
      const nih = nihNames(index)
      const image = format === "nifti" ? path.join(out, "imagesTr", `${id}.nii.gz`) : path.join(out, "images", nih.patient)
      const label = format === "nifti" ? path.join(out, "labelsTr", `${id}.nii.gz`) : path.join(out, "labels", nih.label)
      const present = format === "nifti" ? yield* exists(image) : yield* isDirectory(image)
      if (reuse && present && (yield* exists(label))) {
        kept++
        options.onCase?.({ index, id: format === "nifti" ? id : nih.patient, status: "kept" })
        continue
      }
      const phantom = yield* Effect.sync(() => generatePhantom({ seed: options.seed, index, size: options.size }))
      const description = `rstn phantom v${PHANTOM_VERSION} seed ${options.seed} ${id}`
      if (format === "nifti") {
        yield* writeNiftiFile(image, phantom.image, "int16", { description, level })
      } else {
        // A series is a directory renamed into place whole: drop one left by a run of other settings.
        yield* Effect.promise(() => fs.rm(image, { recursive: true, force: true }))
        const files = yield* Effect.sync(() =>
          encodeDicomSeries(phantom.image, { key: `${description} ${options.size}`, patientId: nih.patient, seriesDescription: description })
        )
        yield* writeDicomSeries(path.join(image, ...NIH_SERIES_PATH), files)
      }
      yield* writeNiftiFile(label, phantom.label, "uint8", { description, level })
      written++
      options.onCase?.({ index, id: format === "nifti" ? id : nih.patient, status: "written" })
      // Let an interrupt (Ctrl-C) in between cases.
      yield* Effect.yieldNow()
    }
    yield* removeStaleCases(out, options.cases)
    if (format === "dicom") return { listing: path.join(out, "images"), written, kept }
    const listing = path.join(out, "dataset.json")
    yield* atomicWrite(listing, datasetJson(options))
    return { listing, written, kept }
  })
