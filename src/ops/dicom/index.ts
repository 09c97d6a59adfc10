/** DICOM series: decoding slices, assembling a volume, writing a series. */
export { DicomError } from "./dicom-error.ts"
export { decodeSlice, isPart10, type DicomSlice, type NotAnImage } from "./decode-slice.ts"
export { assembleSeries, seriesAffine, sliceNormal, type DicomSeries, type SeriesInfo } from "./series.ts"
export { encodeDicomSeries, formatDs, uidFrom, type DicomFile } from "./encode.ts"
export { decompressHint, TAG } from "./tags.ts"
