/**
 * Writing a volume as a DICOM series: one CT Image Storage file per slice, Part 10 with
 * explicit VR little endian (PS3.5 7.1.2, PS3.10 7.1), int16 stored values with Rescale Slope
 * and Intercept. The inverse of `series.ts`: voxel (i, j, k) becomes pixel i of row j of the
 * k-th slice, and the RAS affine becomes ImageOrientationPatient, PixelSpacing and one
 * ImagePositionPatient per slice (LPS), so reading the files gives back the volume and affine.
 * UIDs derive from a caller's key, so the same volume and key give the same bytes.
 */
import { createHash } from "node:crypto"
import type { Volume } from "../volume.ts"
import { CT_IMAGE_STORAGE, EXPLICIT_LITTLE } from "./tags.ts"

/** Under the 2.25 root (PS3.5 B.2): a UID made of a 128-bit number, here a hash of `key`. */
export const uidFrom = (key: string): string => `2.25.${BigInt(`0x${createHash("sha256").update(key).digest("hex").slice(0, 32)}`).toString(10)}`

/** rstn's implementation class UID (derived the same way: it only has to be unique). */
const IMPLEMENTATION_CLASS_UID = uidFrom("rstn implementation class")
const IMPLEMENTATION_VERSION = "RSTN_0_1"

type Vr = "CS" | "DA" | "DS" | "IS" | "LO" | "PN" | "SH" | "TM" | "UI" | "US" | "UL" | "OB" | "OW"
/** VRs whose explicit length is 4 bytes after 2 reserved bytes (PS3.5 7.1.2). */
const LONG_VRS: ReadonlySet<Vr> = new Set(["OB", "OW"])

interface Element {
  readonly group: number
  readonly element: number
  readonly vr: Vr
  readonly value: Uint8Array
}

const ascii = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "latin1"))

/** Strings pad to even length: UIDs with NUL, other text with a space (PS3.5 6.2). */
const text = (group: number, element: number, vr: Vr, value: string): Element => {
  const padded = value.length % 2 === 1 ? value + (vr === "UI" ? "\0" : " ") : value
  return { group, element, vr, value: ascii(padded) }
}

const us = (group: number, element: number, value: number): Element => {
  const b = new Uint8Array(2)
  new DataView(b.buffer).setUint16(0, value, true)
  return { group, element, vr: "US", value: b }
}

/** A decimal string of at most 16 characters (VR DS), as exact as that allows. */
export const formatDs = (x: number): string => {
  if (!Number.isFinite(x)) throw new RangeError(`DS value must be finite, got ${x}`)
  if (Object.is(x, -0) || x === 0) return "0"
  for (let digits = 16; digits >= 1; digits--) {
    const s = String(Number(x.toPrecision(digits)))
    if (s.length <= 16) return s
  }
  return x.toExponential(6)
}

const ds = (group: number, element: number, values: ReadonlyArray<number>): Element => text(group, element, "DS", values.map(formatDs).join("\\"))

const encodeElements = (elements: ReadonlyArray<Element>): Uint8Array => {
  const sorted = [...elements].sort((a, b) => a.group - b.group || a.element - b.element)
  const size = sorted.reduce((n, e) => n + (LONG_VRS.has(e.vr) ? 12 : 8) + e.value.length, 0)
  const out = new Uint8Array(size)
  const view = new DataView(out.buffer)
  let at = 0
  for (const e of sorted) {
    view.setUint16(at, e.group, true)
    view.setUint16(at + 2, e.element, true)
    out[at + 4] = e.vr.charCodeAt(0)
    out[at + 5] = e.vr.charCodeAt(1)
    if (LONG_VRS.has(e.vr)) {
      view.setUint16(at + 6, 0, true)
      view.setUint32(at + 8, e.value.length, true)
      at += 12
    } else {
      if (e.value.length > 0xffff) throw new RangeError(`element (${e.group.toString(16)},${e.element.toString(16)}) is too long for VR ${e.vr}`)
      view.setUint16(at + 6, e.value.length, true)
      at += 8
    }
    out.set(e.value, at)
    at += e.value.length
  }
  return out
}

export interface DicomSeriesOptions {
  /** Makes the UIDs: the same key and volume give the same files. */
  readonly key: string
  /** Stored value = (value - intercept) / slope, rounded; it must fit int16. Default: intercept -1024, slope 1 (CT). */
  readonly intercept?: number
  readonly slope?: number
  readonly patientId?: string
  readonly seriesDescription?: string
}

export interface DicomFile {
  /** `1-001.dcm`, `1-002.dcm`, ...: the slice's rank, as NIH Pancreas-CT names its files. */
  readonly name: string
  readonly bytes: Uint8Array
}

const unit = (v: ReadonlyArray<number>): number[] => {
  const n = Math.hypot(v[0]!, v[1]!, v[2]!)
  return v.map((x) => x / n)
}

/**
 * One file per slice of `volume` (z is the slice index). The volume's affine must be what DICOM
 * can say: orthogonal x and y axes, and z along their cross product in LPS (so a reader sorting
 * by position keeps the slice order); phantoms and volumes read from DICOM are.
 */
