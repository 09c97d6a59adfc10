/** NIfTI-1/NIfTI-2 codecs on bytes: decode (raw or gzipped), encode NIfTI-1, geometry helpers. */
export { bestAffine, geometryFromAffine, qformAffine, sformAffine, XFORM, UNITS_MM } from "./affine.ts"
export { type NiftiDatatype } from "./datatype.ts"
export {
  decodeInflated,
  decodeNifti,
  decodeNiftiHeader,
  type DecodeOptions,
  inflateFailure,
  inflateOptions,
  type NiftiImage
} from "./decode.ts"
export { isGzip } from "./gzip.ts"
export { DEFAULT_GZIP_LEVEL, encodeNifti1, type EncodeOptions, type NiftiWriteDatatype } from "./encode.ts"
export { DEFAULT_MAX_VOXELS, type NiftiHeaderInfo } from "./header.ts"
export { NiftiError } from "./nifti-error.ts"
