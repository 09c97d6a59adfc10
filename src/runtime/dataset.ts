/**
 * Datasets: which image/label pairs a pipeline trains and tests on, from a Medical
 * Segmentation Decathlon layout (`dataset.json` with `training` pairs) or an explicit list of
 * pairs, and loading one case as an HU image plus a binary target mask.
 *
 * Every path must stay inside the dataset root, every listed file must exist, and image and
 * label must share shape and geometry; each failure is a DatasetError naming the file, the
 * key at fault and the fix.
 */
import { Data, Effect } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import type { DicomError } from "../ops/dicom/index.ts"
import type { NiftiError } from "../ops/nifti/index.ts"
import type { Geometry, Volume } from "../ops/volume.ts"
import { isDirectory, readDicomSeries } from "./dicom-series.ts"
import { readNiftiFile } from "./nifti-file.ts"

export class DatasetError extends Data.TaggedError("DatasetError")<{
  /** The file at fault: dataset.json, a listed image or label, or the dataset root. */
  readonly file: string
  /** Where in the listing, e.g. `training[3].label` or `pairs[0].image`. */
  readonly key?: string
  readonly reason: string
  readonly hint: string
}> {
  override get message(): string {
    return `${this.file}${this.key ? ` (${this.key})` : ""}: ${this.reason}`
  }
}

export interface PairSpec {
  readonly image: string
  readonly label: string
  /** Case id; derived from the image file name when absent. */
  readonly id?: string
}

export interface SeriesPairSpec {
  /** A directory holding one DICOM series. */
  readonly series: string
  readonly label: string
  /** Case id; the series directory's name when absent. */
  readonly id?: string
}

export type DatasetSource =
  | { readonly kind: "decathlon"; readonly root: string }
  | { readonly kind: "pairs"; readonly base: string; readonly pairs: ReadonlyArray<PairSpec> }
  | { readonly kind: "dicom"; readonly base: string; readonly pairs: ReadonlyArray<SeriesPairSpec> }
  | { readonly kind: "nih-pancreas"; readonly images: string; readonly labels: string }

export interface DatasetCase {
  readonly id: string
  /** Absolute paths. The image is a NIfTI file or a directory holding a DICOM series. */
  readonly image: string
  readonly label: string
}

export interface Dataset {
  /** Absolute path of the dataset root (the Decathlon directory, or the pairs' base). */
  readonly root: string
  /** Sorted by id: fold f of the reference split is a contiguous range of this list. */
  readonly cases: ReadonlyArray<DatasetCase>
}

const NIFTI_SUFFIX = /\.nii(\.gz)?$/i
/** Ids name files and directories of a run, so they are kept to a portable alphabet. */
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/

/** `./imagesTr/pancreas_001.nii.gz` → `pancreas_001`. */
export const caseIdOf = (file: string): string => path.basename(file).replace(NIFTI_SUFFIX, "")

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

interface Entry {
  readonly image: string
  readonly label: string
  readonly id: string
  /** `training[3]` or `pairs[3]`, for messages. */
  readonly key: string
  /** The image is a DICOM series directory (`series`), not a file (`image`). */
  readonly series?: boolean
  /** Where the label must lie when not under the dataset root (NIH Pancreas-CT's label directory). */
  readonly labelRoot?: string
}

/** Resolve `p` against `root` and refuse anything that ends up outside it. */
const resolveInside = (root: string, p: string, listing: string, key: string): string | DatasetError => {
  const abs = path.resolve(root, p)
  const rel = path.relative(root, abs)
  if (rel === "" || rel === ".." || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) {
    return new DatasetError({
      file: listing,
      key,
      reason: `path '${p}' ${rel === "" ? "is the dataset root itself" : `leaves the dataset root ${root}`}`,
      hint: "list files inside the dataset directory, relative to it (e.g. ./imagesTr/case_000.nii.gz)"
    })
  }
  return abs
}

