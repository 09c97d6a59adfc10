/**
 * One DICOM file as a slice of a series: the attributes that place it in space and scale its
 * values, and its stored pixel values. Parsing is dicom-parser's; this module decides what a
 * CT slice must hold and says, naming the attribute, what a file lacks.
 */
import dicomParser from "dicom-parser"
import { Either } from "effect"
import { DicomError } from "./dicom-error.ts"
import { decompressHint, MEDIA_STORAGE_DIRECTORY, NATIVE_SYNTAXES, TAG, EXPLICIT_BIG } from "./tags.ts"

export type Vec3 = readonly [number, number, number]

export interface DicomSlice {
  readonly file: string
  readonly seriesUid: string
  readonly transferSyntax: string
  /** Image Position (Patient): the centre of the first stored pixel, LPS millimetres. */
  readonly position: Vec3
  /** Image Orientation (Patient): direction of increasing column index, then of increasing row index. */
  readonly rowCosines: Vec3
  readonly columnCosines: Vec3
  /** Pixel Spacing: between rows (along a column), then between columns (along a row), mm. */
  readonly pixelSpacing: readonly [number, number]
  readonly rows: number
  readonly columns: number
  readonly sliceThickness: number | undefined
  readonly instanceNumber: number | undefined
  readonly slope: number
  readonly intercept: number
  readonly bitsAllocated: number
  readonly signed: boolean
  /** Stored values, row by row, columns varying fastest (rows x columns). */
  readonly pixels: Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array
}

/** Not a slice: a DICOMDIR or another non-image object found among the files; skipped. */
export interface NotAnImage {
  readonly file: string
  readonly skipped: string
}

/** Whether bytes start like a DICOM Part 10 file (128-byte preamble, then "DICM"). */
export const isPart10 = (bytes: Uint8Array): boolean =>
  bytes.length >= 132 && bytes[128] === 0x44 && bytes[129] === 0x49 && bytes[130] === 0x43 && bytes[131] === 0x4d

const fail = (dir: string, file: string, reason: string, hint: string) => Either.left(new DicomError({ dir, file, reason, hint }))

const numbers = (ds: dicomParser.DataSet, tag: string, count: number): number[] | undefined => {
  const el = ds.elements[tag]
  if (el === undefined || el.length === 0) return undefined
  const text = ds.string(tag)
  if (text === undefined) return undefined
  const parts = text.split("\\").map((s) => Number(s.trim()))
  return parts.length === count && parts.every(Number.isFinite) ? parts : undefined
}

const optionalNumber = (ds: dicomParser.DataSet, tag: string): number | undefined => {
  const v = numbers(ds, tag, 1)
  return v === undefined ? undefined : v[0]
}

const uint16 = (ds: dicomParser.DataSet, tag: string): number | undefined => (ds.elements[tag] === undefined ? undefined : ds.uint16(tag))

/**
 * Decodes one file. `Left` is a fault of this file that makes the series unreadable; a valid
 * DICOM object that is no image (a DICOMDIR, a report) is returned as `NotAnImage` for the
 * caller to skip.
 */
