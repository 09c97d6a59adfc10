/**
 * The three views of a volume and the 2D samples cut from them (rstn-reference.md "Data").
 *
 * View V slices the volume along axis V; a slice's 2D image has H x W = the other two axes in
 * increasing axis order (X → (y, z), Y → (x, z), Z → (x, y)), as the reference release names
 * and orders them. A sample i of a view stacks slices (i-1, i, i+1) as channels (slice
 * thickness 3; the missing neighbour at either end repeats the edge slice) or is slice i alone
 * (thickness 1). Batches are NHWC Float32Arrays, the layout TensorFlow.js convolutions take.
 *
 * `createAccumulator`/`accumulateStacks`/`finishAccumulator` invert the cut: per-sample
 * C-channel outputs go back to the slices they came from and are averaged where samples
 * overlap (rstn-reference.md "Testing" step 1).
 */
import type { Box } from "./nets/crop.ts"
import type { Shape3, VoxelArray } from "./volume.ts"

export type View = "X" | "Y" | "Z"
export const VIEWS: ReadonlyArray<View> = ["X", "Y", "Z"]

/** Slices per sample: 3 neighbouring slices as channels (the paper) or a single slice. */
export type Thickness = 1 | 3

export const viewAxis = (view: View): 0 | 1 | 2 => (view === "X" ? 0 : view === "Y" ? 1 : 2)

/** Number of slices (= samples) of a view. */
export const sliceCount = (shape: Shape3, view: View): number => shape[viewAxis(view)]

/** [H, W] of one slice of a view. */
export const sliceShape = (shape: Shape3, view: View): readonly [number, number] =>
  view === "X" ? [shape[1], shape[2]] : view === "Y" ? [shape[0], shape[2]] : [shape[0], shape[1]]

/** Memory strides (in voxels) of the slice axis and the H and W axes of a view. */
interface Strides {
  readonly slice: number
  readonly h: number
  readonly w: number
}

const stridesOf = (shape: Shape3, view: View): Strides => {
  const sx = 1
  const sy = shape[0]
  const sz = shape[0] * shape[1]
  return view === "X" ? { slice: sx, h: sy, w: sz } : view === "Y" ? { slice: sy, h: sx, w: sz } : { slice: sz, h: sx, w: sy }
}

const checkThickness = (thickness: number): void => {
  if (thickness !== 1 && thickness !== 3) throw new RangeError(`slice thickness must be 1 or 3, got ${thickness}`)
}

/**
 * The slice index channel `c` of sample `i` reads, and whether it is a genuine neighbour
 * (false when the edge slice is repeated in place of a missing one).
 */
const channelSlice = (i: number, c: number, thickness: Thickness, n: number): number => {
  if (thickness === 1) return i
  const s = i - 1 + c
  return s < 0 ? 0 : s >= n ? n - 1 : s
}

const isGenuine = (i: number, c: number, thickness: Thickness, n: number): boolean => {
  if (thickness === 1) return true
  const s = i - 1 + c
  return s >= 0 && s < n
}

export interface ExtractOptions {
  /** 3 (default, the paper) or 1. */
  readonly thickness?: Thickness
  /**
   * A buffer to fill instead of allocating; it must hold at least N*H*W*C values. The result
   * is a view of its first N*H*W*C values, so one buffer serves batches of any size.
   */
  readonly out?: Float32Array
}

const checkSlices = (slices: ReadonlyArray<number>, n: number, view: View): void => {
  for (const s of slices) {
    if (!Number.isInteger(s) || s < 0 || s >= n) {
      throw new RangeError(`sample ${s} is outside view ${view}, which has ${n} slices`)
    }
  }
}

/**
 * Cut samples `slices` of a view into an NHWC batch [N, H, W, C] (C = thickness). Values are
 * copied as they are (window the volume first for network input; a label volume gives 0/1).
 */
