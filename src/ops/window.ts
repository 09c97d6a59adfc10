/**
 * The CT intensity window: Hounsfield units are clipped to [low, high] and scaled linearly to
 * [0, 1], the only intensity normalisation the networks see.
 */
import type { VoxelArray } from "./volume.ts"

export interface IntensityWindow {
  /** HU mapped to 0; everything below is clipped to it. */
  readonly low: number
  /** HU mapped to 1; everything above is clipped to it. */
  readonly high: number
}

/** rstn-reference.md "Data": clip to [-100, 240] HU, then scale to [0, 1]. */
export const DEFAULT_WINDOW: IntensityWindow = { low: -100, high: 240 }

const check = (window: IntensityWindow): void => {
  if (!Number.isFinite(window.low) || !Number.isFinite(window.high) || !(window.high > window.low)) {
    throw new RangeError(`intensity window needs finite low < high, got [${window.low}, ${window.high}]`)
  }
}

/** One windowed value. */
export const windowValue = (hu: number, window: IntensityWindow = DEFAULT_WINDOW): number => {
  check(window)
  const v = (hu - window.low) / (window.high - window.low)
  return v <= 0 ? 0 : v >= 1 ? 1 : v
}

/**
 * Window a whole volume in one pass into `out` (allocated when absent; it may be the volume's own
 * Float32Array to window in place). NaN voxels become 0 so they cannot poison a network's input.
 */
export const windowVolume = (
  volume: { readonly data: VoxelArray },
  window: IntensityWindow = DEFAULT_WINDOW,
  out?: Float32Array
): Float32Array => {
  check(window)
  const src = volume.data
  const n = src.length
  if (out !== undefined && out.length < n) {
    throw new RangeError(`windowVolume: out holds ${out.length} values, the volume ${n}`)
  }
  const dst = out ?? new Float32Array(n)
  const low = window.low
  const high = window.high
  const scale = 1 / (high - low)
  for (let i = 0; i < n; i++) {
    const v = src[i]!
    // Written so NaN fails both comparisons and lands on 0.
    dst[i] = v > low ? (v < high ? (v - low) * scale : 1) : 0
  }
  return dst
}
