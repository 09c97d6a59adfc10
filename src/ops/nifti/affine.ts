/**
 * NIfTI orientation: the voxel-to-world affine from qform (quaternion) and sform (rows) as
 * nifti1.h prescribes, and the reverse, a complete header geometry from an affine.
 * Affines are row-major 4x4 arrays of 16 numbers, as in `Volume.geometry.affine`.
 */
import type { Affine, Geometry, Vec3 } from "../volume.ts"

/** NIFTI_XFORM_* codes (nifti1.h). */
export const XFORM = { UNKNOWN: 0, SCANNER_ANAT: 1, ALIGNED_ANAT: 2, TALAIRACH: 3, MNI_152: 4 } as const

/** NIFTI_UNITS_MM (nifti1.h), the unit of every spacing rstn computes with. */
export const UNITS_MM = 2

/**
 * A usable voxel size from a header pixdim: nibabel replaces 0 by 1 and negatives by their
 * magnitude when it loads a header, and so do we, so both report the same spacing.
 */
export const sanitizeSpacing = (p: number): number => (Number.isFinite(p) && p !== 0 ? Math.abs(p) : 1)

/**
 * The qform affine (nifti1.h "METHOD 2", as nifti1_io's nifti_quatern_to_mat44 computes it):
 * rotation from the quaternion (b, c, d) with a = sqrt(1 - b² - c² - d²), scaled by the voxel
 * size, the last column flipped when qfac < 0, shifted by qoffset.
 */
export const qformAffine = (quatern: Vec3, qoffset: Vec3, spacing: Vec3, qfac: number): Affine => {
  let [b, c, d] = quatern
  let a = 1 - (b * b + c * c + d * d)
  if (a < 1e-7) {
    // |(b,c,d)| >= 1: a 180-degree rotation stored with rounding error; renormalize (nifti1_io).
    const n = 1 / Math.sqrt(b * b + c * c + d * d)
    b *= n
    c *= n
    d *= n
    a = 0
  } else {
    a = Math.sqrt(a)
  }
  const [xd, yd, zdAbs] = spacing
  const zd = qfac < 0 ? -zdAbs : zdAbs
  return [
    (a * a + b * b - c * c - d * d) * xd, 2 * (b * c - a * d) * yd, 2 * (b * d + a * c) * zd, qoffset[0],
    2 * (b * c + a * d) * xd, (a * a + c * c - b * b - d * d) * yd, 2 * (c * d - a * b) * zd, qoffset[1],
    2 * (b * d - a * c) * xd, 2 * (c * d + a * b) * yd, (a * a + d * d - c * c - b * b) * zd, qoffset[2],
    0, 0, 0, 1
  ]
}

/** The sform affine: srow_x, srow_y, srow_z as rows, then (0, 0, 0, 1). */
export const sformAffine = (srow: ReadonlyArray<number>): Affine => [...srow.slice(0, 12), 0, 0, 0, 1]

/** nifti1.h "METHOD 1" (no qform, no sform): voxel indices scaled by pixdim, no rotation, no shift. */
export const pixdimAffine = (spacing: Vec3): Affine => [
  spacing[0], 0, 0, 0,
  0, spacing[1], 0, 0,
  0, 0, spacing[2], 0,
  0, 0, 0, 1
]

/** The affine the standard prescribes: sform if sform_code > 0, else qform if qform_code > 0, else pixdim. */
export const bestAffine = (g: Omit<Geometry, "affine">): Affine =>
  g.sformCode > 0
    ? sformAffine(g.srow)
    : g.qformCode > 0
      ? qformAffine(g.quatern, g.qoffset, g.spacing, g.qfac)
      : pixdimAffine(g.spacing)

const det3 = (m: number[][]): number =>
  m[0]![0]! * (m[1]![1]! * m[2]![2]! - m[1]![2]! * m[2]![1]!) -
  m[0]![1]! * (m[1]![0]! * m[2]![2]! - m[1]![2]! * m[2]![0]!) +
  m[0]![2]! * (m[1]![0]! * m[2]![1]! - m[1]![1]! * m[2]![0]!)