const checkEntries = (root: string, listing: string, entries: ReadonlyArray<Entry>, options: LoadDatasetOptions = {}): Effect.Effect<Dataset, DatasetError> =>
  Effect.gen(function* () {
    if (entries.length === 0) {
      return yield* Effect.fail(
        new DatasetError({ file: listing, reason: "lists no cases", hint: "add at least one image/label pair" })
      )
    }
    const cases: DatasetCase[] = []
    const byId = new Map<string, Entry>()
    for (const e of entries) {
      if (!ID_PATTERN.test(e.id)) {
        return yield* Effect.fail(
          new DatasetError({
            file: listing,
            key: e.key,
            reason: `case id '${e.id}' may only hold letters, digits, '.', '_' and '-'`,
            hint: "rename the file or give the pair an explicit id"
          })
        )
      }
      const clash = byId.get(e.id)
      if (clash !== undefined) {
        return yield* Effect.fail(
          new DatasetError({
            file: listing,
            key: e.key,
            reason: `case id '${e.id}' is also the id of ${clash.key}`,
            hint: "every case needs its own id: rename a file or give explicit ids"
          })
        )
      }
      byId.set(e.id, e)
      const image = resolveInside(root, e.image, listing, `${e.key}.${e.series === true ? "series" : "image"}`)
      if (image instanceof DatasetError) return yield* Effect.fail(image)
      const label = resolveInside(e.labelRoot ?? root, e.label, listing, `${e.key}.label`)
      if (label instanceof DatasetError) return yield* Effect.fail(label)
      cases.push({ id: e.id, image, label })
    }
    // Every listed file must exist; report the first missing one and how many others are.
    const missing: Array<{ file: string; key: string; wrongKind: boolean }> = []
    for (const [i, c] of cases.entries()) {
      const key = entries[i]!.key
      const series = entries[i]!.series === true
      for (const [file, which] of [
        [c.image, series ? "series" : "image"],
        [c.label, "label"]
      ] as const) {
        const found = yield* Effect.promise(() =>
          fs.stat(file).then(
            (s) => (s.isDirectory() ? "directory" : s.isFile() ? "file" : "other"),
            () => "none" as const
          )
        )
        if (found !== (which === "series" ? "directory" : "file")) missing.push({ file, key: `${key}.${which}`, wrongKind: found !== "none" })
      }
    }
    if (missing.length > 0 && options.requireFiles !== false) {
      const first = missing[0]!
      const more = missing.length > 1 ? ` (and ${missing.length - 1} more listed files)` : ""
      const series = first.key.endsWith(".series")
      return yield* Effect.fail(
        new DatasetError({
          file: first.file,
          key: first.key,
          reason: first.wrongKind
            ? `is listed in ${listing} as ${series ? "a DICOM series directory but is a file" : "a file but is a directory"}${more}`
            : `listed in ${listing} but missing${more}`,
          hint: first.wrongKind
            ? series
              ? "name the directory holding the series' .dcm files (a NIfTI image goes in a pairs source)"
              : "name the NIfTI file itself (a DICOM series directory goes in a dicom or nih-pancreas source)"
            : "check the dataset was copied completely, or fix the listing"
        })
      )
    }
    cases.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    return { root, cases }
  })

const loadDecathlon = (rootArg: string, options: LoadDatasetOptions): Effect.Effect<Dataset, DatasetError> =>
  Effect.gen(function* () {
    const root = path.resolve(rootArg)
    const listing = path.join(root, "dataset.json")
    const text = yield* Effect.tryPromise({
      try: () => fs.readFile(listing, "utf8"),
      catch: (e) => {
        const code = (e as NodeJS.ErrnoException).code
        return new DatasetError({
          file: listing,
          reason: code === "ENOENT" ? "no such file" : `cannot be read (${code ?? String(e)})`,
          hint:
            code === "ENOENT"
              ? "a Decathlon dataset has dataset.json at its root (e.g. Task07_Pancreas/dataset.json); `rstn phantom DIR` writes one"
              : "check the file's permissions"
        })
      }
    })
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch (e) {
      return yield* Effect.fail(
        new DatasetError({ file: listing, reason: `is not valid JSON: ${(e as Error).message}`, hint: "fix the JSON syntax" })
      )
    }
    if (!isRecord(json)) {
      return yield* Effect.fail(new DatasetError({ file: listing, reason: "must hold a JSON object", hint: "see the Decathlon layout: { \"training\": [...] }" }))
    }
    const training = json.training
    if (!Array.isArray(training)) {
      return yield* Effect.fail(
        new DatasetError({
          file: listing,
          key: "training",
          reason: training === undefined ? "has no 'training' list" : "'training' must be a list of {image, label}",
          hint: "each entry looks like { \"image\": \"./imagesTr/x.nii.gz\", \"label\": \"./labelsTr/x.nii.gz\" }"
        })
      )
    }
    const entries: Entry[] = []
    for (const [i, item] of training.entries()) {
      const key = `training[${i}]`
      if (!isRecord(item)) {
        return yield* Effect.fail(new DatasetError({ file: listing, key, reason: "must be an object with image and label", hint: "{ \"image\": ..., \"label\": ... }" }))
      }
      for (const field of ["image", "label"] as const) {
        if (typeof item[field] !== "string" || item[field] === "") {
          return yield* Effect.fail(
            new DatasetError({
              file: listing,
              key: `${key}.${field}`,
              reason: item[field] === undefined ? `is missing` : `must be a non-empty path string`,
              hint: `give the ${field} file relative to the dataset root, e.g. "./${field === "image" ? "imagesTr" : "labelsTr"}/case_000.nii.gz"`
            })
          )
        }
      }
      const image = item.image as string
      entries.push({ image, label: item.label as string, id: caseIdOf(image), key })
    }
    return yield* checkEntries(root, listing, entries, options)
  })

