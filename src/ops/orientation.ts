/**
 * Voxel-axis orientation. The networks see a volume through its voxel axes (views X, Y, Z are
 * voxel axes), so a scan stored with its axes in another order or direction than the training
 * data would be read transposed or mirrored. Its affine says how: each voxel axis points mostly
 * along one world axis (RAS+, as NIfTI), which gives three axis codes like nibabel's `aff2axcodes`
 * ("LPS": voxel x runs towards the left, y towards the back, z up). Two scans with the same codes
 * are read alike; for others, `reorientation` is the exact axis permutation and flips that bring
 * one onto the other (no resampling: every voxel is kept), and `undoReorientation` brings a mask
 * back onto the scan's own grid.
 */
import type { Affine, Shape3, VoxelArray } from "./volume.ts"

/** Axis codes, one letter per voxel axis: R/L (world x), A/P (world y), S/I (world z). */
export type AxisCodes = string

const LETTERS = [
  ["L", "R"],
  ["P", "A"],
  ["I", "S"]
] as const

/**
 * The axis codes of an affine (row-major 4x4), or a reason it has none: a voxel axis of zero
 * length, two voxel axes along the same world axis, or an axis at 45 degrees between two world
 * axes (no exact permutation then brings it onto another scan's axes).
 */
export const axisCodes = (affine: Affine): AxisCodes | { readonly reason: string } => {
  const used = new Set<number>()
  let codes = ""
  for (let axis = 0; axis < 3; axis++) {
    const column = [affine[axis]!, affine[4 + axis]!, affine[8 + axis]!]
    const size = Math.hypot(...column)
    if (!(size > 0) || !Number.isFinite(size)) return { reason: `voxel axis ${axis} has no direction in the affine` }
    const order = [0, 1, 2].sort((a, b) => Math.abs(column[b]!) - Math.abs(column[a]!))
    const world = order[0]!
    // Within 1e-6 of a tie: the axis lies between two world axes, and which it "mostly" follows is noise.
    if (Math.abs(column[world]!) - Math.abs(column[order[1]!]!) <= 1e-6 * size) {
      return { reason: `voxel axis ${axis} lies between two world axes (an oblique scan)` }
    }
    if (used.has(world)) return { reason: `two voxel axes point along world axis ${"xyz"[world]}` }
    used.add(world)
    codes += LETTERS[world]![column[world]! > 0 ? 1 : 0]
  }
  return codes
}

/** How to read a volume with axis codes `from` as one with codes `to`: output axis j is input axis `perm[j]`, reversed where `flip[j]`. */
export interface Reorientation {
  readonly from: AxisCodes
  readonly to: AxisCodes
  readonly perm: readonly [number, number, number]
  readonly flip: readonly [boolean, boolean, boolean]
}

const worldOf = (code: string): number => LETTERS.findIndex((pair) => (pair as readonly string[]).includes(code))

/** The permutation and flips from `from` to `to` (both valid axis codes), or null when they agree. */
export const reorientation = (from: AxisCodes, to: AxisCodes): Reorientation | null => {
  if (from === to) return null
  const perm = [0, 1, 2].map((j) => {
    const i = [...from].findIndex((c) => worldOf(c) === worldOf(to[j]!))
    if (i < 0) throw new RangeError(`reorientation: '${from}' and '${to}' are not axis codes of the same world axes`)
    return i
  }) as unknown as readonly [number, number, number]
  const flip = perm.map((i, j) => from[i] !== to[j]) as unknown as readonly [boolean, boolean, boolean]
  return { from, to, perm, flip }
}

/** The shape of a volume of `shape` read through `r`. */
export const reorientedShape = (shape: Shape3, r: Reorientation): Shape3 => [shape[r.perm[0]]!, shape[r.perm[1]]!, shape[r.perm[2]]!]

/**
 * Visits every voxel: `f(out, in)` with the linear index in the reoriented volume and in the
 * source volume (NIfTI order both).
 */
const eachVoxel = (shape: Shape3, r: Reorientation, f: (out: number, source: number) => void): void => {
  const out = reorientedShape(shape, r)
  const stride = [1, shape[0], shape[0] * shape[1]]
  // Source offset of one step along each output axis, and where each output axis starts.
  const step = [0, 1, 2].map((j) => (r.flip[j] ? -1 : 1) * stride[r.perm[j]!]!)
  const start = [0, 1, 2].reduce((a, j) => a + (r.flip[j] ? (out[j]! - 1) * stride[r.perm[j]!]! : 0), 0)
  let o = 0
  for (let z = 0; z < out[2]; z++) {
    const zBase = start + z * step[2]!
    for (let y = 0; y < out[1]; y++) {
      let source = zBase + y * step[1]!
      for (let x = 0; x < out[0]; x++, o++, source += step[0]!) f(o, source)
    }
  }
}

/** `data` (of `shape`, axis codes `r.from`) laid out with axis codes `r.to`: every voxel moved, none changed. */
export const reorient = <D extends VoxelArray>(shape: Shape3, data: D, r: Reorientation): D => {
  const out = new (data.constructor as new (n: number) => D)(data.length)
  eachVoxel(shape, r, (o, source) => {
    out[o] = data[source]!
  })
  return out
}

/** The inverse of `reorient`: `data` laid out by `r` back on the source grid of `shape`. */
export const undoReorientation = <D extends VoxelArray>(shape: Shape3, data: D, r: Reorientation): D => {
  const out = new (data.constructor as new (n: number) => D)(data.length)
  eachVoxel(shape, r, (o, source) => {
    out[source] = data[o]!
  })
  return out
}
