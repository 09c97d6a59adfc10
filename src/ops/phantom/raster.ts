/**
 * Painting solids into one axial slice of the phantom: each layer fills the voxels whose
 * centres lie inside its cross-section with its intensity (and its label), overwriting earlier
 * layers. Cross-sections are ellipses, so every row is one interval found in closed form and
 * the cost is the painted area, not (voxels x solids).
 */
import type { Ellipse, Shape } from "./shapes.ts"

/** A gas–fluid level: HU `anterior` where p < `p` (gas rises in a supine patient), else `posterior`. */
export interface Level {
  readonly kind: "level"
  readonly p: number
  readonly anterior: number
  readonly posterior: number
}

/** HU of a layer: a constant, a level, or a function of the position in millimetres. */
export type Paint = number | Level | ((a: number, p: number, s: number) => number)

export interface Layer {
  readonly name: string
  readonly shape: Shape
  readonly paint: Paint
  /** Label written under the layer (1 for the target, 0 for everything else). */
  readonly label: number
}

/** How voxel indices of a slice map to patient millimetres (in-plane voxels are square). */
export interface SliceFrame {
  readonly nx: number
  readonly ny: number
  /** In-plane voxel size in millimetres. */
  readonly spacing: number
  /** Voxel coordinates of a = 0 and p = 0: a = (i - ci) * spacing, p = (j - cj) * spacing. */
  readonly ci: number
  readonly cj: number
}

const fillRows = (
  hu: Float32Array,
  label: Uint8Array,
  offset: number,
  frame: SliceFrame,
  s: number,
  e: Ellipse,
  paint: Paint,
  value: number
): void => {
  const { nx, ny, spacing, ci, cj } = frame
  // Centre and semi-axes in voxel units.
  const ca = ci + e.a / spacing
  const cp = cj + e.p / spacing
  const ra = e.ra / spacing
  const rp = e.rp / spacing
  const cos = Math.cos(e.angle)
  const sin = Math.sin(e.angle)
  const ia = 1 / (ra * ra)
  const ib = 1 / (rp * rp)
  const m00 = cos * cos * ia + sin * sin * ib
  const m11 = sin * sin * ia + cos * cos * ib
  const m01 = cos * sin * (ia - ib)
  const halfRows = Math.sqrt(ra * ra * sin * sin + rp * rp * cos * cos)
  let j0 = Math.ceil(cp - halfRows)
  let j1 = Math.floor(cp + halfRows)
  if (e.pMin !== undefined) j0 = Math.max(j0, Math.ceil(cj + e.pMin / spacing))
  if (e.pMax !== undefined) j1 = Math.min(j1, Math.floor(cj + e.pMax / spacing))
  if (j0 < 0) j0 = 0
  if (j1 > ny - 1) j1 = ny - 1
  for (let j = j0; j <= j1; j++) {
    const dj = j - cp
    const disc = m01 * m01 * dj * dj - m00 * (m11 * dj * dj - 1)
    if (disc < 0) continue
    const root = Math.sqrt(disc)
    let i0 = Math.ceil(ca + (-m01 * dj - root) / m00)
    let i1 = Math.floor(ca + (-m01 * dj + root) / m00)
    if (i0 < 0) i0 = 0
    if (i1 > nx - 1) i1 = nx - 1
    if (i1 < i0) continue
    const row = offset + j * nx
    label.fill(value, row + i0, row + i1 + 1)
    if (typeof paint === "number") {
      hu.fill(paint, row + i0, row + i1 + 1)
    } else if (typeof paint === "function") {
      const p = (j - cj) * spacing
      for (let i = i0; i <= i1; i++) hu[row + i] = paint((i - ci) * spacing, p, s)
    } else {
      const p = (j - cj) * spacing
      hu.fill(p < paint.p ? paint.anterior : paint.posterior, row + i0, row + i1 + 1)
    }
  }
}

/** Paint `layers` in order into the slice at height `s` (mm) that starts at `offset`. */
export const paintSlice = (
  hu: Float32Array,
  label: Uint8Array,
  offset: number,
  frame: SliceFrame,
  s: number,
  layers: ReadonlyArray<Layer>
): void => {
  for (const layer of layers) {
    if (s < layer.shape.sMin || s > layer.shape.sMax) continue
    layer.shape.section(s, (e) => fillRows(hu, label, offset, frame, s, e, layer.paint, layer.label))
  }
}