const loadPairs = (baseArg: string, pairs: ReadonlyArray<PairSpec>, options: LoadDatasetOptions): Effect.Effect<Dataset, DatasetError> => {
  const root = path.resolve(baseArg)
  return checkEntries(
    root,
    root,
    pairs.map((p, i) => ({ image: p.image, label: p.label, id: p.id ?? caseIdOf(p.image), key: `pairs[${i}]` })),
    options
  )
}

export interface LoadDatasetOptions {
  /**
   * Fail when a listed file does not exist (default). A run passes false: its cases keep their
   * ids and folds, and only the work that reads a missing file fails, per `run.on-case-error`.
   */
  readonly requireFiles?: boolean
}

const loadSeriesPairs = (baseArg: string, pairs: ReadonlyArray<SeriesPairSpec>, options: LoadDatasetOptions): Effect.Effect<Dataset, DatasetError> => {
  const root = path.resolve(baseArg)
  return checkEntries(
    root,
    root,
    pairs.map((p, i) => ({ image: p.series, label: p.label, id: p.id ?? path.basename(path.resolve(root, p.series)), key: `pairs[${i}]`, series: true })),
    options
  )
}

/** NIH Pancreas-CT: patient directory `PANCREAS_0001` pairs with label file `label0001.nii.gz`. */
const NIH_PATIENT = /^PANCREAS_(\d+)$/

const loadNihPancreas = (imagesArg: string, labelsArg: string, options: LoadDatasetOptions): Effect.Effect<Dataset, DatasetError> =>
  Effect.gen(function* () {
    const images = path.resolve(imagesArg)
    const labels = path.resolve(labelsArg)
    const list = (dir: string, which: "images" | "labels") =>
      Effect.tryPromise({
        try: () => fs.readdir(dir, { withFileTypes: true }),
        catch: (e) => {
          const code = (e as NodeJS.ErrnoException).code
          return new DatasetError({
            file: dir,
            key: `dataset.source.${which}`,
            reason: code === "ENOENT" ? "no such directory" : code === "ENOTDIR" ? "is a file, not a directory" : `cannot be read (${code ?? String(e)})`,
            hint:
              which === "images"
                ? "name the directory holding PANCREAS_0001/, PANCREAS_0002/, ... (NIH Pancreas-CT's images)"
                : "name the directory holding label0001.nii.gz, label0002.nii.gz, ... (NIH Pancreas-CT's labels)"
          })
        }
      })
    const patients = (yield* list(images, "images")).filter((e) => e.isDirectory() && NIH_PATIENT.test(e.name)).map((e) => e.name)
    const labelFiles = new Set((yield* list(labels, "labels")).filter((e) => e.isFile()).map((e) => e.name))
    if (patients.length === 0) {
      return yield* new DatasetError({
        file: images,
        key: "dataset.source.images",
        reason: "holds no PANCREAS_NNNN directories",
        hint: "name NIH Pancreas-CT's image directory (the one holding PANCREAS_0001/, ...)"
      })
    }
    const entries: Entry[] = patients.map((name) => {
      const number = NIH_PATIENT.exec(name)![1]!
      const gz = `label${number}.nii.gz`
      const label = labelFiles.has(gz) || !labelFiles.has(`label${number}.nii`) ? gz : `label${number}.nii`
      return { image: name, label: path.join(labels, label), id: name, key: name, series: true, labelRoot: labels }
    })
    // Said here, by patient, rather than as a file "listed" somewhere: the pairing is by name.
    const unlabelled = entries.filter((e) => !labelFiles.has(path.basename(e.label)))
    if (unlabelled.length > 0 && options.requireFiles !== false) {
      const first = unlabelled[0]!
      const more = unlabelled.length > 1 ? ` (nor have ${unlabelled.length - 1} more: ${unlabelled.slice(1, 4).map((e) => e.id).join(", ")}${unlabelled.length > 4 ? ", ..." : ""})` : ""
      return yield* new DatasetError({
        file: labels,
        key: "dataset.source.labels",
        reason: `has no ${path.basename(first.label)} for ${path.join(images, first.id)}${more}`,
        hint: `copy NIH Pancreas-CT's label files (label0001.nii.gz, ...) into ${labels}, or move the unlabelled patient directories out of ${images}`
      })
    }
    return yield* checkEntries(images, images, entries, options)
  })

