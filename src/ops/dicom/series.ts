/**
 * Slices to a volume: one series (by Series Instance UID), its slices sorted along the slice
 * normal, evenly spaced with none missing, values rescaled to HU, placed by the affine that
 * ImageOrientationPatient, ImagePositionPatient and PixelSpacing describe.
 *
 * Voxel order, as nibabel's DICOM wrappers and dcm2niix (without its flips) define it: NIfTI x
 * is the DICOM column index (the fastest-varying index of the stored pixels), y the row index, z
 * the slice's rank along the normal (row cosines x column cosines), lowest first. So voxel
 * (i, j, k) is pixel i of row j of the k-th slice, and the stored pixels are copied as they are.
 * DICOM's patient space is LPS, NIfTI's RAS: the affine's x and y rows are negated.
 */
import * as path from "node:path"
import { Either } from "effect"
import { geometryFromAffine, XFORM } from "../nifti/affine.ts"
import type { Affine, Volume } from "../volume.ts"
import type { DicomSlice, Vec3 } from "./decode-slice.ts"
import { DicomError } from "./dicom-error.ts"

export interface SeriesInfo {
  readonly seriesUid: string
  readonly files: number
  readonly transferSyntax: string
  /** The rescale of every slice, or null when slices differ (values are rescaled per slice). */
  readonly slope: number | null
  readonly intercept: number | null
  /** How the pixels are stored, as a NIfTI datatype name. */
  readonly stored: "int8" | "uint8" | "int16" | "uint16" | "int32" | "uint32"
  /** The sorted slices' files, lowest position along the normal first. */
  readonly sliceFiles: ReadonlyArray<string>
}

export interface DicomSeries {
  readonly volume: Volume
  readonly info: SeriesInfo
}

export interface AssembleOptions {
  /** Refuse series with more voxels than this. */
  readonly maxVoxels?: number
  /** Largest allowed deviation of a slice step from the series' step, relative to it (default 1%). */
  readonly spacingTolerance?: number
}