/**
 * A complete header geometry for `affine`: the sform holds the affine exactly; the qform holds
 * its rotation, voxel size and shift (following nifti1_io's nifti_mat44_to_quatern; a shear,
 * which a quaternion cannot express, survives only in the sform). Use it to give a volume built
 * in code a real-world placement that any viewer shows the same way.
 */
export const geometryFromAffine = (
  affine: Affine,
  codes: { readonly qformCode?: number; readonly sformCode?: number; readonly xyztUnits?: number } = {}
): Geometry => {
  if (affine.length !== 16) throw new RangeError(`geometryFromAffine: expected 16 numbers, got ${affine.length}`)
  const col = (j: number): [number, number, number] => [affine[j]!, affine[4 + j]!, affine[8 + j]!]
  const norm = (v: number[]): number => Math.hypot(v[0]!, v[1]!, v[2]!)
  const cols = [col(0), col(1), col(2)]
  const spacing = cols.map(norm) as [number, number, number]
  // Unit columns, made orthogonal (Gram-Schmidt) so they form a rotation or a reflection.
  const units: number[][] = []
  for (let j = 0; j < 3; j++) {
    let v = spacing[j] === 0 ? [j === 0 ? 1 : 0, j === 1 ? 1 : 0, j === 2 ? 1 : 0] : cols[j]!.map((x) => x / spacing[j]!)
    for (const u of units) {
      const dot = u[0]! * v[0]! + u[1]! * v[1]! + u[2]! * v[2]!
      v = v.map((x, i) => x - dot * u[i]!)
    }
    const n = norm(v)
    units.push(v.map((x) => x / n))
    if (spacing[j] === 0) spacing[j] = 1
  }
  // r[i][j]: row i, column j.
  const r = [0, 1, 2].map((i) => [units[0]![i]!, units[1]![i]!, units[2]![i]!])
  let qfac = 1
  if (det3(r) < 0) {
    // An improper rotation: the quaternion stores the proper part, qfac = pixdim[0] the flip.
    qfac = -1
    for (let i = 0; i < 3; i++) r[i]![2] = -r[i]![2]!
  }
  const [r11, r12, r13] = r[0] as [number, number, number]
  const [r21, r22, r23] = r[1] as [number, number, number]
  const [r31, r32, r33] = r[2] as [number, number, number]
  let a: number, b: number, c: number, d: number
  const trace = r11 + r22 + r33 + 1
  if (trace > 0.5) {
    a = 0.5 * Math.sqrt(trace)
    b = (0.25 * (r32 - r23)) / a
    c = (0.25 * (r13 - r31)) / a
    d = (0.25 * (r21 - r12)) / a
  } else {
    const xd = 1 + r11 - (r22 + r33)
    const yd = 1 + r22 - (r11 + r33)
    const zd = 1 + r33 - (r11 + r22)
    if (xd > 1) {
      b = 0.5 * Math.sqrt(xd)
      c = (0.25 * (r12 + r21)) / b
      d = (0.25 * (r13 + r31)) / b
      a = (0.25 * (r32 - r23)) / b
    } else if (yd > 1) {
      c = 0.5 * Math.sqrt(yd)
      b = (0.25 * (r12 + r21)) / c
      d = (0.25 * (r23 + r32)) / c
      a = (0.25 * (r13 - r31)) / c
    } else {
      d = 0.5 * Math.sqrt(zd)
      b = (0.25 * (r13 + r31)) / d
      c = (0.25 * (r23 + r32)) / d
      a = (0.25 * (r21 - r12)) / d
    }
    // The standard stores a >= 0 (a is recomputed from b, c, d on reading).
    if (a < 0) {
      b = -b
      c = -c
      d = -d
    }
  }
  const geometry: Omit<Geometry, "affine"> = {
    spacing,
    qfac,
    qformCode: codes.qformCode ?? XFORM.SCANNER_ANAT,
    sformCode: codes.sformCode ?? XFORM.SCANNER_ANAT,
    quatern: [b, c, d],
    qoffset: [affine[3]!, affine[7]!, affine[11]!],
    srow: affine.slice(0, 12),
    xyztUnits: codes.xyztUnits ?? UNITS_MM
  }
  return { ...geometry, affine: bestAffine(geometry) }
}
