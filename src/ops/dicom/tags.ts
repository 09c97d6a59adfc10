/**
 * The DICOM attributes and transfer syntaxes rstn reads and writes (PS3.6 data dictionary,
 * PS3.5 "Transfer Syntax"), as dicom-parser names tags: `x` + group + element, lower-case hex.
 */

export const TAG = {
  TransferSyntaxUID: "x00020010",
  SOPClassUID: "x00080016",
  SOPInstanceUID: "x00080018",
  Modality: "x00080060",
  SliceThickness: "x00180050",
  SpacingBetweenSlices: "x00180088",
  StudyInstanceUID: "x0020000d",
  SeriesInstanceUID: "x0020000e",
  InstanceNumber: "x00200013",
  ImagePositionPatient: "x00200032",
  ImageOrientationPatient: "x00200037",
  SamplesPerPixel: "x00280002",
  PhotometricInterpretation: "x00280004",
  NumberOfFrames: "x00280008",
  Rows: "x00280010",
  Columns: "x00280011",
  PixelSpacing: "x00280030",
  BitsAllocated: "x00280100",
  BitsStored: "x00280101",
  PixelRepresentation: "x00280103",
  RescaleIntercept: "x00281052",
  RescaleSlope: "x00281053",
  PixelData: "x7fe00010"
} as const

/** SOP classes. */
export const CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
/** A DICOMDIR (the index of a DICOM medium), found beside series but holding no image. */
export const MEDIA_STORAGE_DIRECTORY = "1.2.840.10008.1.3.10"

export const IMPLICIT_LITTLE = "1.2.840.10008.1.2"
export const EXPLICIT_LITTLE = "1.2.840.10008.1.2.1"
export const DEFLATED_EXPLICIT_LITTLE = "1.2.840.10008.1.2.1.99"
export const EXPLICIT_BIG = "1.2.840.10008.1.2.2"

/** Transfer syntaxes whose pixel data rstn reads as they are (deflate is undone by the parser's inflater). */
export const NATIVE_SYNTAXES: ReadonlySet<string> = new Set([IMPLICIT_LITTLE, EXPLICIT_LITTLE, DEFLATED_EXPLICIT_LITTLE, EXPLICIT_BIG])

/** Compressed transfer syntaxes: their name, and the tool that writes the same file uncompressed. */
const COMPRESSED: ReadonlyArray<readonly [string, string, string]> = [
  ["1.2.840.10008.1.2.4.50", "JPEG Baseline (Process 1)", "dcmdjpeg"],
  ["1.2.840.10008.1.2.4.51", "JPEG Extended (Process 2 & 4)", "dcmdjpeg"],
  ["1.2.840.10008.1.2.4.57", "JPEG Lossless, Non-Hierarchical (Process 14)", "dcmdjpeg"],
  ["1.2.840.10008.1.2.4.70", "JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 [Selection Value 1])", "dcmdjpeg"],
  ["1.2.840.10008.1.2.4.80", "JPEG-LS Lossless", "dcmdjpls"],
  ["1.2.840.10008.1.2.4.81", "JPEG-LS Lossy (Near-Lossless)", "dcmdjpls"],
  ["1.2.840.10008.1.2.4.90", "JPEG 2000 Image Compression (Lossless Only)", "gdcmconv --raw"],
  ["1.2.840.10008.1.2.4.91", "JPEG 2000 Image Compression", "gdcmconv --raw"],
  ["1.2.840.10008.1.2.4.201", "High-Throughput JPEG 2000 (Lossless Only)", "gdcmconv --raw"],
  ["1.2.840.10008.1.2.4.202", "High-Throughput JPEG 2000 with RPCL Options (Lossless Only)", "gdcmconv --raw"],
  ["1.2.840.10008.1.2.4.203", "High-Throughput JPEG 2000", "gdcmconv --raw"],
  ["1.2.840.10008.1.2.5", "RLE Lossless", "dcmdrle"]
]

/** How to get a file of `syntax` uncompressed, for an error's hint. */
export const decompressHint = (syntax: string): { readonly name: string; readonly hint: string } => {
  const known = COMPRESSED.find(([uid]) => uid === syntax)
  if (known === undefined) {
    return {
      name: `transfer syntax ${syntax}`,
      hint: "rstn reads uncompressed pixel data (implicit or explicit VR little endian): convert the series, e.g. `gdcmconv --raw IN OUT` (Debian libgdcm-tools) on each file"
    }
  }
  const [, name, tool] = known
  const how =
    tool === "gdcmconv --raw"
      ? "`gdcmconv --raw IN OUT` (Debian libgdcm-tools)"
      : `dcmtk's \`${tool} IN OUT\` (Debian dcmtk)`
  return {
    name: `${name} (${syntax})`,
    hint: `rstn reads uncompressed pixel data: decompress each file first with ${how}, e.g. \`mkdir OUT && for f in DIR/*.dcm; do ${tool} "$f" OUT/"\$(basename "$f")"; done\`, then point rstn at OUT`
  }
}