export const extractStacks = (
  volume: { readonly shape: Shape3; readonly data: VoxelArray },
  view: View,
  slices: ReadonlyArray<number>,
  options: ExtractOptions = {}
): Float32Array => {
  const thickness = options.thickness ?? 3
  checkThickness(thickness)
  const { shape, data } = volume
  const n = sliceCount(shape, view)
  checkSlices(slices, n, view)
  const [H, W] = sliceShape(shape, view)
  const C = thickness
  const size = slices.length * H * W * C
  if (options.out !== undefined && options.out.length < size) {
    throw new RangeError(`extractStacks: out holds ${options.out.length} values, the batch needs ${size}`)
  }
  const out = options.out !== undefined ? options.out.subarray(0, size) : new Float32Array(size)
  const st = stridesOf(shape, view)
  const sampleSize = H * W * C
  // Walk the source along its shorter stride in the inner loop (reading a view-X slice
  // otherwise jumps a whole x-y plane per voxel) and fill all channels of a pixel at once.
  const hInner = st.h <= st.w
  const inner = hInner ? H : W
  const outer = hInner ? W : H
  const srcInner = hInner ? st.h : st.w
  const srcOuter = hInner ? st.w : st.h
  const dstInner = hInner ? W * C : C
  const dstOuter = hInner ? C : W * C
  for (let b = 0; b < slices.length; b++) {
    const i = slices[b]!
    const base = b * sampleSize
    if (C === 1) {
      const off = i * st.slice
      for (let o = 0; o < outer; o++) {
        let src = off + o * srcOuter
        let dst = base + o * dstOuter
        for (let k = 0; k < inner; k++) {
          out[dst] = data[src]!
          src += srcInner
          dst += dstInner
        }
      }
    } else {
      const off0 = channelSlice(i, 0, thickness, n) * st.slice
      const off1 = channelSlice(i, 1, thickness, n) * st.slice
      const off2 = channelSlice(i, 2, thickness, n) * st.slice
      for (let o = 0; o < outer; o++) {
        let src = o * srcOuter
        let dst = base + o * dstOuter
        for (let k = 0; k < inner; k++) {
          out[dst] = data[off0 + src]!
          out[dst + 1] = data[off1 + src]!
          out[dst + 2] = data[off2 + src]!
          src += srcInner
          dst += dstInner
        }
      }
    }
  }
  return out
}

/** Sum of the values of each slice of a view (e.g. foreground voxels per slice of a mask). */
export const sliceSums = (volume: { readonly shape: Shape3; readonly data: VoxelArray }, view: View): Float64Array => {
  const { shape, data } = volume
  const [nx, ny, nz] = shape
  const sums = new Float64Array(sliceCount(shape, view))
  let idx = 0
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      if (view === "X") {
        for (let x = 0; x < nx; x++) sums[x] += data[idx++]!
      } else {
        let s = 0
        for (let x = 0; x < nx; x++) s += data[idx++]!
        sums[view === "Y" ? y : z] += s
      }
    }
  }
  return sums
}

/**
 * The samples of a view whose slices hold any foreground of `mask` (thickness 3: slice i-1, i
 * or i+1) — the samples the fine network runs on in a coarse-to-fine round.
 */
export const samplesTouching = (
  mask: { readonly shape: Shape3; readonly data: VoxelArray },
  view: View,
  thickness: Thickness = 3
): number[] => {
  checkThickness(thickness)
  const sums = sliceSums(mask, view)
  const n = sums.length
  const result: number[] = []
  for (let i = 0; i < n; i++) {
    let any = false
    for (let c = 0; c < thickness && !any; c++) any = sums[channelSlice(i, c, thickness, n)]! > 0
    if (any) result.push(i)
  }
  return result
}

/** Per-view sums of sample outputs, to be averaged back into a volume. */
export interface StackAccumulator {
  readonly shape: Shape3
  readonly view: View
  readonly thickness: Thickness
  /** Running sum per voxel (NIfTI order); `finishAccumulator` turns it into the mean in place. */
  readonly sum: Float32Array
  /** Contributions received per slice of the view (every voxel of a slice gets the same number). */
  readonly counts: Uint32Array
}

/** `out`, if given, is zeroed and becomes the accumulator's sum (and the finished volume). */
export const createAccumulator = (
  shape: Shape3,
  view: View,
  thickness: Thickness = 3,
  out?: Float32Array
): StackAccumulator => {
  checkThickness(thickness)
  const voxels = shape[0] * shape[1] * shape[2]
  if (out !== undefined && out.length !== voxels) {
    throw new RangeError(`createAccumulator: out holds ${out.length} values, the volume ${voxels}`)
  }
  const sum = out ?? new Float32Array(voxels)
  if (out !== undefined) sum.fill(0)
  return { shape, view, thickness, sum, counts: new Uint32Array(sliceCount(shape, view)) }
}

/**
 * Add an NHWC batch of outputs for samples `slices` (the order they were extracted in). Each
 * channel goes to the slice it was cut from; a channel that only repeated the edge slice in
 * place of a missing neighbour is dropped, as the reference release does (coarse_testing.py
 * adds `out[1:3]` for the first sample and `out[0:2]` for the last).
 */
