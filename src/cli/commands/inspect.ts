/**
 * `rstn inspect FILE...`: what rstn reads from each NIfTI file or DICOM series directory, one
 * JSON object per line on stdout (version, datatype, dims, spacing, affine, scaling, value
 * range). A series prints the same keys as its NIfTI twin (version "dicom", the stored pixel
 * type, its rescale as scl_slope/scl_inter), plus its UID, file count and transfer syntax. A
 * file that cannot be read prints its error on stderr and the others are still inspected; the
 * exit code is 1 if any file failed.
 */
import { Effect, Either } from "effect"
import * as fs from "node:fs"
import type { DicomError, DicomSeries } from "../../ops/dicom/index.ts"
import type { NiftiError, NiftiImage } from "../../ops/nifti/index.ts"
import type { VoxelArray } from "../../ops/volume.ts"
import { isDirectory, readDicomSeries } from "../../runtime/dicom-series.ts"
import { readNiftiFile } from "../../runtime/nifti-file.ts"
import { ModelFileError } from "../../runtime/predict/errors.ts"
import { decodeModelFile, describeModel, isModelFile } from "../../runtime/predict/model-file.ts"
import { numberFlag } from "../args.ts"
import type { Run } from "../command.ts"
import { renderError } from "../render-error.ts"

export interface ValueStats {
  readonly min: number | null
  readonly max: number | null
  readonly mean: number | null
  readonly nanCount: number
}

/** Min, max and mean of the values, NaNs left out (null when every value is NaN). */
export const valueStats = (data: VoxelArray): ValueStats => {
  let min = Number.POSITIVE_INFINITY
  let max = Number.NEGATIVE_INFINITY
  let sum = 0
  let nan = 0
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!
    if (v !== v) {
      nan++
      continue
    }
    if (v < min) min = v
    if (v > max) max = v
    sum += v
  }
  const n = data.length - nan
  return n === 0 ? { min: null, max: null, mean: null, nanCount: nan } : { min, max, mean: sum / n, nanCount: nan }
}

/** JSON has no NaN or infinity: such header values print as null. */
const finite = (x: number): number | null => (Number.isFinite(x) ? x : null)

/** The JSON object printed for one file. */
export const inspectRecord = (file: string, image: NiftiImage): Record<string, unknown> => {
  const h = image.header
  const stats = valueStats(image.volume.data)
  return {
    path: file,
    version: h.version,
    datatype: h.datatype,
    byte_order: h.littleEndian ? "little" : "big",
    dims: h.dims,
    pixdim: h.pixdim.map(finite),
    spacing: image.volume.geometry.spacing,
    affine: [0, 1, 2, 3].map((r) => h.affine.slice(4 * r, 4 * r + 4)),
    qform_code: h.qformCode,
    sform_code: h.sformCode,
    scl_slope: finite(h.sclSlope),
    scl_inter: finite(h.sclInter),
    scaled: h.scaled,
    min: stats.min,
    max: stats.max,
    mean: stats.mean,
    nan_count: stats.nanCount
  }
}

/** The JSON object printed for a DICOM series: the NIfTI record's keys, as its NIfTI twin would show them. */
export const inspectSeriesRecord = (dir: string, series: DicomSeries): Record<string, unknown> => {
  const { volume, info } = series
  const g = volume.geometry
  const stats = valueStats(volume.data)
  const slope = info.slope ?? 1
  const intercept = info.intercept ?? 0
  return {
    path: dir,
    version: "dicom",
    datatype: info.stored,
    byte_order: info.transferSyntax === "1.2.840.10008.1.2.2" ? "big" : "little",
    dims: [...volume.shape],
    pixdim: [g.qfac, ...g.spacing, 1, 1, 1, 1],
    spacing: g.spacing,
    affine: [0, 1, 2, 3].map((r) => g.affine.slice(4 * r, 4 * r + 4)),
    qform_code: g.qformCode,
    sform_code: g.sformCode,
    scl_slope: info.slope,
    scl_inter: info.intercept,
    scaled: info.slope === null || slope !== 1 || intercept !== 0,
    min: stats.min,
    max: stats.max,
    mean: stats.mean,
    nan_count: stats.nanCount,
    series_instance_uid: info.seriesUid,
    files: info.files,
    transfer_syntax: info.transferSyntax
  }
}

export interface InspectOutput {
  readonly stdout: (line: string) => void
  readonly stderr: (line: string) => void
}

/**
 * The first bytes of a regular file, or none when it is something else or cannot be read (the
 * NIfTI reader then says why). Non-blocking, and only regular files are read: opening a FIFO would
 * wait for a writer, and a device may never end.
 */
const head = (file: string): Uint8Array => {
  try {
    const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK)
    try {
      if (!fs.fstatSync(fd).isFile()) return new Uint8Array(0)
      const bytes = new Uint8Array(8)
      return bytes.subarray(0, fs.readSync(fd, bytes, 0, 8, 0))
    } finally {
      fs.closeSync(fd)
    }
  } catch {
    return new Uint8Array(0)
  }
}

/** A model file (`rstn export`): its description, after every checksum is checked. */
const inspectModel = (file: string, out: InspectOutput): Effect.Effect<boolean> =>
  Effect.sync(() => {
    const decoded = Either.flatMap(
      Either.try({
        try: () => new Uint8Array(fs.readFileSync(file)),
        catch: (e) => new ModelFileError({ file, reason: `cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`, hint: "check the file's permissions" })
      }),
      (bytes) => Either.map(decodeModelFile(bytes, file), (m) => describeModel(file, bytes.length, m))
    )
    if (Either.isLeft(decoded)) {
      out.stderr(renderError(decoded.left))
      return false
    }
    out.stdout(JSON.stringify(decoded.right))
    return true
  })

/** Inspects each file in turn (one image in memory at a time); returns the exit code. */
export const runInspect = (
  files: ReadonlyArray<string>,
  options: { readonly maxVoxels?: number | undefined },
  out: InspectOutput
): Effect.Effect<number> =>
  Effect.map(
    Effect.forEach(files, (file) =>
      isModelFile(head(file)) ? inspectModel(file, out) :
      // Looking is not running: a 4D file is shown (pipelines refuse it where they read it).
      Effect.map(
        Effect.either(
          Effect.flatMap(isDirectory(file), (dir): Effect.Effect<Record<string, unknown>, NiftiError | DicomError> =>
            dir
              ? Effect.map(readDicomSeries(file, options), (s) => inspectSeriesRecord(file, s))
              : Effect.map(readNiftiFile(file, { ...options, volumes: "any" }), (image: NiftiImage) => inspectRecord(file, image))
          )
        ),
        (result) => {
          if (Either.isLeft(result)) {
            out.stderr(renderError(result.left))
            return false
          }
          out.stdout(JSON.stringify(result.right))
          return true
        }
      )
    ),
    (oks) => (oks.every(Boolean) ? 0 : 1)
  )

export const run: Run = (args) =>
  runInspect(
    args.positionals,
    { maxVoxels: numberFlag(args, "max-voxels") },
    {
      stdout: (line) => process.stdout.write(line + "\n"),
      stderr: (line) => process.stderr.write(line + "\n")
    }
  )