const sub = (a: Vec3, b: Vec3): Vec3 => [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
const dot = (a: Vec3, b: Vec3): number => a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
const cross = (a: Vec3, b: Vec3): Vec3 => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
const same = (a: ReadonlyArray<number>, b: ReadonlyArray<number>, tol: number): boolean => a.every((x, i) => Math.abs(x - b[i]!) <= tol)
const mm = (x: number): string => `${Number(x.toFixed(4))} mm`

/** The slice normal of a slice: row cosines x column cosines. */
export const sliceNormal = (s: Pick<DicomSlice, "rowCosines" | "columnCosines">): Vec3 => cross(s.rowCosines, s.columnCosines)

/**
 * The RAS voxel-to-world affine (row-major 4x4) of slices sorted along the normal: columns
 * row cosines x column spacing, column cosines x row spacing, the mean step between slice
 * positions (a gantry tilt shows as a shear), and the first slice's position.
 */
export const seriesAffine = (sorted: ReadonlyArray<Pick<DicomSlice, "position" | "rowCosines" | "columnCosines" | "pixelSpacing" | "sliceThickness">>): Affine => {
  const first = sorted[0]!
  const last = sorted[sorted.length - 1]!
  const [rowSpacing, columnSpacing] = first.pixelSpacing
  const c0 = first.rowCosines.map((x) => x * columnSpacing)
  const c1 = first.columnCosines.map((x) => x * rowSpacing)
  const c2 =
    sorted.length > 1
      ? sub(last.position, first.position).map((x) => x / (sorted.length - 1))
      : sliceNormal(first).map((x) => x * (first.sliceThickness ?? 1))
  const t = first.position
  // LPS -> RAS: negate the x and y rows.
  const sign = [-1, -1, 1]
  const rows = [0, 1, 2].flatMap((r) => [c0[r]! * sign[r]!, c1[r]! * sign[r]!, c2[r]! * sign[r]!, t[r]! * sign[r]!])
  return [...rows, 0, 0, 0, 1].map((x) => (x === 0 ? 0 : x)) // no -0 in printed affines
}

const fail = (dir: string, reason: string, hint: string, file?: string) => Either.left(new DicomError({ dir, reason, hint, ...(file !== undefined ? { file } : {}) }))

/** Assembles one series from the decoded slices of a directory. */
export const assembleSeries = (dir: string, slices: ReadonlyArray<DicomSlice>, options: AssembleOptions = {}): Either.Either<DicomSeries, DicomError> => {
  const name = (s: DicomSlice) => path.relative(dir, s.file) || path.basename(s.file)
  if (slices.length === 0) {
    return fail(dir, "holds no DICOM image files", "name the directory of one series (e.g. PANCREAS_0001/.../<series>/ with its *.dcm files)")
  }
  const bySeries = new Map<string, DicomSlice[]>()
  for (const s of slices) {
    const list = bySeries.get(s.seriesUid)
    if (list === undefined) bySeries.set(s.seriesUid, [s])
    else list.push(s)
  }
  if (bySeries.size > 1) {
    const groups = [...bySeries.entries()].sort((a, b) => b[1].length - a[1].length)
    const shown = groups.slice(0, 3).map(([uid, list]) => `${uid} (${list.length} file${list.length === 1 ? "" : "s"}, e.g. ${name(list[0]!)})`)
    return fail(
      dir,
      `mixes ${bySeries.size} series: ${shown.join("; ")}${groups.length > 3 ? `; and ${groups.length - 3} more` : ""}`,
      "give each series its own directory and name the one to read (a pair's `series:`), or remove the other series' files"
    )
  }
  const first = slices[0]!
  for (const s of slices) {
    const differs =
      s.rows !== first.rows || s.columns !== first.columns
        ? `is ${s.rows}x${s.columns} pixels, ${name(first)} ${first.rows}x${first.columns}`
        : !same([...s.rowCosines, ...s.columnCosines], [...first.rowCosines, ...first.columnCosines], 1e-4)
          ? `has Image Orientation (Patient) ${[...s.rowCosines, ...s.columnCosines].join("\\")}, ${name(first)} ${[...first.rowCosines, ...first.columnCosines].join("\\")}`
          : !same(s.pixelSpacing, first.pixelSpacing, 1e-4 * Math.max(1, first.pixelSpacing[0]))
            ? `has Pixel Spacing ${s.pixelSpacing.join("\\")}, ${name(first)} ${first.pixelSpacing.join("\\")}`
            : s.bitsAllocated !== first.bitsAllocated || s.signed !== first.signed
              ? `stores ${s.signed ? "signed" : "unsigned"} ${s.bitsAllocated}-bit pixels, ${name(first)} ${first.signed ? "signed" : "unsigned"} ${first.bitsAllocated}-bit`
              : undefined
    if (differs !== undefined) {
      return fail(dir, `its slices are not one volume: ${name(s)} ${differs}`, "a series whose slices differ in size or orientation (e.g. a localizer) cannot be stacked: remove the odd slices", s.file)
    }
  }
  const normal = sliceNormal(first)
  const sorted = [...slices].map((s) => ({ s, at: dot(s.position, normal) })).sort((a, b) => a.at - b.at || (a.s.file < b.s.file ? -1 : 1))
  const n = sorted.length
  if (n > 1) {
    const steps = sorted.slice(1).map((x, i) => x.at - sorted[i]!.at)
    // The lower median: missing slices only lengthen steps, so with as many long steps as short
    // ones (3 slices, one gap) the short one is the series' step.
    const median = [...steps].sort((a, b) => a - b)[Math.floor((steps.length - 1) / 2)]!
    const tol = Math.max(median * (options.spacingTolerance ?? 0.01), 1e-3)
    for (const [i, step] of steps.entries()) {
      const a = sorted[i]!
      const b = sorted[i + 1]!
      const between = `${name(a.s)} (at ${mm(a.at)}) and ${name(b.s)} (at ${mm(b.at)})`
      if (step <= 1e-3) {
        return fail(dir, `two slices lie at the same position along the slice normal: ${between}`, "the directory holds a slice twice or two acquisitions of one series: remove the duplicates")
      }
      if (Math.abs(step - median) <= tol) continue
      const ratio = step / median
      const missing = Math.round(ratio) - 1
      if (missing >= 1 && Math.abs(step - (missing + 1) * median) <= tol * (missing + 1)) {
        return fail(
          dir,
          `${missing === 1 ? "a slice is" : `${missing} slices are`} missing between ${between}: a gap of ${mm(step)} in a series that steps ${mm(median)}`,
          "copy the series again completely (every slice of the scan), or take the case out of the dataset"
        )
      }
      return fail(
        dir,
        `uneven slice spacing: ${between} are ${mm(step)} apart, the series' step is ${mm(median)}`,
        "rstn reads evenly spaced series: resample the series to even spacing (e.g. with SimpleITK or 3D Slicer) and list it as a NIfTI pair"
      )
    }
  }
  const rows = first.rows
  const columns = first.columns
  const voxels = rows * columns * n
  if (options.maxVoxels !== undefined && voxels > options.maxVoxels) {
    return fail(dir, `${columns}x${rows}x${n} is ${voxels} voxels, more than the limit of ${options.maxVoxels}`, "raise the voxel limit (--max-voxels, run.max-voxels) if the machine has the memory for it")
  }
  // Integer rescales whose values fit int16 keep the volume int16, as a CT NIfTI twin holds it;
  // anything else becomes float32.
  const integral = sorted.every(({ s }) => Number.isInteger(s.slope) && Number.isInteger(s.intercept))
  let fitsInt16 = integral
  if (integral) {
    for (const { s } of sorted) {
      let lo = Infinity
      let hi = -Infinity
      for (let i = 0; i < s.pixels.length; i++) {
        const v = s.pixels[i]!
        if (v < lo) lo = v
        if (v > hi) hi = v
      }
      const a = lo * s.slope + s.intercept
      const b = hi * s.slope + s.intercept
      if (Math.min(a, b) < -32768 || Math.max(a, b) > 32767) {
        fitsInt16 = false
        break
      }
    }
  }
  const data = fitsInt16 ? new Int16Array(voxels) : new Float32Array(voxels)
  const plane = rows * columns
  sorted.forEach(({ s }, k) => {
    const offset = k * plane
    const { slope, intercept, pixels } = s
    if (slope === 1 && intercept === 0) data.set(pixels, offset)
    else for (let i = 0; i < plane; i++) data[offset + i] = pixels[i]! * slope + intercept
  })
  const affine = seriesAffine(sorted.map(({ s }) => s))
  const geometry = geometryFromAffine(affine, { qformCode: XFORM.SCANNER_ANAT, sformCode: XFORM.SCANNER_ANAT })
  const uniform = sorted.every(({ s }) => s.slope === first.slope && s.intercept === first.intercept)
  return Either.right({
    volume: { shape: [columns, rows, n], geometry, data },
    info: {
      seriesUid: first.seriesUid,
      files: n,
      transferSyntax: first.transferSyntax,
      slope: uniform ? first.slope : null,
      intercept: uniform ? first.intercept : null,
      stored: `${first.signed ? "int" : "uint"}${first.bitsAllocated}` as SeriesInfo["stored"],
      sliceFiles: sorted.map(({ s }) => s.file)
    }
  })
}
