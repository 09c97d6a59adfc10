/**
 * Overlay images for the HTML report: a slice of the windowed CT in grey with the ground truth's
 * and a predicted mask's contours drawn over it, as RGBA pixels (png.ts encodes them).
 *
 * Planes and orientation, over NIfTI voxel order (x fastest, then y, then z):
 * - axial: the slice z = k, x to the right, y upwards (row 0 is the highest y);
 * - coronal: the slice y = k, x to the right, z upwards;
 * - sagittal: the slice x = k, y to the right, z upwards.
 * With the usual RAS+ affine that puts anterior and superior at the top, as viewers show them.
 * Pixels are resampled (nearest neighbour) to the voxel spacing, so anisotropic CT keeps its
 * proportions, and contours are drawn at the output resolution, so they stay one line thick
 * however far a small organ is zoomed in.
 */
import type { Shape3, Vec3 } from "../ops/volume.ts"

export type Plane = "axial" | "coronal" | "sagittal"
export const PLANES: ReadonlyArray<Plane> = ["axial", "coronal", "sagittal"]

/** The volume axis a plane fixes. */
export const planeAxis = (plane: Plane): 0 | 1 | 2 => (plane === "sagittal" ? 0 : plane === "coronal" ? 1 : 2)

/** A 2D image of `width` x `height` values, row-major, row 0 at the top. */
export interface Slice<D extends ArrayLike<number> = ArrayLike<number>> {
  readonly width: number
  readonly height: number
  readonly data: D
}

/** The (column, row) axes of a plane's image: [the volume axis to the right, the axis upwards]. */
const planeAxes = (plane: Plane): readonly [0 | 1 | 2, 0 | 1 | 2] =>
  plane === "axial" ? [0, 1] : plane === "coronal" ? [0, 2] : [1, 2]

/** The slice of `data` (a volume of `shape`) through voxel index `at` of the plane's axis. */
export const planeSlice = <D extends Float32Array | Uint8Array>(shape: Shape3, data: D, plane: Plane, at: number): Slice<D> => {
  const axis = planeAxis(plane)
  if (!Number.isInteger(at) || at < 0 || at >= shape[axis]) throw new RangeError(`planeSlice: ${plane} slice ${at} outside 0..${shape[axis] - 1}`)
  if (data.length !== shape[0] * shape[1] * shape[2]) throw new RangeError(`planeSlice: ${data.length} values for a ${shape.join("x")} volume`)
  const [ca, ra] = planeAxes(plane)
  const strides = [1, shape[0], shape[0] * shape[1]] as const
  const width = shape[ca]
  const height = shape[ra]
  const out = new (data.constructor as new (n: number) => D)(width * height)
  const base = at * strides[axis]
  for (let row = 0; row < height; row++) {
    const r = height - 1 - row
    for (let col = 0; col < width; col++) out[row * width + col] = data[base + col * strides[ca] + r * strides[ra]]!
  }
  return { width, height, data: out }
}

/** [width, height] of a plane's pixel in millimetres. */
export const planeSpacing = (spacing: Vec3, plane: Plane): readonly [number, number] => {
  const [ca, ra] = planeAxes(plane)
  return [spacing[ca], spacing[ra]]
}

/** The voxel nearest the centre of mass of a mask, or null when it is empty. */
export const centreOf = (shape: Shape3, mask: ArrayLike<number>): Vec3 | null => {
  let n = 0
  let sx = 0
  let sy = 0
  let sz = 0
  const [nx, ny] = shape
  for (let i = 0; i < mask.length; i++) {
    if (mask[i] === 0) continue
    n++
    sx += i % nx
    sy += Math.floor(i / nx) % ny
    sz += Math.floor(i / (nx * ny))
  }
  return n === 0 ? null : [Math.round(sx / n), Math.round(sy / n), Math.round(sz / n)]
}

/** A rectangle of a slice: columns x0..x1-1, rows y0..y1-1. */
export interface Box {
  readonly x0: number
  readonly y0: number
  readonly x1: number
  readonly y1: number
}

/** The smallest box holding every nonzero pixel of the slices (all of one size), or null. */
export const maskBox = (slices: ReadonlyArray<Slice>): Box | null => {
  let x0 = Infinity
  let y0 = Infinity
  let x1 = -Infinity
  let y1 = -Infinity
  for (const s of slices) {
    for (let i = 0; i < s.data.length; i++) {
      if (s.data[i] === 0) continue
      const x = i % s.width
      const y = Math.floor(i / s.width)
      x0 = Math.min(x0, x)
      y0 = Math.min(y0, y)
      x1 = Math.max(x1, x + 1)
      y1 = Math.max(y1, y + 1)
    }
  }
  return x0 === Infinity ? null : { x0, y0, x1, y1 }
}

/**
 * The part of a `width` x `height` slice an overlay shows: `box` grown on every side by
 * `margin` times its larger side (at least `minMargin` pixels), kept inside the slice; the whole
 * slice when there is no box. A small organ then fills the image with enough of its
 * surroundings to see where it is.
 */