export const accumulateStacks = (
  acc: StackAccumulator,
  batch: Float32Array,
  slices: ReadonlyArray<number>,
  /**
   * The rectangle of each sample outside which the batch holds exact zeros (a fine round's crop
   * box): only its pixels are added, which leaves the sums the same and skips most of a slice.
   */
  within?: Box
): void => {
  const { shape, view, thickness, sum, counts } = acc
  const n = sliceCount(shape, view)
  checkSlices(slices, n, view)
  const [H, W] = sliceShape(shape, view)
  const C = thickness
  const sampleSize = H * W * C
  if (batch.length < slices.length * sampleSize) {
    throw new RangeError(`accumulateStacks: ${batch.length} values for ${slices.length} samples of ${H}x${W}x${C}`)
  }
  const st = stridesOf(shape, view)
  const hInner = st.h <= st.w
  const dstInner = hInner ? st.h : st.w
  const dstOuter = hInner ? st.w : st.h
  const srcInner = hInner ? W * C : C
  const srcOuter = hInner ? C : W * C
  // the rows (h) and columns (w) to add, as ranges of the inner and outer loops
  const [h0, h1] = within === undefined ? [0, H] : [within.top, within.top + within.height]
  const [x0, x1] = within === undefined ? [0, W] : [within.left, within.left + within.width]
  if (h0 < 0 || x0 < 0 || h1 > H || x1 > W) throw new RangeError(`accumulateStacks: a box ${h0}..${h1} x ${x0}..${x1} outside ${H}x${W}`)
  const [k0, k1] = hInner ? [h0, h1] : [x0, x1]
  const [o0, o1] = hInner ? [x0, x1] : [h0, h1]
  for (let b = 0; b < slices.length; b++) {
    const i = slices[b]!
    const base = b * sampleSize
    // Channels that only repeat an edge slice are dropped (and add to no count).
    const w0 = isGenuine(i, 0, thickness, n) ? 1 : 0
    const w1 = C === 3 && isGenuine(i, 1, thickness, n) ? 1 : 0
    const w2 = C === 3 && isGenuine(i, 2, thickness, n) ? 1 : 0
    const off0 = channelSlice(i, 0, thickness, n) * st.slice
    const off1 = C === 3 ? channelSlice(i, 1, thickness, n) * st.slice : 0
    const off2 = C === 3 ? channelSlice(i, 2, thickness, n) * st.slice : 0
    counts[channelSlice(i, 0, thickness, n)] += w0
    if (C === 3) {
      counts[channelSlice(i, 1, thickness, n)] += w1
      counts[channelSlice(i, 2, thickness, n)] += w2
    }
    for (let o = o0; o < o1; o++) {
      let dst = o * dstOuter + k0 * dstInner
      let src = base + o * srcOuter + k0 * srcInner
      if (C === 1) {
        for (let k = k0; k < k1; k++) {
          sum[off0 + dst] += batch[src]!
          dst += dstInner
          src += srcInner
        }
      } else {
        for (let k = k0; k < k1; k++) {
          // Skipped rather than weighted by 0, so a NaN in a dropped channel cannot leak in.
          if (w0) sum[off0 + dst] += batch[src]!
          if (w1) sum[off1 + dst] += batch[src + 1]!
          if (w2) sum[off2 + dst] += batch[src + 2]!
          dst += dstInner
          src += srcInner
        }
      }
    }
  }
}

export interface FinishOptions {
  /**
   * `covered` (default): each voxel gets the mean of the contributions it received.
   * `all`: divide by the number of contributions a pass over every sample would give, so a
   * sample that was not run counts as 0 — what the release does in its fine rounds
   * (coarse2fine_testing.py divides by 2 at the ends and 3 elsewhere whichever samples ran).
   */
  readonly normalize?: "covered" | "all"
  /** Value of voxels in slices that received no contribution (default 0). */
  readonly fill?: number
}

/** Contributions slice s receives when every sample of the view is accumulated once. */
const fullCoverage = (n: number, thickness: Thickness): Uint32Array => {
  const counts = new Uint32Array(n)
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < thickness; c++) if (isGenuine(i, c, thickness, n)) counts[channelSlice(i, c, thickness, n)]++
  }
  return counts
}

/** Turn the sums into the averaged volume, in place; returns `acc.sum`. */
export const finishAccumulator = (acc: StackAccumulator, options: FinishOptions = {}): Float32Array => {
  const { shape, view, thickness, sum, counts } = acc
  const fill = options.fill ?? 0
  const divisors = options.normalize === "all" ? fullCoverage(counts.length, thickness) : counts
  const st = stridesOf(shape, view)
  const [H, W] = sliceShape(shape, view)
  for (let s = 0; s < counts.length; s++) {
    const covered = counts[s]! > 0
    const scale = covered ? 1 / divisors[s]! : 0
    const base = s * st.slice
    for (let w = 0; w < W; w++) {
      let idx = base + w * st.w
      for (let h = 0; h < H; h++) {
        sum[idx] = covered ? sum[idx]! * scale : fill
        idx += st.h
      }
    }
  }
  return sum
}
