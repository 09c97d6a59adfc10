/**
 * Training data of one view from whole volumes: the samples the slice threshold keeps
 * (rstn-reference.md "Data") and a `BatchSource` cutting their 3-slice stacks (image windowed
 * to [0, 1], label 0/1) on demand, so a training set never holds every stack in memory.
 */
import { networkStacks, stackSize } from "../nets/stacks.ts"
import { sliceSums, type Thickness, type View } from "../views.ts"
import type { Shape3 } from "../volume.ts"
import { selectTrainingSlices, type SampleRef } from "./sampler.ts"
import type { Batch, BatchSource } from "./trainer.ts"

export interface TrainingVolume {
  readonly shape: Shape3
  /** The CT windowed to [0, 1] (views.ts / window.ts `windowVolume`). */
  readonly image: Float32Array
  /** Binary label: 1 = target. */
  readonly label: Uint8Array
}

/** The samples of every case that the slice threshold keeps for `view`, ordered by case then slice. */
export const trainingSamples = (volumes: ReadonlyArray<TrainingVolume>, view: View, sliceThreshold: number): SampleRef[] =>
  selectTrainingSlices(
    volumes.flatMap((v, caseIndex) => Array.from(sliceSums({ shape: v.shape, data: v.label }, view), (count, slice) => ({ caseIndex, slice, count }))),
    sliceThreshold
  )

export interface StackLayout {
  /** Slice thickness (reference: 3). */
  readonly thickness: Thickness
  /** The networks' input channels (rstn: `inChannels`). */
  readonly inChannels: number
  /** The networks' output channels, and so the label's. */
  readonly outChannels: number
}

/** 3-slice stacks in, 3 channels out: the paper's setting. */
export const referenceLayout: StackLayout = { thickness: 3, inChannels: 3, outChannels: 3 }

export const volumeBatchSource = (volumes: ReadonlyArray<TrainingVolume>, view: View, layout: StackLayout = referenceLayout): BatchSource => ({
  groupOf: (ref) => stackSize(volumes[ref.caseIndex]!.shape, view).join("x"),
  load: (refs): Batch => {
    if (refs.length === 0) throw new RangeError("volumeBatchSource: empty batch")
    const [h, w] = stackSize(volumes[refs[0]!.caseIndex]!.shape, view)
    const { thickness, inChannels, outChannels } = layout
    const images = new Float32Array(refs.length * h * w * inChannels)
    const labels = new Float32Array(refs.length * h * w * outChannels)
    refs.forEach((r, k) => {
      const v = volumes[r.caseIndex]!
      const [vh, vw] = stackSize(v.shape, view)
      if (vh !== h || vw !== w) throw new RangeError(`volumeBatchSource: case ${r.caseIndex} slices are ${vh}x${vw}, the batch's ${h}x${w}`)
      images.set(networkStacks({ shape: v.shape, data: v.image }, view, [r.slice], thickness, inChannels), k * h * w * inChannels)
      labels.set(networkStacks({ shape: v.shape, data: v.label }, view, [r.slice], thickness, outChannels), k * h * w * outChannels)
    })
    return { images, labels, height: h, width: w, channels: inChannels, labelChannels: outChannels }
  }
})
