/**
 * Crop and uncrop (rstn-reference.md "Crop"): binarise a reference map at a threshold, take the
 * minimal box covering every active pixel over the whole batch and all channels, add a margin
 * (fixed K in testing; jittered in training) clamped to the image, cut the fine network's input
 * to it, and paste the fine output back into a full-size map whose outside is a very negative
 * logit.
 *
 * Box arithmetic runs on host arrays (NHWC, the layout of our tensors); the tensor parts are
 * `tf.slice` and `tf.pad`, whose gradients are each other, so the fine loss reaches the
 * saliency weights and the coarse network through the crop.
 */
import * as tf from "@tensorflow/tfjs"
import type { Rng } from "../random.ts"

/** Inclusive pixel bounds of the active pixels (rows = H, columns = W). */
export interface ActiveBounds {
  readonly minRow: number
  readonly maxRow: number
  readonly minCol: number
  readonly maxCol: number
}

/** A half-open crop window [top, top + height) x [left, left + width). */
export interface Box {
  readonly top: number
  readonly left: number
  readonly height: number
  readonly width: number
}

export interface Margins {
  readonly top: number
  readonly bottom: number
  readonly left: number
  readonly right: number
}

export interface CropJitter {
  /** Probability of jittering a step's margins (reference: 0.5). */
  readonly probability: number
  /** Each side's margin is uniform on the integers [0, max] (reference: 2K = 40). */
  readonly max: number
}

export interface CropConfig {
  /** Binarisation threshold of the reference map (reference: 0.5). */
  readonly threshold: number
  /** K, pixels added on each side (reference: 20). */
  readonly margin: number
  /** Training-time jitter; null keeps K. */
  readonly jitter: CropJitter | null
}

/** rstn-reference.md "Crop": threshold 0.5, K = 20, jitter p = 0.5 over [0, 2K]. */
export const referenceCrop: CropConfig = { threshold: 0.5, margin: 20, jitter: { probability: 0.5, max: 40 } }

/** The logit pasted outside the box: the release's Uncrop layer fills -9999999 (sigmoid = 0). */
export const OUTSIDE_LOGIT = -9999999

export interface MapShape {
  readonly n: number
  readonly h: number
  readonly w: number
  readonly c: number
}

const boundsOf = (
  data: ArrayLike<number>,
  s: MapShape,
  threshold: number,
  samples: Iterable<number>
): ActiveBounds | null => {
  let minRow = Infinity
  let maxRow = -1
  let minCol = Infinity
  let maxCol = -1
  const { h, w, c } = s
  for (const n of samples) {
    const base = n * h * w * c
    for (let y = 0; y < h; y++) {
      const row = base + y * w * c
      for (let x = 0; x < w; x++) {
        const p = row + x * c
        for (let k = 0; k < c; k++) {
          if (data[p + k]! >= threshold) {
            if (y < minRow) minRow = y
            if (y > maxRow) maxRow = y
            if (x < minCol) minCol = x
            if (x > maxCol) maxCol = x
            break
          }
        }
      }
    }
  }
  return maxRow < 0 ? null : { minRow, maxRow, minCol, maxCol }
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i)

/** The minimal box of values >= threshold over every sample and channel; null when none is active. */
export const activeBounds = (data: ArrayLike<number>, s: MapShape, threshold: number): ActiveBounds | null =>
  boundsOf(data, s, threshold, range(s.n))

/** The same, one sample at a time. */
export const sampleBounds = (data: ArrayLike<number>, s: MapShape, threshold: number): Array<ActiveBounds | null> =>
  range(s.n).map((n) => boundsOf(data, s, threshold, [n]))

export const fixedMargins = (k: number): Margins => ({ top: k, bottom: k, left: k, right: k })

/**
 * Training margins: with probability `jitter.probability` each side independently uniform on
 * [0, jitter.max]; otherwise K on every side. Always draws the same number of values for a given
 * outcome, so the stream stays reproducible from its saved state.
 */
export const drawMargins = (rng: Rng, margin: number, jitter: CropJitter | null): Margins => {
  if (!jitter || rng.next() >= jitter.probability) return fixedMargins(margin)
  const side = () => rng.int(jitter.max + 1)
  return { top: side(), bottom: side(), left: side(), right: side() }
}

/** Bounds plus margins, clamped to an h x w image. */
export const expandBounds = (b: ActiveBounds, m: Margins, h: number, w: number): Box => {
  const top = Math.max(b.minRow - m.top, 0)
  const bottom = Math.min(b.maxRow + m.bottom + 1, h)
  const left = Math.max(b.minCol - m.left, 0)
  const right = Math.min(b.maxCol + m.right + 1, w)
  return { top, left, height: bottom - top, width: right - left }
}

/**
 * Grows a box to the grid of `step` pixels (the fine network's total stride), clamped to the
 * image. An FCN's output depends on where the input falls on its stride grid; on the grid, a
 * box that moves by a pixel between rounds leaves the output inside it unchanged.
 */
export const alignBox = (b: Box, step: number, h: number, w: number): Box => {
  if (!Number.isInteger(step) || step < 1) throw new RangeError(`alignBox: step ${step}`)
  const top = Math.floor(b.top / step) * step
  const left = Math.floor(b.left / step) * step
  const bottom = Math.min(Math.ceil((b.top + b.height) / step) * step, h)
  const right = Math.min(Math.ceil((b.left + b.width) / step) * step, w)
  return { top, left, height: bottom - top, width: right - left }
}

export const fullBox = (h: number, w: number): Box => ({ top: 0, left: 0, height: h, width: w })

export const crop = (x: tf.Tensor4D, box: Box): tf.Tensor4D =>
  tf.slice(x, [0, box.top, box.left, 0], [-1, box.height, box.width, -1])

/** Pastes box-sized logits into an h x w map filled with OUTSIDE_LOGIT. */
export const uncrop = (logits: tf.Tensor4D, box: Box, h: number, w: number): tf.Tensor4D =>
  tf.pad(
    logits,
    [
      [0, 0],
      [box.top, h - box.top - box.height],
      [box.left, w - box.left - box.width],
      [0, 0]
    ],
    OUTSIDE_LOGIT
  )

/**
 * A 0/1 mask [N, H, W, 1] that is 1 inside each sample's own box. With a batch, the release
 * zeroes each sample's input outside its own box before cutting the common box (Crop.py), so a
 * sample never sees pixels that only another sample's mask selected.
 */
export const sampleBoxMask = (boxes: ReadonlyArray<Box>, h: number, w: number): tf.Tensor4D => {
  const data = new Float32Array(boxes.length * h * w)
  boxes.forEach((b, n) => {
    for (let y = b.top; y < b.top + b.height; y++) data.fill(1, n * h * w + y * w + b.left, n * h * w + y * w + b.left + b.width)
  })
  return tf.tensor4d(data, [boxes.length, h, w, 1])
}