export const encodeDicomSeries = (volume: Volume, options: DicomSeriesOptions): ReadonlyArray<DicomFile> => {
  const [nx, ny, nz] = volume.shape
  const a = volume.geometry.affine
  // RAS -> LPS: negate the x and y rows.
  const column = (j: number): number[] => [-a[j]!, -a[4 + j]!, a[8 + j]!]
  const c0 = column(0)
  const c1 = column(1)
  const c2 = column(2)
  const t = column(3)
  const row = unit(c0)
  const col = unit(c1)
  const columnSpacing = Math.hypot(c0[0]!, c0[1]!, c0[2]!)
  const rowSpacing = Math.hypot(c1[0]!, c1[1]!, c1[2]!)
  if (Math.abs(row[0]! * col[0]! + row[1]! * col[1]! + row[2]! * col[2]!) > 1e-6) {
    throw new RangeError("encodeDicomSeries: the volume's x and y axes are not orthogonal, which ImageOrientationPatient cannot express")
  }
  const normal = [row[1]! * col[2]! - row[2]! * col[1]!, row[2]! * col[0]! - row[0]! * col[2]!, row[0]! * col[1]! - row[1]! * col[0]!]
  const along = normal[0]! * c2[0]! + normal[1]! * c2[1]! + normal[2]! * c2[2]!
  if (!(along > 0)) throw new RangeError("encodeDicomSeries: the volume's z axis runs against the slice normal (a left-handed LPS grid); flip z first")
  const sliceThickness = along
  const slope = options.slope ?? 1
  const intercept = options.intercept ?? -1024
  const studyUid = uidFrom(`${options.key} study`)
  const seriesUid = uidFrom(`${options.key} series`)
  const frameUid = uidFrom(`${options.key} frame of reference`)
  const plane = nx * ny
  const files: DicomFile[] = []
  for (let k = 0; k < nz; k++) {
    const sopUid = uidFrom(`${options.key} slice ${k}`)
    const pixels = new Int16Array(plane)
    for (let i = 0; i < plane; i++) {
      const stored = Math.round((volume.data[k * plane + i]! - intercept) / slope)
      if (stored < -32768 || stored > 32767) {
        throw new RangeError(`encodeDicomSeries: value ${volume.data[k * plane + i]} does not fit int16 with slope ${slope} and intercept ${intercept}`)
      }
      pixels[i] = stored
    }
    const position = [t[0]! + k * c2[0]!, t[1]! + k * c2[1]!, t[2]! + k * c2[2]!]
    const meta = encodeElements([
      { group: 0x0002, element: 0x0001, vr: "OB", value: new Uint8Array([0, 1]) },
      text(0x0002, 0x0002, "UI", CT_IMAGE_STORAGE),
      text(0x0002, 0x0003, "UI", sopUid),
      text(0x0002, 0x0010, "UI", EXPLICIT_LITTLE),
      text(0x0002, 0x0012, "UI", IMPLEMENTATION_CLASS_UID),
      text(0x0002, 0x0013, "SH", IMPLEMENTATION_VERSION)
    ])
    const groupLength = new Uint8Array(4)
    new DataView(groupLength.buffer).setUint32(0, meta.length, true)
    const header = encodeElements([{ group: 0x0002, element: 0x0000, vr: "UL", value: groupLength }])
    const body = encodeElements([
      text(0x0008, 0x0008, "CS", "ORIGINAL\\PRIMARY\\AXIAL"),
      text(0x0008, 0x0016, "UI", CT_IMAGE_STORAGE),
      text(0x0008, 0x0018, "UI", sopUid),
      text(0x0008, 0x0020, "DA", ""),
      text(0x0008, 0x0030, "TM", ""),
      text(0x0008, 0x0050, "SH", ""),
      text(0x0008, 0x0060, "CS", "CT"),
      text(0x0008, 0x0070, "LO", "rstn"),
      text(0x0008, 0x0090, "PN", ""),
      text(0x0008, 0x103e, "LO", options.seriesDescription ?? "rstn phantom"),
      text(0x0010, 0x0010, "PN", options.patientId ?? ""),
      text(0x0010, 0x0020, "LO", options.patientId ?? ""),
      text(0x0010, 0x0030, "DA", ""),
      text(0x0010, 0x0040, "CS", ""),
      ds(0x0018, 0x0050, [sliceThickness]),
      text(0x0018, 0x0060, "DS", ""),
      text(0x0020, 0x000d, "UI", studyUid),
      text(0x0020, 0x000e, "UI", seriesUid),
      text(0x0020, 0x0010, "SH", ""),
      text(0x0020, 0x0011, "IS", "1"),
      text(0x0020, 0x0013, "IS", String(k + 1)),
      ds(0x0020, 0x0032, position),
      ds(0x0020, 0x0037, [...row, ...col]),
      text(0x0020, 0x0052, "UI", frameUid),
      text(0x0020, 0x1040, "LO", ""),
      ds(0x0020, 0x1041, [normal[0]! * position[0]! + normal[1]! * position[1]! + normal[2]! * position[2]!]),
      us(0x0028, 0x0002, 1),
      text(0x0028, 0x0004, "CS", "MONOCHROME2"),
      us(0x0028, 0x0010, ny),
      us(0x0028, 0x0011, nx),
      ds(0x0028, 0x0030, [rowSpacing, columnSpacing]),
      us(0x0028, 0x0100, 16),
      us(0x0028, 0x0101, 16),
      us(0x0028, 0x0102, 15),
      us(0x0028, 0x0103, 1),
      ds(0x0028, 0x1052, [intercept]),
      ds(0x0028, 0x1053, [slope]),
      text(0x0028, 0x1054, "LO", "HU"),
      { group: 0x7fe0, element: 0x0010, vr: "OW", value: new Uint8Array(pixels.buffer) }
    ])
    const bytes = new Uint8Array(132 + header.length + meta.length + body.length)
    bytes.set(ascii("DICM"), 128)
    bytes.set(header, 132)
    bytes.set(meta, 132 + header.length)
    bytes.set(body, 132 + header.length + meta.length)
    files.push({ name: `1-${String(k + 1).padStart(3, "0")}.dcm`, bytes })
  }
  return files
}