export const cropAround = (box: Box | null, width: number, height: number, margin = 0.75, minMargin = 8): Box => {
  if (box === null) return { x0: 0, y0: 0, x1: width, y1: height }
  const grow = Math.max(minMargin, Math.round(margin * Math.max(box.x1 - box.x0, box.y1 - box.y0)))
  return { x0: Math.max(0, box.x0 - grow), y0: Math.max(0, box.y0 - grow), x1: Math.min(width, box.x1 + grow), y1: Math.min(height, box.y1 + grow) }
}

/** An RGBA image (4 bytes per pixel, row-major), what png.ts encodes. */
export interface Rgba {
  readonly width: number
  readonly height: number
  readonly data: Uint8Array
}

/** Contour colours: the ground truth, the prediction, and both where their lines meet. */
export const COLOURS = {
  truth: [0, 210, 0],
  predicted: [255, 48, 48],
  both: [255, 220, 0]
} as const satisfies Record<string, readonly [number, number, number]>

export interface OverlayInput {
  /** The windowed CT slice, values in [0, 1] (outside is clipped). */
  readonly ct: Slice
  /** The ground truth slice (nonzero = organ), or null when the case has none. */
  readonly truth: Slice | null
  /** The predicted mask's slice (nonzero = organ). */
  readonly predicted: Slice
  /** A pixel's width and height in millimetres (`planeSpacing`). */
  readonly spacing: readonly [number, number]
  /** The part shown (`cropAround`); the whole slice when absent. */
  readonly crop?: Box
  /** The longer side of the output, in pixels. */
  readonly size: number
}

const sameSize = (a: Slice, b: Slice, what: string): void => {
  if (a.width !== b.width || a.height !== b.height) throw new RangeError(`overlay: the ${what} slice is ${b.width}x${b.height}, the CT's ${a.width}x${a.height}`)
}

/** Output pixel → source pixel along one side: nearest neighbour over the crop. */
const sampler = (from: number, count: number, out: number): Int32Array => {
  const map = new Int32Array(out)
  for (let i = 0; i < out; i++) map[i] = from + Math.min(count - 1, Math.floor(((i + 0.5) * count) / out))
  return map
}

/** Pixels of `inside` (a width x height mask) with a pixel outside the mask among their 4 neighbours, or on the image's edge. */
const contour = (inside: Uint8Array, width: number, height: number): Uint8Array => {
  const line = new Uint8Array(inside.length)
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x
      if (inside[i] === 0) continue
      const edge =
        x === 0 || y === 0 || x === width - 1 || y === height - 1 || inside[i - 1] === 0 || inside[i + 1] === 0 || inside[i - width] === 0 || inside[i + width] === 0
      if (edge) line[i] = 1
    }
  }
  return line
}

/** The overlay of one slice: grey CT, the ground truth's contour in green, the prediction's in red, yellow where they meet. */
export const overlay = (input: OverlayInput): Rgba => {
  const { ct, truth, predicted, spacing, size } = input
  if (truth !== null) sameSize(ct, truth, "ground truth")
  sameSize(ct, predicted, "predicted")
  if (!(size >= 1) || !Number.isInteger(size)) throw new RangeError(`overlay: size ${size} is not a positive integer`)
  if (!(spacing[0] > 0 && spacing[1] > 0)) throw new RangeError(`overlay: pixel spacing ${spacing.join("x")} is not positive`)
  const crop = input.crop ?? { x0: 0, y0: 0, x1: ct.width, y1: ct.height }
  const cw = crop.x1 - crop.x0
  const ch = crop.y1 - crop.y0
  if (crop.x0 < 0 || crop.y0 < 0 || crop.x1 > ct.width || crop.y1 > ct.height || cw < 1 || ch < 1) {
    throw new RangeError(`overlay: crop ${crop.x0}..${crop.x1} x ${crop.y0}..${crop.y1} outside the ${ct.width}x${ct.height} slice`)
  }
  const mmW = cw * spacing[0]
  const mmH = ch * spacing[1]
  const scale = size / Math.max(mmW, mmH)
  const width = Math.max(1, Math.round(mmW * scale))
  const height = Math.max(1, Math.round(mmH * scale))
  const cols = sampler(crop.x0, cw, width)
  const rows = sampler(crop.y0, ch, height)
  const up = (s: Slice): Uint8Array => {
    const m = new Uint8Array(width * height)
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) m[y * width + x] = s.data[rows[y]! * s.width + cols[x]!] === 0 ? 0 : 1
    return m
  }
  const truthLine = truth === null ? null : contour(up(truth), width, height)
  const predictedLine = contour(up(predicted), width, height)
  const data = new Uint8Array(width * height * 4)
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x
      const t = truthLine !== null && truthLine[i] === 1
      const p = predictedLine[i] === 1
      const v = ct.data[rows[y]! * ct.width + cols[x]!]!
      const grey = Math.round(255 * Math.min(1, Math.max(0, Number.isFinite(v) ? v : 0)))
      const rgb = t && p ? COLOURS.both : t ? COLOURS.truth : p ? COLOURS.predicted : ([grey, grey, grey] as const)
      data[i * 4] = rgb[0]
      data[i * 4 + 1] = rgb[1]
      data[i * 4 + 2] = rgb[2]
      data[i * 4 + 3] = 255
    }
  }
  return { width, height, data }
}