/** The cases of a dataset, sorted by id, every path checked to stay inside the root (and, by default, to exist). */
export const loadDataset = (source: DatasetSource, options: LoadDatasetOptions = {}): Effect.Effect<Dataset, DatasetError> => {
  switch (source.kind) {
    case "decathlon":
      return loadDecathlon(source.root, options)
    case "pairs":
      return loadPairs(source.base, source.pairs, options)
    case "dicom":
      return loadSeriesPairs(source.base, source.pairs, options)
    case "nih-pancreas":
      return loadNihPancreas(source.images, source.labels, options)
  }
}

/**
 * Which label values are the target: a list of values (Decathlon pancreas: [1] for the
 * pancreas alone, [1, 2] with the tumour) or "nonzero" (every non-background label; the default).
 */
export type Foreground = ReadonlyArray<number> | "nonzero"

/** Labels rounded to the nearest integer (some datasets store them as floats), then matched. */
export const foregroundMask = (label: Volume, foreground: Foreground = "nonzero"): Uint8Array => {
  const src = label.data
  const out = new Uint8Array(src.length)
  if (foreground === "nonzero") {
    for (let i = 0; i < src.length; i++) out[i] = Math.round(src[i]!) !== 0 ? 1 : 0
    return out
  }
  const wanted = new Set(foreground)
  // A lookup table for the common small-integer labels.
  const lut = new Uint8Array(256)
  for (const v of wanted) if (Number.isInteger(v) && v >= 0 && v < 256) lut[v] = 1
  for (let i = 0; i < src.length; i++) {
    const v = Math.round(src[i]!)
    out[i] = v >= 0 && v < 256 ? lut[v]! : wanted.has(v) ? 1 : 0
  }
  return out
}

export interface LoadCaseOptions {
  readonly foreground?: Foreground
  readonly maxVoxels?: number
  /** Largest relative difference allowed between image and label spacing/affine entries (default 1e-3). */
  readonly tolerance?: number
}

export interface LoadedCase {
  readonly image: Volume
  readonly label: Volume<Uint8Array>
}

const close = (a: number, b: number, tol: number): boolean => Math.abs(a - b) <= tol * Math.max(1, Math.abs(a), Math.abs(b))

/** The first geometry field where label and image disagree beyond the tolerance. */
const geometryMismatch = (image: Geometry, label: Geometry, tol: number): string | undefined => {
  for (let i = 0; i < 3; i++) {
    if (!close(image.spacing[i]!, label.spacing[i]!, tol)) return `spacing[${i}] is ${label.spacing[i]} in the label, ${image.spacing[i]} in the image`
  }
  for (let i = 0; i < 12; i++) {
    if (!close(image.affine[i]!, label.affine[i]!, tol)) {
      return `affine row ${Math.floor(i / 4)} column ${i % 4} is ${label.affine[i]} in the label, ${image.affine[i]} in the image`
    }
  }
  return undefined
}

/** A case's image: a NIfTI file, or a directory holding a DICOM series. */
const readImage = (file: string, read: { readonly maxVoxels?: number | undefined }): Effect.Effect<{ readonly volume: Volume }, NiftiError | DicomError> =>
  Effect.flatMap(isDirectory(file), (dir): Effect.Effect<{ readonly volume: Volume }, NiftiError | DicomError> => (dir ? readDicomSeries(file, read) : readNiftiFile(file, read)))

/** Read a case's image and label and turn the label into the binary target mask. */
export const loadCase = (c: DatasetCase, options: LoadCaseOptions = {}): Effect.Effect<LoadedCase, DatasetError | NiftiError | DicomError> =>
  Effect.gen(function* () {
    const read = { maxVoxels: options.maxVoxels }
    const [image, label] = yield* Effect.all([readImage(c.image, read), readNiftiFile(c.label, read)], { concurrency: 2 })
    const is = image.volume.shape
    const ls = label.volume.shape
    if (is[0] !== ls[0] || is[1] !== ls[1] || is[2] !== ls[2]) {
      return yield* Effect.fail(
        new DatasetError({
          file: c.label,
          reason: `is ${ls.join("x")} voxels but its image ${c.image} is ${is.join("x")}`,
          hint: "image and label must be the same series: re-export the label on the image's grid"
        })
      )
    }
    const mismatch = geometryMismatch(image.volume.geometry, label.volume.geometry, options.tolerance ?? 1e-3)
    if (mismatch !== undefined) {
      return yield* Effect.fail(
        new DatasetError({
          file: c.label,
          reason: `does not lie on its image ${c.image}: ${mismatch}`,
          hint: "resample the label onto the image's grid (or copy the image's header geometry if only the header is off)"
        })
      )
    }
    const mask = foregroundMask(label.volume, options.foreground ?? "nonzero")
    return { image: image.volume, label: { shape: image.volume.shape, geometry: image.volume.geometry, data: mask } }
  })
