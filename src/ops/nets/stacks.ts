/**
 * The networks' input and output channels over views.ts stacks. With slice thickness 3 a sample
 * is three neighbouring slices, one per channel, in and out. With thickness 1 a network may take
 * and give one channel, or (as the release's "1" variants take their input) three: the slice is
 * then repeated into every input channel, and output channels are averaged back into one.
 */
import { extractStacks, sliceShape, type Thickness, type View } from "../views.ts"
import type { Shape3, VoxelArray } from "../volume.ts"

const checkChannels = (thickness: Thickness, channels: number): void => {
  if (channels !== thickness && thickness !== 1) {
    throw new RangeError(`a network with ${channels} channels cannot take stacks of ${thickness} slices`)
  }
}

/** An NHWC batch [N, H, W, channels] of samples `slices` of a view. */
export const networkStacks = (
  volume: { readonly shape: Shape3; readonly data: VoxelArray },
  view: View,
  slices: ReadonlyArray<number>,
  thickness: Thickness,
  channels: number
): Float32Array => {
  checkChannels(thickness, channels)
  const stacks = extractStacks(volume, view, slices, { thickness })
  if (channels === thickness) return stacks
  const out = new Float32Array(stacks.length * channels)
  for (let i = 0; i < stacks.length; i++) out.fill(stacks[i]!, i * channels, (i + 1) * channels)
  return out
}

/** Network outputs [N, H, W, channels] in the layout views.ts accumulates for `thickness`. */
export const outputForThickness = (output: Float32Array, thickness: Thickness, channels: number): Float32Array => {
  checkChannels(thickness, channels)
  if (channels === thickness) return output
  const out = new Float32Array(output.length / channels)
  for (let i = 0; i < out.length; i++) {
    let s = 0
    for (let c = 0; c < channels; c++) s += output[i * channels + c]!
    out[i] = s / channels
  }
  return out
}

/** [H, W] of a view's samples. */
export const stackSize = (shape: Shape3, view: View): readonly [number, number] => sliceShape(shape, view)
