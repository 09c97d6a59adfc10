/**
 * A 3D scalar volume in NIfTI voxel order: x varies fastest, then y, then z
 * (index = x + nx * (y + ny * z)). Views and slices are defined over this layout.
 *
 * `geometry` carries everything needed to write the volume back so that it opens aligned
 * over its source in any viewer (pixdim, qform/sform and their codes, units).
 */

export type VoxelArray =
  | Uint8Array
  | Int8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array

export type Shape3 = readonly [number, number, number]
export type Vec3 = readonly [number, number, number]

/** Row-major 4x4 matrix mapping voxel (i, j, k, 1) to world millimetres (RAS+ as NIfTI). */
export type Affine = readonly number[]

/** The spatial header fields of the source file, kept so outputs share its geometry. */
export interface Geometry {
  /** Voxel size in millimetres along x, y, z (NIfTI pixdim[1..3]). */
  readonly spacing: Vec3
  /** The affine chosen as the NIfTI standard prescribes (sform > qform > pixdim). */
  readonly affine: Affine
  /** pixdim[0]: the qform handedness factor, -1 or 1. */
  readonly qfac: number
  readonly qformCode: number
  readonly sformCode: number
  /** quatern_b, quatern_c, quatern_d. */
  readonly quatern: Vec3
  /** qoffset_x, qoffset_y, qoffset_z. */
  readonly qoffset: Vec3
  /** srow_x, srow_y, srow_z concatenated (12 numbers). */
  readonly srow: readonly number[]
  /** xyzt_units byte of the header. */
  readonly xyztUnits: number
}

export interface Volume<D extends VoxelArray = VoxelArray> {
  readonly shape: Shape3
  readonly geometry: Geometry
  readonly data: D
}

export const voxelCount = (shape: Shape3): number => shape[0] * shape[1] * shape[2]

/** Linear index of voxel (x, y, z) in NIfTI order. */
export const index = (shape: Shape3, x: number, y: number, z: number): number =>
  x + shape[0] * (y + shape[1] * z)

/** Geometry of a volume with the given voxel size and no rotation: a scaled identity affine. */
export const defaultGeometry = (spacing: Vec3 = [1, 1, 1]): Geometry => ({
  spacing,
  affine: [spacing[0], 0, 0, 0, 0, spacing[1], 0, 0, 0, 0, spacing[2], 0, 0, 0, 0, 1],
  qfac: 1,
  qformCode: 0,
  sformCode: 0,
  quatern: [0, 0, 0],
  qoffset: [0, 0, 0],
  srow: [spacing[0], 0, 0, 0, 0, spacing[1], 0, 0, 0, 0, spacing[2], 0],
  xyztUnits: 2 // NIFTI_UNITS_MM
})

/** A volume sharing `like`'s shape and geometry but holding other data (e.g. a mask). */
export const withData = <D extends VoxelArray>(like: Volume, data: D): Volume<D> => {
  if (data.length !== voxelCount(like.shape)) {
    throw new RangeError(`withData: ${data.length} values for a ${like.shape.join("x")} volume`)
  }
  return { shape: like.shape, geometry: like.geometry, data }
}