export const decodeSlice = (bytes: Uint8Array, file: string, dir: string): Either.Either<DicomSlice | NotAnImage, DicomError> => {
  let ds: dicomParser.DataSet
  try {
    // A Buffer lets dicom-parser inflate a deflated transfer syntax with Node's zlib.
    ds = dicomParser.parseDicom(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))
  } catch (e) {
    const message = e instanceof Error ? e.message : typeof e === "string" ? e : String((e as { exception?: unknown })?.exception ?? e)
    return fail(dir, file, `is not a readable DICOM file (${message.replace(/^dicomParser\.\w+: /, "")})`, "remove the file from the series directory, or copy it again if it was cut short")
  }
  const sopClass = ds.string(TAG.SOPClassUID) ?? ""
  if (sopClass === MEDIA_STORAGE_DIRECTORY) return Either.right({ file, skipped: "a DICOMDIR" })
  const syntax = (ds.string(TAG.TransferSyntaxUID) ?? "").replace(/\0/g, "").trim()
  const pixelData = ds.elements[TAG.PixelData]
  if (!NATIVE_SYNTAXES.has(syntax)) {
    const { name, hint } = decompressHint(syntax)
    return fail(dir, file, `its pixel data is compressed with ${name}, which rstn does not decode`, hint)
  }
  const seriesUid = (ds.string(TAG.SeriesInstanceUID) ?? "").trim()
  if (seriesUid === "") {
    if (pixelData === undefined) return Either.right({ file, skipped: "no image (no Series Instance UID, no Pixel Data)" })
    return fail(dir, file, "has no Series Instance UID (0020,000E)", "every slice of a series carries its series' UID: re-export the series from the scanner or PACS")
  }
  if (pixelData === undefined || pixelData.length === 0) {
    return fail(dir, file, "has no pixel data: the Pixel Data element (7FE0,0010) is missing or empty", "export the series with its images (not only its headers), or remove this file")
  }
  const frames = optionalNumber(ds, TAG.NumberOfFrames)
  if (frames !== undefined && frames !== 1) {
    return fail(dir, file, `is a multi-frame image (Number of Frames ${frames}); rstn reads one slice per file`, "export the series as classic single-frame CT images (scanners and PACS offer it)")
  }
  const samples = uint16(ds, TAG.SamplesPerPixel) ?? 1
  if (samples !== 1) return fail(dir, file, `has ${samples} samples per pixel (0028,0002); a CT slice has 1`, "export the series as grayscale CT")
  const rows = uint16(ds, TAG.Rows)
  const columns = uint16(ds, TAG.Columns)
  if (rows === undefined || columns === undefined || rows === 0 || columns === 0) {
    return fail(dir, file, `has no ${rows === undefined || rows === 0 ? "Rows (0028,0010)" : "Columns (0028,0011)"}`, "the file's image header is incomplete: re-export the series")
  }
  const position = numbers(ds, TAG.ImagePositionPatient, 3)
  if (position === undefined) {
    return fail(dir, file, "has no usable Image Position (Patient) (0020,0032): three numbers are needed", "rstn places slices by their position; export the series with its geometry (a secondary capture has none)")
  }
  const orientation = numbers(ds, TAG.ImageOrientationPatient, 6)
  if (orientation === undefined) {
    return fail(dir, file, "has no usable Image Orientation (Patient) (0020,0037): six numbers are needed", "export the series with its geometry")
  }
  const spacing = numbers(ds, TAG.PixelSpacing, 2)
  if (spacing === undefined || !(spacing[0]! > 0 && spacing[1]! > 0)) {
    return fail(dir, file, "has no usable Pixel Spacing (0028,0030): two positive numbers are needed", "export the series with its geometry")
  }
  const row: Vec3 = [orientation[0]!, orientation[1]!, orientation[2]!]
  const col: Vec3 = [orientation[3]!, orientation[4]!, orientation[5]!]
  const norm = (v: Vec3) => Math.hypot(v[0], v[1], v[2])
  const dot = row[0] * col[0] + row[1] * col[1] + row[2] * col[2]
  if (Math.abs(norm(row) - 1) > 1e-3 || Math.abs(norm(col) - 1) > 1e-3 || Math.abs(dot) > 1e-3) {
    return fail(dir, file, `Image Orientation (Patient) ${orientation.join("\\")} is not two orthogonal unit vectors`, "the header is damaged: re-export the series")
  }
  const bitsAllocated = uint16(ds, TAG.BitsAllocated) ?? 16
  if (bitsAllocated !== 8 && bitsAllocated !== 16 && bitsAllocated !== 32) {
    return fail(dir, file, `has Bits Allocated ${bitsAllocated} (0028,0100); rstn reads 8, 16 or 32`, "export the series with 16-bit pixels")
  }
  const bitsStored = uint16(ds, TAG.BitsStored) ?? bitsAllocated
  const signed = (uint16(ds, TAG.PixelRepresentation) ?? 0) === 1
  const count = rows * columns
  const bytesPer = bitsAllocated / 8
  if (pixelData.length < count * bytesPer) {
    return fail(dir, file, `holds ${pixelData.length} bytes of pixel data, ${count * bytesPer} needed for ${rows}x${columns} pixels of ${bitsAllocated} bits`, "the file was cut short: copy it again")
  }
  const source = ds.byteArray
  const raw = source.slice(pixelData.dataOffset, pixelData.dataOffset + count * bytesPer)
  if (syntax === EXPLICIT_BIG && bytesPer > 1) {
    for (let i = 0; i < raw.length; i += bytesPer) raw.subarray(i, i + bytesPer).reverse()
  }
  const buffer = raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength)
  const pixels =
    bytesPer === 1
      ? signed ? new Int8Array(buffer) : new Uint8Array(buffer)
      : bytesPer === 2
        ? signed ? new Int16Array(buffer) : new Uint16Array(buffer)
        : signed ? new Int32Array(buffer) : new Uint32Array(buffer)
  if (bitsStored < bitsAllocated) {
    // Bits above Bits Stored may hold overlays: keep the stored bits, sign-extended when signed.
    const shift = 32 - bitsStored
    for (let i = 0; i < pixels.length; i++) pixels[i] = signed ? ((pixels[i]! << shift) >> shift) : (pixels[i]! << shift) >>> shift
  }
  const slope = optionalNumber(ds, TAG.RescaleSlope) ?? 1
  const intercept = optionalNumber(ds, TAG.RescaleIntercept) ?? 0
  if (slope === 0) return fail(dir, file, "has Rescale Slope 0 (0028,1053): every voxel would be the intercept", "fix the header: CT slices usually have slope 1")
  return Either.right({
    file,
    seriesUid,
    transferSyntax: syntax,
    position: [position[0]!, position[1]!, position[2]!],
    rowCosines: row,
    columnCosines: col,
    pixelSpacing: [spacing[0]!, spacing[1]!],
    rows,
    columns,
    sliceThickness: optionalNumber(ds, TAG.SliceThickness),
    instanceNumber: optionalNumber(ds, TAG.InstanceNumber),
    slope,
    intercept,
    bitsAllocated,
    signed,
    pixels
  })
}
