/**
 * The voxel grid of a phantom case: its shape, spacing and the NIfTI geometry that places it
 * in scanner space. Sizes: small ≈ 96x96x48, medium ≈ 192x192x96, full 512x512xL with L in
 * [181, 466] as in NIH Pancreas-CT (rstn-reference.md "Data"). Smaller sizes cover the same
 * field of view with larger voxels, so the anatomy looks alike at every size.
 */
import type { Rng } from "../random.ts"
import type { Geometry, Shape3, Vec3 } from "../volume.ts"

export type PhantomSize = "small" | "medium" | "full"
export const PHANTOM_SIZES: ReadonlyArray<PhantomSize> = ["small", "medium", "full"]

/** rstn-reference.md "Data": NIH Pancreas-CT volumes have L in [181, 466] slices. */
export const FULL_MIN_SLICES = 181
export const FULL_MAX_SLICES = 466

export interface PhantomGrid {
  readonly shape: Shape3
  /** Voxel size in mm (x and y are equal). */
  readonly spacing: Vec3
  /** Voxel coordinates of patient a = 0, p = 0 (the in-plane centre). */
  readonly ci: number
  readonly cj: number
  /** Patient s (mm) of slice 0; slice k lies at s0 + k * spacing[2]. */
  readonly s0: number
  readonly geometry: Geometry
}

export interface GridOptions {
  /** Force the slice count (full size only draws it otherwise). */
  readonly slices?: number
}

/**
 * Voxel i, j, k sits at a = (i - ci) * sx toward the patient's left, p = (j - cj) * sy
 * posterior, s = s0 + k * sz superior. In NIfTI's RAS+ world that is x = -a, y = -p, z = s:
 * the affine diag(-sx, -sy, sz), a 180° rotation about z (quaternion b = c = 0, d = 1), the
 * orientation DICOM-derived axial CT usually has.
 */
const geometryOf = (spacing: Vec3, ci: number, cj: number, s0: number): Geometry => {
  const [sx, sy, sz] = spacing
  const offset: Vec3 = [sx * ci, sy * cj, s0]
  return {
    spacing,
    affine: [-sx, 0, 0, offset[0], 0, -sy, 0, offset[1], 0, 0, sz, offset[2], 0, 0, 0, 1],
    qfac: 1,
    qformCode: 1, // NIFTI_XFORM_SCANNER_ANAT
    sformCode: 1,
    quatern: [0, 0, 1],
    qoffset: offset,
    srow: [-sx, 0, 0, offset[0], 0, -sy, 0, offset[1], 0, 0, sz, offset[2]],
    xyztUnits: 2 // NIFTI_UNITS_MM
  }
}

/**
 * The grid for a case with in-plane field of view `fov` mm centred on the body, and scanned
 * range centred at `sCenter`. `rng` draws only what varies with the size (the slice count and
 * thickness of full-size cases), so anatomy drawn elsewhere is the same at every size.
 */
export const phantomGrid = (size: PhantomSize, fov: number, sCenter: number, rng: Rng, options: GridOptions = {}): PhantomGrid => {
  let n: number
  let slices: number
  let sz: number
  if (size === "full") {
    n = 512
    slices = options.slices ?? FULL_MIN_SLICES + rng.int(FULL_MAX_SLICES - FULL_MIN_SLICES + 1)
    // Scanned length 300–430 mm, slices 1–2.5 mm thick (as in NIH Pancreas-CT).
    const extent = rng.uniform(300, 430)
    sz = Math.min(2.5, Math.max(1, Math.round((extent / slices) * 4) / 4))
  } else {
    // 240 mm around the upper abdomen: 48 slices of 5 mm or 96 of 2.5 mm.
    n = size === "small" ? 96 : 192
    slices = options.slices ?? (size === "small" ? 48 : 96)
    sz = 240 / (size === "small" ? 48 : 96)
  }
  if (!Number.isInteger(slices) || slices < 1) throw new RangeError(`slice count must be a positive integer, got ${slices}`)
  const sp = fov / n
  const spacing: Vec3 = [sp, sp, sz]
  const ci = (n - 1) / 2
  const cj = (n - 1) / 2
  const s0 = sCenter - ((slices - 1) * sz) / 2
  return { shape: [n, n, slices], spacing, ci, cj, s0, geometry: geometryOf(spacing, ci, cj, s0) }
}
